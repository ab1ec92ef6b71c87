"""Sessions: the REPL and a bounded history kept between questions, save/restore, budgets."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from rlm_toolkit.sessions import History, Session, SessionBudgetSpent, SessionError
from rlm_toolkit.testing import ScriptedLLM
from tests.helpers import make_rlm, repl

CONTEXT = "alpha 17\nbeta 25\ngamma 31\n"


def test_a_variable_from_question_one_is_used_in_question_two() -> None:
    root = ScriptedLLM([
        repl("totals = {l.split()[0]: int(l.split()[1]) for l in context.splitlines()}\n"
             "print(totals)"),
        repl("FINAL(totals['beta'])"),
        repl("print(sum(totals.values()))"),  # `totals` was made for question one
        repl("FINAL(sum(totals.values()))"),
    ])
    with make_rlm(root).session(context=CONTEXT) as session:
        first = session.ask("What is beta?")
        second = session.ask("What is the sum of all values?")
    assert first.answer == "25"
    assert second.answer == "73", second.error
    assert "NameError" not in root.requests[3][-1]["content"]
    task = root.requests[2][1]["content"]  # question two's first prompt
    assert "Q1: What is beta?" in task and "A1 (success): 25" in task
    assert "Query: What is the sum of all values?" in task


def test_the_previous_answer_does_not_answer_the_next_question() -> None:
    root = ScriptedLLM([
        repl("answer['content'] = 'one'; answer['ready'] = True"),
        repl("x = 1\nprint(x)"),
        repl("FINAL('two')"),
    ])
    with make_rlm(root).session(context=CONTEXT) as session:
        assert session.ask("first?").answer == "one"
        second = session.ask("second?")
    assert second.answer == "two" and second.iterations == 2


def test_history_is_bounded_older_turns_summarised() -> None:
    history = History(recent=2, answer_chars=50, max_chars=1_000)
    for i in range(1, 41):
        history.add(f"question number {i} " + "why " * 30, f"answer {i} " + "x" * 300,
                    "success")
    shown = history.render()
    assert len(shown) <= 1_000
    assert "Q40: question number 40" in shown and "Q39: question number 39" in shown
    assert "Older questions, summarised:" in shown and "- Q38: question number 38" in shown
    assert "earlier questions not shown" in shown and "Q1:" not in shown
    assert "x" * 60 not in shown  # each answer cut


def test_history_before_any_question_is_empty_and_round_trips() -> None:
    history = History()
    assert history.render() == ""
    history.add("q", "a", "success")
    assert History.from_dict(history.to_dict()).render() == history.render()


def test_save_then_restore_in_a_new_process(tmp_path: Path) -> None:
    root = ScriptedLLM([
        repl("found = [l for l in context.splitlines() if int(l.split()[1]) > 20]\n"
             "notes = {'n': len(found), 'pi': 3.5}\nimport re\nprint(found)"),
        repl("FINAL(found[0])"),
    ])
    with make_rlm(root).session(context=CONTEXT) as session:
        assert session.ask("First line over 20?").answer == "beta 25"
        session.save(tmp_path / "s")
    child = textwrap.dedent("""
        import sys
        from rlm_toolkit.sessions import Session
        from rlm_toolkit.testing import ScriptedLLM
        from tests.helpers import make_rlm, repl
        root = ScriptedLLM([repl("print(notes['n'], found[-1])"),
                            repl("FINAL(f\\"{notes['n']} {found[-1]}\\")")])
        with Session.restore(make_rlm(root), sys.argv[2], sys.argv[1]) as session:
            result = session.ask("How many, and the last?")
        print(result.answer)
        print("Q1: First line over 20?" in root.requests[0][1]["content"])
    """)
    done = subprocess.run([sys.executable, "-c", child, str(tmp_path / "s"), CONTEXT],
                          capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).parents[2])
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:2] == ["2 gamma 31", "True"]


def test_restore_of_a_missing_or_damaged_folder_says_what_to_do(tmp_path: Path) -> None:
    rlm = make_rlm(ScriptedLLM([]))
    with pytest.raises(SessionError, match="no saved session"):
        Session.restore(rlm, CONTEXT, tmp_path)
    (tmp_path / "session.json").write_text("{not json")
    with pytest.raises(SessionError, match="cannot be read"):
        Session.restore(rlm, CONTEXT, tmp_path)


def test_budget_per_question_stops_that_question_only() -> None:
    def reply(messages: list[dict[str, str]]) -> str:
        if "Query: A question that runs long?" in messages[1]["content"]:
            return repl("print('a' * 10)")  # never answers
        return repl("y = 3\nprint(y)") if len(messages) < 4 else repl("FINAL(y)")

    root = ScriptedLLM(reply)
    with make_rlm(root).session(context=CONTEXT, question_max_tokens=12_000) as session:
        first = session.ask("A question that runs long?")
        calls_first = root.calls
        second = session.ask("Another?")
    assert first.status == "max_tokens" and calls_first >= 3
    assert first.usage.total_tokens <= 12_000
    assert second.status == "success" and second.answer == "3"
    assert session.usage.total_tokens == (first.usage.total_tokens
                                          + second.usage.total_tokens)


def test_session_budget_spent_refuses_the_next_question() -> None:
    root = ScriptedLLM([repl("x = 2\nprint(x)"), repl("FINAL(x)")])
    with make_rlm(root).session(context=CONTEXT, max_tokens=50_000) as session:
        first = session.ask("What is x?")
        assert session.usage.total_tokens >= first.usage.total_tokens > 0
        session.max_tokens = first.usage.total_tokens  # now spent
        with pytest.raises(SessionBudgetSpent, match="session's budget is spent"):
            session.ask("Again?")


def test_a_closed_session_refuses_questions() -> None:
    session = make_rlm(ScriptedLLM([])).session(context=CONTEXT)
    session.close()
    with pytest.raises(SessionError, match="closed"):
        session.ask("anything?")


def test_a_session_over_a_folder_keeps_what_it_read(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.md").write_text("The budget is 120.\n")
    (tmp_path / "docs" / "b.md").write_text("The deadline is May.\n")
    root = ScriptedLLM([
        repl("texts = {p: context[p] for p in context}\nprint(sorted(texts))"),
        repl("FINAL(len(texts))"),
        repl("print([p for p, t in texts.items() if 'May' in t])"),
        repl("FINAL([p for p, t in texts.items() if 'May' in t][0])"),
    ])
    with make_rlm(root).session(context=tmp_path / "docs") as session:
        assert session.ask("How many files?").answer == "2"
        assert session.ask("Which file gives the deadline?").answer == "docs/b.md"

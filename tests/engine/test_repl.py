"""The REPL the model works in: persistence, helpers, protection, output cuts, tracebacks."""

from __future__ import annotations

from rlm_toolkit.testing import ScriptedLLM
from tests.helpers import make_rlm, repl

DOC = "\n".join(f"line {i}: value {i * 7}" for i in range(2000))


def run(replies: list[str], context: object = DOC, **cfg: object):
    root = ScriptedLLM(replies)
    sub = ScriptedLLM(lambda m: f"sub saw {len(m[-1]['content'])} chars")
    result = make_rlm(root, sub, **cfg).run(context=context, query="q?")
    return result, root


def feedback(root: ScriptedLLM, turn: int) -> str:
    return root.requests[turn][-1]["content"]


def test_definitions_and_imports_persist_between_steps() -> None:
    result, _ = run([
        repl("import statistics\ndef double(x):\n    return 2 * x\nclass Box:\n    v = 21"),
        repl("FINAL(double(Box.v) + statistics.mean([0, 0]))"),
    ])
    assert result.answer == "42"


def test_assigning_context_is_undone_and_the_model_is_told() -> None:
    result, root = run([
        repl("context = 'gone'\nllm = None"),
        repl("FINAL(len(context.splitlines()))"),
    ])
    assert result.answer == "2000"
    note = feedback(root, 1)
    assert "context" in note and "restored" in note and "llm" in note


def test_long_output_is_cut_with_marker() -> None:
    _result, root = run([repl("print('x' * 50_000)"), repl("FINAL('done')")], max_output_chars=1000)
    out = feedback(root, 1)
    assert "[+49,000 chars not shown" in out
    assert out.count("x") < 1100


def test_huge_print_flood_is_bounded() -> None:
    result, root = run([repl("for _ in range(200):\n    print('y' * 100_000)"), repl("FINAL('ok')")])
    assert result.answer == "ok"
    assert len(feedback(root, 1)) < 10_000


def test_grep_and_split_document_helpers() -> None:
    result, root = run([
        repl("hits = grep(r'value 700$')\nchunks = split_document(context, 5000)\n"
             "print(hits, len(chunks), sum(map(len, chunks)) == len(context))"),
        repl("FINAL(hits[0])"),
    ])
    assert result.answer == "L101: line 100: value 700"
    assert "True" in feedback(root, 1)


def test_last_expression_is_shown_like_a_repl() -> None:
    _, root = run([repl("x = 6 * 7\nx"), repl("FINAL(x)")])
    assert "42" in feedback(root, 1)


def test_traceback_shows_only_the_models_code() -> None:
    _, root = run([repl("def f():\n    return 1 / 0\nf()"), repl("FINAL(1)")])
    out = feedback(root, 1)
    assert "ZeroDivisionError" in out
    assert '<repl-1>", line 2, in f' in out
    assert "rlm_toolkit" not in out and "repl.py" not in out


def test_show_vars_lists_user_variables_with_sizes() -> None:
    _, root = run([repl("notes = ['a', 'b']\nSHOW_VARS()"), repl("FINAL(1)")])
    assert "'notes': 'list (len 2)'" in feedback(root, 1)


def test_bytes_list_and_dict_contexts() -> None:
    for ctx, code, want in [
        (b"\x00\x01binary", "FINAL(type(context).__name__ + str(len(context)))", "bytes8"),
        ([{"id": 1}, {"id": 2}], "FINAL(sum(r['id'] for r in context))", "3"),
        ({"a": [1, 2, 3]}, "FINAL(len(context['a']))", "3"),
    ]:
        result, _root = run([repl(code)], context=ctx)
        assert result.answer == want


def test_path_context_is_read_from_file(tmp_path) -> None:
    path = tmp_path / "doc.txt"
    path.write_text("needle 123\n" * 10)
    result, _ = run([repl("FINAL(context.count('needle'))")], context=path)
    assert result.answer == "10"

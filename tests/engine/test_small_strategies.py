"""Small-model strategies seen from a run: getting unstuck, the answer-kind (next hop) check,
the worked example's answer refused, names never seen refused, and routing."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from typing import Any

import pytest

from rlm_toolkit import RLMConfig
from rlm_toolkit.engine import choices, guards
from rlm_toolkit.engine.direct import DIRECT_SYSTEM, choose_route
from rlm_toolkit.engine.prompts_small import EXAMPLE_VALUES, SMALL_SYSTEM_PROMPT
from rlm_toolkit.errors import ConfigError, ProviderError
from rlm_toolkit.testing import ScriptedLLM
from tests.helpers import make_rlm, repl

SMALL = "ollama/qwen2.5:1.5b"
REVIEWS = "\n".join(f"Review {i}: the lamp {'failed' if i % 5 == 0 else 'is fine'}."
                    for i in range(1, 31))
FILLER = "\n".join(f"Line {i}: the weather was mild that day." for i in range(300))
TWO_HOP = (FILLER + "\nIn 1820, the Silver Compass was moved to the Vesk Archive for "
           "safekeeping.\n" + FILLER + "\nThe Vesk Archive stands in the city of Brno.\n" + FILLER)


def told(llm: ScriptedLLM, call: int) -> str:
    """What the root model was told last before its `call`-th request (0-based)."""
    return str(llm.requests[call][-1]["content"])


def test_repeating_code_twice_shows_the_structure_and_unused_helpers() -> None:
    same = repl('print(grep("negative"))')
    root = ScriptedLLM([same, same, same, repl('FINAL(NOT_FOUND)')], name=SMALL)
    make_rlm(root).run(context=REVIEWS, query="How many reviews are negative?")
    assert "Review N:" not in told(root, 2)  # one repeat: a nudge only
    third = told(root, 3)
    assert guards.REPEATED_CODE in third
    assert "30 lines like 'Review N:'" in third
    assert "classify(items, labels)" in third and "find_items()" in third


def test_unchanged_output_counts_as_repeating() -> None:
    root = ScriptedLLM([repl('print(len(grep("lamp")))'), repl('print(len(grep("LAMP")))'),
                        repl('print(len(grep("lamp.")))'), repl('FINAL(NOT_FOUND)')], name=SMALL)
    make_rlm(root).run(context=REVIEWS, query="How many reviews are negative?")
    assert "Review N:" in told(root, 3)


def test_a_stuck_run_near_its_end_is_asked_for_its_best_answer() -> None:
    same = repl('print(grep("negative"))')
    root = ScriptedLLM([same, same, same, repl('FINAL(NOT_FOUND)')], name=SMALL)
    make_rlm(root, max_iterations=4).run(context=REVIEWS, query="How many are negative?")
    assert "answer now with the best answer" in told(root, 3)


def test_unstuck_can_be_turned_off() -> None:
    same = repl('print(grep("negative"))')
    root = ScriptedLLM([same, same, same, repl('FINAL(NOT_FOUND)')], name=SMALL)
    make_rlm(root, small_strategies=()).run(context=REVIEWS, query="How many are negative?")
    assert "Review N:" not in told(root, 3)


def test_an_intermediate_entity_is_sent_on_to_the_next_hop() -> None:
    root = ScriptedLLM([
        repl('print(grep("Silver Compass"))'),
        repl('FINAL("the Vesk Archive")'),
        repl('print(grep("Vesk Archive"))'),
        repl('FINAL("Brno")'),
    ], name=SMALL)
    result = make_rlm(root).run(context=TWO_HOP, query="In which city is the Silver Compass kept?")
    assert result.answer == "Brno" and result.status == "success"
    hop = told(root, 2)
    assert "'Vesk Archive' is not a city" in hop and 'grep(r"Vesk Archive")' in hop


def test_a_count_question_needs_a_number() -> None:
    root = ScriptedLLM([repl('print(grep("failed"))'), repl('FINAL("the lamps")'),
                        repl('FINAL(len(grep("failed")))')], name=SMALL)
    result = make_rlm(root).run(context=REVIEWS, query="How many reviews say the lamp failed?")
    assert result.answer == "6"
    assert "asks for a number" in told(root, 2)


COMPARE = ("Is the label 'late' more common than, less common than, or the same frequency as "
           "the label 'fine'? Answer with exactly one of: more common than, less common than, "
           "same frequency as.")


def test_an_answer_outside_the_questions_list_is_sent_back_once() -> None:
    shown = "late: 6\\nfine: 24\\nSo 'late' is less common than 'fine'."
    root = ScriptedLLM([repl(f'print("{shown}")'), repl("FINAL(6)"),
                        repl('FINAL("less common than")')], name=SMALL)
    result = make_rlm(root).run(context=REVIEWS, query=COMPARE)
    assert "asks for exactly one of: more common than, less common than, same frequency as. " \
        "FINAL(6) is not one of them" in told(root, 2)
    assert "The output said:\nSo 'late' is less common than 'fine'." in told(root, 2)
    assert result.answer == "less common than"
    stubborn = ScriptedLLM([repl('print("late: 6")'), repl("FINAL(6)"), repl("FINAL(6)")],
                           name=SMALL)
    assert make_rlm(stubborn).run(context=REVIEWS, query=COMPARE).answer == "6"
    assert len(stubborn.requests) == 3  # told once, then accepted


@pytest.mark.parametrize(("query", "listed"), [
    (COMPARE, ["more common than", "less common than", "same frequency as"]),
    ("Did it rain? Answer yes or no.", ["yes", "no"]),
    ("Which team won? Answer with one of: 'Red Lions', 'Blue Sharks' or 'Green Owls'.",
     ["Red Lions", "Blue Sharks", "Green Owls"]),
    ("Reply with exactly one of: low, medium or high", ["low", "medium", "high"]),
    ("Which label is the most common? Answer with the label name only.", None),
    ("How many reviews are late?", None),
])
def test_the_answers_a_question_lists(query: str, listed: list[str] | None) -> None:
    assert choices.listed_choices(query) == listed


@pytest.mark.parametrize(("answer", "passes"), [
    ("less common than", True), ("'late' is less common than 'fine'", True),
    ("Less Common Than.", True), ("132", False), ("more common than or less common than", False),
])
def test_an_answer_gives_exactly_one_listed_choice(answer: str, passes: bool) -> None:
    assert (choices.outside_choices(COMPARE, answer) is None) is passes


def test_the_worked_examples_answer_is_refused() -> None:
    root = ScriptedLLM([repl('print(grep("Compass"))'), repl('FINAL("Vell")'),
                        repl('FINAL("Brno")')], name=SMALL)
    result = make_rlm(root).run(context=TWO_HOP, query="In which city is the Silver Compass?")
    assert guards.EXAMPLE_ANSWER in told(root, 2)
    assert result.answer == "Brno"


def test_a_name_never_seen_is_refused() -> None:
    root = ScriptedLLM([repl('print(grep("Compass"))'), repl('FINAL("London")'),
                        repl('FINAL(NOT_FOUND)')], name=SMALL)
    make_rlm(root).run(context=TWO_HOP, query="Who made the Silver Compass?")
    assert "Your answer names London" in told(root, 2)


def test_the_example_answers_cannot_leak_from_the_prompt() -> None:
    # a literal answer in the prompt's examples is one the guard refuses if a run repeats it
    finals = re.findall(r"FINAL\(([^)]*)", SMALL_SYSTEM_PROMPT)
    literals = [f.split(",")[0].strip().strip("'\"") for f in finals
                if f.strip().startswith(("'", '"'))]
    assert finals and all(value in EXAMPLE_VALUES for value in literals)
    assert all(v in SMALL_SYSTEM_PROMPT for v in EXAMPLE_VALUES)
    assert "Ostrava" not in SMALL_SYSTEM_PROMPT


def test_route_direct_answers_in_one_call_with_the_text() -> None:
    root = ScriptedLLM(["Brno"], name=SMALL)
    result = make_rlm(root, route="direct").run(context=TWO_HOP, query="Which city?")
    assert result.answer == "Brno" and root.calls == 1
    assert root.requests[0][0]["content"] == DIRECT_SYSTEM
    assert "The Vesk Archive stands in the city of Brno." in told(root, 0)
    assert result.trace.metadata["route"] == "direct"


def test_route_auto_reads_directly_only_what_fits() -> None:
    fits = ScriptedLLM(["Brno"], name=SMALL, context_window=128_000)
    make_rlm(fits, route="auto").run(context=TWO_HOP, query="Which city?")
    assert fits.requests[0][0]["content"] == DIRECT_SYSTEM
    tight = ScriptedLLM([repl('print(grep("Brno"))'), repl('FINAL("Brno")')], name=SMALL,
                        context_window=8_000)
    make_rlm(tight, route="auto").run(context=TWO_HOP, query="Which city?")
    assert tight.requests[0][0]["content"] == SMALL_SYSTEM_PROMPT


def test_route_choice_and_its_config() -> None:
    assert choose_route(RLMConfig(), 10, 100_000) == "rlm"
    assert choose_route(RLMConfig(route="auto"), 40_000, 100_000) == "direct"
    assert choose_route(RLMConfig(route="auto", route_share=0.25), 40_000, 100_000) == "rlm"
    assert choose_route(RLMConfig(route="auto"), 10, None) == "rlm"
    for bad in ({"route": "fast"}, {"route_share": 0}, {"small_strategies": ("magic",)}):
        try:
            RLMConfig(**bad)  # type: ignore[arg-type]
        except ConfigError as exc:
            assert str(next(iter(bad))) in str(exc)
        else:
            raise AssertionError(f"{bad} accepted")


def _quality_bench() -> Any:
    spec = importlib.util.spec_from_file_location(
        "quality_bench", Path(__file__).resolve().parents[2] / "bench" / "quality.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_quality_grid_turns_each_strategy_off_by_name() -> None:
    bench = _quality_bench()
    model = ScriptedLLM(["unused"], name=SMALL)
    methods = bench.methods_for(["direct", "rlm", "rlm-none", "rlm-no-unstuck"], model,
                                16_384, 8)
    assert [m.name for m in methods] == ["direct", "rlm", "rlm-none", "rlm-no-unstuck"]
    assert methods[1].config["small_strategies"] == ("unstuck", "answer_kind", "leak_guard",
                                                     "abstain", "count_items", "label_items")
    assert methods[2].config["small_strategies"] == ()
    assert methods[3].config["small_strategies"] == ("answer_kind", "leak_guard", "abstain",
                                                     "count_items", "label_items")
    with pytest.raises(SystemExit, match="unknown method 'rlm-no-magic'"):
        bench.methods_for(["rlm-no-magic"], model, 16_384, 8)
    cells = bench.grid(["sniah", "multihop"], [8_000, 32_000], 2)
    assert [c.id for c in cells[:4]] == ["sniah-8000-s0", "multihop-8000-s0",
                                         "sniah-32000-s0", "multihop-32000-s0"]
    assert len(cells) == 8


def test_a_place_of_the_kind_asked_is_not_sent_on() -> None:
    text = "The fair is held in Brno.\nBrno is in the country of Moravia-Land.\n"
    assert guards.next_hop("Which city hosts the fair?", "Brno", text) is None
    assert guards.next_hop("Which city hosts the fair?", "The Vesk Archive",
                           "The Vesk Archive stands in the city of Brno.") is not None
    assert guards.next_hop("Who hosts the fair?", "Brno", text) is None


def test_a_failed_direct_call_ends_the_run_with_a_message() -> None:
    root = ScriptedLLM([ProviderError("prompt of 90,000 tokens exceeds the window")], name=SMALL)
    result = make_rlm(root, route="direct").run(context=TWO_HOP, query="Which city?")
    assert result.status == "error"
    assert result.error is not None and "route='rlm'" in result.error


CODES = (FILLER + "\nThe secret code for the garage is 9911-KILO.\n" + FILLER
         + "\nThe secret code for the shed is 5520-LIMA.\n")


def test_a_value_copied_for_a_subject_the_data_never_mentions_is_questioned_once() -> None:
    root = ScriptedLLM([repl('print(grep("secret code"))'), repl('FINAL("9911-KILO")'),
                        repl("FINAL(NOT_FOUND)")], name=SMALL)
    result = make_rlm(root).run(context=CODES, query="What is the secret code for the vault?")
    said = told(root, 2)
    assert "'vault'" in said and "never mentions it" in said and "FINAL(NOT_FOUND)" in said
    assert "'secret'" not in said and "'code'" not in said  # those are in the data
    assert result.found is False and result.status == "success"


def test_the_subject_check_keeps_quiet_when_the_data_mentions_it_or_when_it_is_off() -> None:
    root = ScriptedLLM([repl('print(grep("secret code"))'), repl('FINAL("9911-KILO")')],
                       name=SMALL)
    result = make_rlm(root).run(context=CODES, query="What is the secret code for the garages?")
    assert result.answer == "9911-KILO" and root.calls == 2  # "garages" matches "garage"
    off = ScriptedLLM([repl('print(grep("secret code"))'), repl('FINAL("9911-KILO")')],
                      name=SMALL)
    result = make_rlm(off, small_strategies=("unstuck",)).run(
        context=CODES, query="What is the secret code for the vault?")
    assert result.answer == "9911-KILO" and off.calls == 2


def test_absent_terms_skip_question_words_and_the_kind_of_answer() -> None:
    text = "Mr. Collins praised his patroness, Lady Catherine, at every dinner."
    assert guards.absent_terms("Who is Mr. Collins's patroness?", text) == []
    assert guards.absent_terms("In which city is the lantern kept today?", text) == ["lantern"]
    assert guards.absent_terms("How many dinners are mentioned?", text) == []
    assert guards.absent_terms("What is the name of the Collins' home?", text) == ["home"]


def test_after_each_step_a_small_model_is_told_the_question_again() -> None:
    query = "What is the secret code for the garage?"
    root = ScriptedLLM([repl('print(grep("garage"))'), repl('FINAL("9911-KILO")')], name=SMALL)
    make_rlm(root).run(context=CODES, query=query)
    assert f"(19 steps left) The question was: {query} If the output shows the answer" in \
        told(root, 1)
    big = ScriptedLLM([repl('print(grep("garage"))'), repl('FINAL("9911-KILO")')],
                      name="openai/gpt-4o")
    make_rlm(big).run(context=CODES, query=query)
    assert "The question was" not in told(big, 1)


def test_a_word_given_for_a_number_to_look_up_is_sent_back_to_the_line() -> None:
    text = FILLER + "\nThe special magic number for northern-falcon is 7730926 again.\n"
    query = "What is the special magic number for northern-falcon? Answer with the number only."
    root = ScriptedLLM([repl('print(grep("northern-falcon"))'), repl('FINAL("again")'),
                        repl('FINAL("7730926")')], name=SMALL)
    result = make_rlm(root).run(context=text, query=query)
    assert guards.WRONG_KIND_LOOKUP.format(answer="again") in told(root, 2)
    assert result.answer == "7730926"
    assert guards.answer_kind("What is the secret code for the vault?") is None  # codes have letters


DISTRACTED = (FILLER + "\nIn 1820, the Silver Compass was moved to the Vesk Archive. The Orl "
              "Library stands in the city of Tarn.\n" + FILLER
              + "\nThe Vesk Archive stands in the city of Brno.\n")


def test_an_answer_nothing_links_to_the_subject_is_sent_to_find_the_subject_first() -> None:
    root = ScriptedLLM([repl('print(grep("Silver Compass"))'), repl('FINAL("Tarn")'),
                        repl('print(grep("Vesk Archive"))'), repl('FINAL("Brno")')],
                       name=SMALL)
    result = make_rlm(root).run(context=DISTRACTED,
                                query="In which city is the Silver Compass kept today?")
    said = told(root, 2)
    assert "'Tarn' comes from a sentence about Orl Library" in said
    assert "nothing in the data links Orl Library to Silver Compass" in said
    assert "Search for Vesk Archive next: print(grep(r\"Vesk Archive\"))" in said
    assert result.answer == "Brno"


def test_a_second_hop_answer_is_linked_through_the_entity_beside_the_subject() -> None:
    assert guards.unlinked_answer("In which city is the Silver Compass kept today?", "Brno",
                                  DISTRACTED) is None
    assert guards.unlinked_answer("Who is Mr. Collins's patroness?", "Lady Catherine",
                                  "Mr. Collins praised Lady Catherine.") is None
    assert guards.proper_names("Who is Mr. Collins's patroness? Answer with the name.") == \
        ["Collins"]


def test_the_same_unlinked_answer_again_is_shown_the_next_hops_sentences() -> None:
    root = ScriptedLLM([repl('print(grep("Silver Compass"))'), repl('FINAL("Tarn")'),
                        repl('print(grep("Vesk Archive"))'), repl('FINAL("Tarn")'),
                        repl('FINAL("Brno")')], name=SMALL)
    result = make_rlm(root).run(context=DISTRACTED,
                                query="In which city is the Silver Compass kept today?")
    assert "other sentences about Vesk Archive" not in told(root, 2)
    assert ("The data's other sentences about Vesk Archive: "
            "'The Vesk Archive stands in the city of Brno'") in told(root, 4)
    assert result.answer == "Brno"


def test_the_questions_own_subject_as_its_answer_is_sent_on_to_the_next_hop() -> None:
    root = ScriptedLLM([repl('print(grep("Silver Compass"))'), repl('FINAL("Silver Compass")'),
                        repl('print(grep("Vesk Archive"))'), repl('FINAL("Brno")')], name=SMALL)
    result = make_rlm(root).run(context=TWO_HOP, query="In which city is the Silver Compass?")
    assert result.answer == "Brno"
    feedback = told(root, 2)
    assert "'Silver Compass' is what the question asks about" in feedback
    assert "moved to the Vesk Archive" in feedback and 'grep(r"Vesk Archive")' in feedback
    assert "sentences about Vesk Archive: 'The Vesk Archive stands in the city of Brno'" \
        in feedback


def test_not_found_while_the_data_mentions_the_subject_is_questioned_once() -> None:
    root = ScriptedLLM([repl('print(grep("Compass"))'), repl("FINAL(NOT_FOUND)"),
                        repl("FINAL(NOT_FOUND)")], name=SMALL)
    result = make_rlm(root).run(context=TWO_HOP, query="In which city is the Silver Compass?")
    assert "The data does mention Silver Compass, so NOT_FOUND may be wrong" in told(root, 2)
    assert 'grep(r"Vesk Archive")' in told(root, 2)
    assert result.found is False and root.calls == 3  # the second NOT_FOUND stands


def test_not_found_stands_when_a_word_of_the_question_is_nowhere_in_the_data() -> None:
    root = ScriptedLLM([repl('print(grep("Compass"))'), repl("FINAL(NOT_FOUND)")], name=SMALL)
    result = make_rlm(root).run(context=TWO_HOP,
                                query="Which goldsmith repaired the Silver Compass?")
    assert result.found is False and root.calls == 2


KEYS = (FILLER + "\nThe special magic number for sturdy-lantern is 3148389.\n" + FILLER
        + "\nThe special magic number for windy-falcon is 7122682.\n" + FILLER)
KEY_QUERY = "What is the special magic number for windy-falcon? Answer with the number only."


def test_a_number_read_from_the_line_about_another_key_is_sent_to_the_keys_line() -> None:
    root = ScriptedLLM([repl('print(grep("sturdy-lantern"))'), repl("FINAL(3148389)"),
                        repl("FINAL(7122682)")], name=SMALL)
    result = make_rlm(root).run(context=KEYS, query=KEY_QUERY)
    assert result.answer == "7122682"
    feedback = told(root, 2)
    assert "does not name 'windy-falcon'" in feedback
    assert "'The special magic number for windy-falcon is 7122682'" in feedback


def test_a_number_from_the_keys_own_line_passes() -> None:
    root = ScriptedLLM([repl('print(grep("windy-falcon"))'), repl("FINAL(7122682)")], name=SMALL)
    assert make_rlm(root).run(context=KEYS, query=KEY_QUERY).answer == "7122682"
    assert root.calls == 2

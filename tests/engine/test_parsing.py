"""Reading a reply: which code runs, and when FINAL written as text counts."""

from __future__ import annotations

from rlm_toolkit.engine.parsing import find_text_final, parse_reply


def test_fenced_blocks_run_in_order_and_prose_is_kept() -> None:
    parsed = parse_reply("First\n```repl\na = 1\n```\nthen\n```python\nprint(a)\n```\nDone")
    assert parsed.code_blocks == ["a = 1", "print(a)"]
    assert "First" in parsed.prose and "Done" in parsed.prose and "a = 1" not in parsed.prose


def test_an_unclosed_last_fence_still_counts_and_a_bare_text_fence_does_not() -> None:
    assert parse_reply("```repl\nprint(1)").code_blocks == ["print(1)"]
    assert parse_reply("```\nJust some words here.\n```").code_blocks == []


def test_a_reply_that_is_all_code_runs_without_a_fence() -> None:
    assert parse_reply("x = grep('a')\nprint(x)").code_blocks == ["x = grep('a')\nprint(x)"]
    assert parse_reply("The answer is near.").code_blocks == []


def test_text_final_only_at_the_start_of_a_line() -> None:
    final = find_text_final("I checked.\nFINAL(\"Oslo\")")
    assert final is not None and final.value == "Oslo" and final.kind == "FINAL"
    assert find_text_final("I will call FINAL(x) once sure.") is None
    var = find_text_final("FINAL_VAR(city)")
    assert var is not None and var.name == "city"
    expr = find_text_final("FINAL(hits[0])")
    assert expr is not None and expr.is_expression


def test_a_text_final_with_citations_keeps_only_its_value() -> None:
    from rlm_toolkit.engine.parsing import find_text_final

    written = find_text_final("FINAL(Torbran Treasury, cite=[1])")
    assert written is not None and written.value == "Torbran Treasury"
    quoted = find_text_final("FINAL('48213', cite=['L3: the line'])")
    assert quoted is not None and quoted.value == "48213" and quoted.is_expression

"""Every helper the root prompt mentions works on every context type the engine accepts."""

from __future__ import annotations

import json
from typing import Any

import pytest

from rlm_toolkit.engine.context import DEFAULT_CHUNK_CHARS, prepare_context
from rlm_toolkit.sandbox.worker.helpers import grep, split_document
from rlm_toolkit.testing import ScriptedLLM
from tests.helpers import make_rlm, repl

ROWS = [{"id": i, "city": "Oslo" if i % 7 == 0 else "Lima", "note": "x" * 40} for i in range(3000)]
CONTEXTS: dict[str, Any] = {
    "str": "\n".join(json.dumps(r) for r in ROWS),
    "bytes": "\n".join(json.dumps(r) for r in ROWS).encode(),
    "list": ROWS,
    "dict": {f"row{r['id']}": r for r in ROWS},
}


@pytest.mark.parametrize("kind", list(CONTEXTS))
def test_the_prompts_helpers_run_on_every_context_type(kind: str) -> None:
    context = CONTEXTS[kind]
    info = prepare_context(context).info
    assert f"split_document(context, {DEFAULT_CHUNK_CHARS})" in info.render()  # suggested
    code = (f"chunks = split_document(context, {DEFAULT_CHUNK_CHARS})\n"
            "print('chunks', len(chunks), type(chunks[0]).__name__)\n"
            "print('hits', len(grep('Oslo')))\n"
            "FINAL(str(len(chunks)))")
    root = ScriptedLLM([repl(code)])
    result = make_rlm(root).run(context=context, query="How many chunks?")
    assert result.status == "success", result.error
    chunks = int(result.answer)
    expected = -(-info.chars // DEFAULT_CHUNK_CHARS)
    assert expected <= chunks <= expected + 2  # about as many as the prompt announced


@pytest.mark.parametrize("kind", ["list", "dict"])
def test_split_keeps_items_whole_and_loses_none(kind: str) -> None:
    context = CONTEXTS[kind]
    chunks = split_document(context, 5_000)
    assert all(type(c) is type(context) for c in chunks)
    assert all(len(json.dumps(c)) <= 5_000 + 200 for c in chunks)
    if kind == "list":
        assert [x for c in chunks for x in c] == context
    else:
        assert {k: v for c in chunks for k, v in c.items()} == context


def test_split_bytes_reads_them_as_text() -> None:
    chunks = split_document(CONTEXTS["bytes"], 5_000)
    assert "".join(chunks) == CONTEXTS["str"]


def test_grep_on_a_list_or_dict_finds_whole_items() -> None:
    oslo = [r for r in ROWS if r["city"] == "Oslo"]
    hits = grep("Oslo", ROWS, max_matches=10_000)
    assert len(hits) == len(oslo)
    assert hits[1] == f"L8: {json.dumps(oslo[1])}"  # the item's line number and the whole item
    assert grep(r"row21\b", CONTEXTS["dict"]) == [f'L22: row21: {json.dumps(ROWS[21])}']


def test_split_refuses_bad_sizes_clearly() -> None:
    with pytest.raises(ValueError, match="size must be a positive"):
        split_document("abc", 0)
    with pytest.raises(TypeError, match="needs text, bytes, a list or a dict"):
        split_document(42, 10)

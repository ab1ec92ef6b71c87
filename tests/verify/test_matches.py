"""Matches from grep and split_document: still plain text to old code, and located."""

from __future__ import annotations

import json

from rlm_toolkit.sandbox.worker.helpers import Match, grep, source_of, split_document
from rlm_toolkit.testing import ScriptedLLM
from tests.helpers import make_rlm, repl

TEXT = "first line\nsecond line has Oslo\r\nthird\n\nfifth Oslo again\n"


def test_grep_matches_behave_as_before_and_know_their_place() -> None:
    hits = grep("oslo", _default=TEXT)
    assert hits == ["L2: second line has Oslo", "L5: fifth Oslo again"]  # as plain strings
    assert [h.split(": ", 1)[1] for h in hits] == ["second line has Oslo", "fifth Oslo again"]
    for hit in hits:
        assert isinstance(hit, str) and isinstance(hit, Match)
        assert hit.start is not None and hit.end is not None
        assert TEXT[hit.start:hit.end] == hit.text
    assert [h.line for h in hits] == [2, 5]
    assert json.dumps(hits) == json.dumps(["L2: second line has Oslo", "L5: fifth Oslo again"])


def test_context_lines_are_shown_but_the_match_is_the_matching_line() -> None:
    [hit] = grep("third", _default=TEXT, context_lines=1)
    assert hit == "L2: second line has Oslo\nL3: third\nL4: "
    assert (hit.text, hit.line, TEXT[hit.start:hit.end]) == ("third", 3, "third")


def test_split_document_chunks_are_located_and_lines_count_from_the_context() -> None:
    text = "".join(f"row {i:03d}\n" for i in range(300))
    chunks = split_document(text, 500, overlap=20)
    for chunk in chunks:
        assert text[chunk.start:chunk.end] == chunk
        assert chunk.line == text.count("\n", 0, chunk.start) + 1
    assert chunks[0].start == 0 and chunks[-1].end == len(text)
    [hit] = grep("row 250", chunks[-1])  # a search inside a chunk keeps the context's offsets
    assert (hit.line, text[hit.start:hit.end]) == (251, "row 250")


def test_dict_and_list_contexts_give_the_key_path() -> None:
    data = {"users": [{"name": "Ada"}], "admins": [{"name": "Lin", "note": "Oslo"}]}
    src = source_of(data)
    [hit] = grep("Oslo", _default=data, _source=src)
    assert hit.path == ("admins",) and src.text[hit.start:hit.end] == hit.text
    rows = ["alpha", "beta Oslo", "gamma"]
    [hit] = grep("Oslo", _default=rows, _source=source_of(rows))
    assert (hit.path, hit.line, hit.text) == ((1,), 2, "beta Oslo")


def test_a_search_of_other_text_in_the_repl_has_no_offsets_but_can_still_be_cited() -> None:
    # grep over a string the model built is not the context: no offsets are claimed, and a
    # citation of it is looked up in the context by its text.
    code = ("note = 'memo: second line has Oslo'\nh = grep('Oslo', note)[0]\n"
            "FINAL('Oslo', cite=[h])")
    root = ScriptedLLM([repl("print(len(context))"), repl(code)])
    result = make_rlm(root).run(context=TEXT, query="Which city?")
    [c] = result.citations
    assert not c.valid  # "memo: second line has Oslo" is not in the context
    root = ScriptedLLM([repl("print(len(context))"),
                        repl("h = grep('Oslo', 'second line has Oslo')[0]\n"
                             "FINAL('Oslo', cite=[h])")])
    [c] = make_rlm(root).run(context=TEXT, query="Which city?").citations
    assert c.valid and c.line == 2


def test_a_paragraph_long_line_is_shown_around_its_match_but_located_whole() -> None:
    before, after = "word " * 200, " more" * 200
    text = "intro\n" + before + "The vault code is 48213." + after + "\n" + "x " * 300 + "\n"
    [hit] = grep("vault code", _default=text, context_lines=1)
    first, shown, neighbour = hit.split("\n")
    assert first == "L1: intro"
    assert shown.startswith("L2: ...") and shown.endswith("...")
    assert "The vault code is 48213." in shown and len(shown) < 400
    assert neighbour.startswith("L3: x x") and neighbour.endswith("...")
    assert hit.text == text.splitlines()[1]  # the whole line, for citations and code
    assert text[hit.start:hit.end] == hit.text
    short = grep("intro", _default=text)
    assert short == ["L1: intro"]

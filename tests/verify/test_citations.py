"""Citations: scripted runs cite the context, and the host checks every citation itself."""

from __future__ import annotations

import json

from rlm_toolkit.testing import ScriptedLLM
from tests.helpers import make_rlm, repl

TEXT = ("Harbor log, spring.\n"
        "The ferry leaves at 07:40 from pier 3.\n"
        "The vault code for the east wing is 48213.\n"
        "Gulls were counted: 212.\n")


def run(replies: list[str], context: object = TEXT, **config: object) -> object:
    root = ScriptedLLM(replies)
    return make_rlm(root, **config).run(context=context, query="What is the east wing's code?")


def test_a_grep_match_cited_is_valid_and_points_at_the_line() -> None:
    result = run([repl("hits = grep('vault code')\nprint(hits)"),
                  repl("FINAL('48213', cite=[hits[0]])")])
    assert result.answer == "48213"
    [c] = result.citations
    assert c.valid and c.line == 3
    assert TEXT[c.start:c.end] == "The vault code for the east wing is 48213."
    assert result.grounded is None  # checked mechanically, support not judged (verify off)


def test_quotes_and_offset_pairs_are_located_in_the_context() -> None:
    start = TEXT.index("212")
    result = run([repl("print(grep('gull'))"),
                  repl(f"FINAL('48213', cite=['east wing is 48213', ({start}, {start + 3})])")])
    quote, pair = result.citations
    assert (quote.valid, quote.start) == (True, TEXT.index("east wing is 48213"))
    assert (pair.valid, pair.text, pair.line) == (True, "212", 4)


def test_a_forged_match_whose_text_is_not_at_its_offsets_is_caught() -> None:
    # The model builds its own match claiming the code sits on line 2: the host checks the
    # text at those offsets and keeps the citation, marked invalid.
    code = ("m = grep('ferry')[0]\n"
            "fake = type(m)('L2: code 99999', text='code 99999', start=m.start, end=m.start + 10)\n"
            "FINAL('99999', cite=[fake])")
    result = run([repl("print(grep('ferry'))"), repl(code)])
    [c] = result.citations
    assert not c.valid and "does not hold the cited text" in c.reason
    assert result.grounded is False
    assert "[unverified" in str(result)


def test_a_quote_that_is_not_in_the_context_is_invalid() -> None:
    result = run([repl("print(grep('vault'))"),
                  repl("FINAL('48213', cite=['the vault code is 48213'])")])
    [c] = result.citations
    assert (c.valid, c.start, c.reason) == (False, -1, "the quoted text is not in the context")
    assert result.grounded is False


def test_a_range_outside_the_context_is_invalid() -> None:
    result = run([repl("print(len(context))"), repl("FINAL('48213', cite=[(90, 100000)])")])
    [c] = result.citations
    assert not c.valid and f"outside the context (0-{len(TEXT)})" in c.reason
    assert result.grounded is False


def test_answer_dict_cite_is_read_with_ready() -> None:
    code = ("hits = grep('ferry')\nanswer['content'] = '07:40'\n"
            "answer['cite'] = hits\nanswer['ready'] = True")
    result = run([repl("print(grep('ferry'))"), repl(code)])
    assert result.answer == "07:40"
    assert [c.line for c in result.citations] == [2] and result.citations[0].valid


def test_chunks_from_split_document_cite_their_place() -> None:
    text = "".join(f"line {i} filler filler filler\n" for i in range(400)) + "needle 777\n"
    code = ("chunks = split_document(context, 1000)\n"
            "last = chunks[-1]\nhit = grep('needle', last)[0]\n"
            "FINAL('777', cite=[hit])")
    result = run([repl("print(len(context))"), repl(code)], context=text)
    [c] = result.citations
    assert c.valid and c.line == 401 and text[c.start:c.end] == "needle 777"


def test_dict_context_citations_carry_the_key_path() -> None:
    data = {"alpha": {"city": "Oslo", "pop": 700000}, "beta": {"city": "Lima", "pop": 9700000}}
    result = run([repl("print(grep('Lima'))"), repl("FINAL('Lima', cite=[grep('Lima')[0]])")],
                 context=data)
    [c] = result.citations
    assert c.valid and c.path == ("beta",) and c.line == 2
    assert c.text == f"beta: {json.dumps(data['beta'])}"


def test_list_context_citations_carry_the_index_and_quotes_work() -> None:
    rows = [{"id": i, "name": f"n{i}"} for i in range(50)]
    result = run([repl("print(grep('n42'))"),
                  repl("FINAL('42', cite=[grep('\"n42\"')[0], '\"name\": \"n7\"'])")],
                 context=rows)
    match, quote = result.citations
    assert match.valid and match.path == (42,) and match.line == 43
    assert quote.valid and quote.path == (7,)


def test_citations_through_a_child_run_point_into_the_users_context() -> None:
    # The root hands the second chunk to a child; the child cites line 1 of *its* slice.
    # The result's citation must point at the user's context, not at the child's offsets.
    text = "".join(f"row {i}: nothing here\n" for i in range(200)) + "row 200: code 5150\n"

    def reply(messages: list[dict[str, str]]) -> str:
        turn = sum(m["role"] == "assistant" for m in messages)
        if messages[1]["content"].startswith("Query: child task"):
            child = [repl("print(len(context))"), repl("hit = grep('code')[0]\nprint(hit)"),
                     repl("FINAL(hit, cite=[hit])")]
            return child[turn]
        root = [repl("chunks = split_document(context, 2000)\nprint(len(chunks))"),
                repl("r = rlm_query('child task: find the code', context=chunks[-1])\n"
                     "print('got:', r)"),
                repl("FINAL(r)")]  # the child's answer carries its citations
        return root[turn]

    result = make_rlm(ScriptedLLM(reply), max_depth=1).run(
        context=text, query="Which row has the code?")
    assert result.status == "success", result.error
    [c] = result.citations
    assert c.valid and c.line == 201
    assert text[c.start:c.end] == "row 200: code 5150"


def test_a_child_given_a_plain_slice_is_placed_by_finding_it() -> None:
    # context[a:b] is a plain str with no offsets: the host finds the slice in the context.
    text = "".join(f"row {i}: nothing here\n" for i in range(50)) + "row 50: code 6060\n"

    def reply(messages: list[dict[str, str]]) -> str:
        turn = sum(m["role"] == "assistant" for m in messages)
        if messages[1]["content"].startswith("Query: child task"):
            return [repl("print(len(context))"), repl("h = grep('code')[0]\nFINAL(h)")][turn]
        return [repl("part = context[-300:]\nprint(len(part))"),
                repl("r = rlm_query('child task', context=str(part))\nprint('got', r)"),
                repl("FINAL('6060', cite=r.cite)")][turn]

    result = make_rlm(ScriptedLLM(reply), max_depth=1).run(context=text, query="The code?")
    [c] = result.citations
    assert c.valid and c.line == 51 and text[c.start:c.end] == "row 50: code 6060"


def test_a_long_chunk_is_cited_whole_though_only_its_head_crosses() -> None:
    text = "header\n" + "".join(f"line {i} " + "x" * 60 + "\n" for i in range(600))
    result = run([repl("print(len(context))"),
                  repl("c = split_document(context, 30000)[0]\nFINAL('ok', cite=[c])")],
                 context=text)
    [c] = result.citations
    assert c.valid and c.start == 0 and c.end > 20_000 and c.text == text[:c.end]


# --- lines the host finds for an answer the model did not cite ---------------------------

def test_an_uncited_typed_answer_is_cited_by_the_host_where_the_data_holds_it() -> None:
    result = run([repl("print(grep('east wing'))"), repl("FINAL('48213')")])
    [c] = result.citations
    assert c.auto and c.valid and c.line == 3
    assert TEXT[c.start:c.end] == "The vault code for the east wing is 48213."
    assert result.grounded is None
    from rlm_toolkit.verify import format_citations
    assert "found by the host" in format_citations(result)
    assert result.summary()["citations"][0]["auto"] is True


def test_a_computed_answer_or_one_absent_from_the_data_gets_no_host_citation() -> None:
    computed = run([repl("n = len(grep('vault code'))\nprint(n)"), repl("FINAL(str(n))")])
    assert computed.answer == "1" and computed.citations == []
    absent = run([repl("print(grep('east wing'))"), repl("FINAL('48214')")])
    assert absent.citations == []
    part_of_a_word = run([repl("print(grep('east wing'))"), repl("FINAL('821')")])
    assert part_of_a_word.citations == []  # "821" is inside 48213, not a whole word


def test_an_answer_on_many_lines_is_cited_only_where_the_model_was_shown_it() -> None:
    lines = [f"Shipment {i} went to Lisbon." for i in range(8)]
    lines[5] = "The east wing's code is kept in Lisbon."
    text = "\n".join(lines) + "\n"
    result = run([repl("print(grep('east wing'))"), repl("FINAL('Lisbon')")], context=text)
    [c] = result.citations
    assert c.auto and c.line == 6 and "east wing" in c.text
    unseen = run([repl("print(len(context))"), repl("FINAL('Lisbon')")], context=text)
    assert unseen.citations == []  # eight lines hold it and none was shown: nothing to pick


def test_a_host_citation_in_a_long_single_line_context_is_a_short_window() -> None:
    text = ("filler words " * 400) + "the east wing code is 48213 " + ("more filler " * 400)
    result = run([repl("print(grep('east wing'))"), repl("FINAL('48213')")], context=text)
    [c] = result.citations
    assert c.valid and "48213" in c.text and len(c.text) <= 2 * 200 + 5
    assert text[c.start:c.end] == c.text


def test_a_quote_copied_from_a_cut_grep_display_is_found_by_its_longest_piece() -> None:
    long_line = "word " * 100 + "The vault code for the east wing is 48213." + " more" * 100
    text = "intro\n" + long_line + "\n"
    shown = "L1: intro\nL2: ...word word The vault code for the east wing is 48213. more more..."
    result = run([repl("print(grep('east wing', context_lines=1))"),
                  repl(f"FINAL('48213', cite=[{shown!r}])")], context=text)
    [c] = result.citations
    assert c.valid and c.line == 2 and "48213" in c.text
    tiny = run([repl("print(grep('east wing'))"), repl("FINAL('48213', cite=['L3: ...the...'])")])
    assert not tiny.citations[0].valid  # a piece too short to say where it is


def test_a_final_with_citations_written_as_text_is_read_by_the_repl() -> None:
    result = run([repl("hits = grep('vault code')\nprint(hits)"),
                  "FINAL('48213', cite=['L3: The vault code for the east wing is 48213.'])"])
    assert result.answer == "48213"
    [c] = result.citations
    assert c.valid and c.line == 3 and not c.auto

"""What the server routes to the RLM (context and query), and its session store, driven
directly."""

from __future__ import annotations

import asyncio

from rlm_toolkit.serve.routing import route
from rlm_toolkit.serve.service import ServeOptions, Service
from rlm_toolkit.serve.wire import ChatRequest
from rlm_toolkit.testing import ScriptedLLM
from tests.helpers import make_rlm, repl

DOC = "word " * 5_000  # 25,000 characters


def test_short_conversations_pass_through() -> None:
    assert route([{"role": "user", "content": "hi"}]) is None
    assert route([{"role": "user", "content": "x" * 20_000}]) is None  # at the threshold


def test_a_document_in_its_own_message_and_the_question_after() -> None:
    routed = route([{"role": "system", "content": "Be brief."},
                    {"role": "user", "content": DOC},
                    {"role": "user", "content": "  What is it about?  "}])
    assert routed is not None and routed.context == DOC and routed.query == "What is it about?"


def test_the_question_at_the_end_of_the_document() -> None:
    routed = route([{"role": "user", "content": DOC + "\n\nSummarise this."}])
    assert routed is not None and routed.query == "Summarise this."
    assert routed.context == DOC


def test_several_documents_are_joined_under_headers() -> None:
    routed = route([{"role": "user", "content": DOC}, {"role": "assistant", "content": "ok"},
                    {"role": "user", "content": "more " * 5_000},
                    {"role": "user", "content": "Compare them."}], threshold=20_000)
    assert routed is not None and routed.query == "Compare them."
    assert routed.context.startswith("=== document 1 ===\nword")
    assert "\n\n=== document 2 ===\nmore" in routed.context


def test_the_least_recently_used_session_is_closed_past_the_limit() -> None:
    def reply(messages: list[dict[str, str]]) -> str:
        return repl("x = 1\nprint(x)") if len(messages) < 4 else repl("FINAL(x)")

    service = Service(ServeOptions("scripted/m", max_sessions=1),
                      make_rlm=lambda spec: make_rlm(ScriptedLLM(reply)))
    request = ChatRequest("rlm", [{"role": "user", "content": DOC + "\n\nWhat?"}], False,
                          False, None, None, None)

    async def both() -> tuple[object, object]:
        first = await service.answer(request, "A")
        session_a = service.sessions["A"]
        await service.answer(request, "B")
        await asyncio.gather(*service._closing)
        closed = session_a._closed
        await service.aclose()
        return first, closed

    first, closed = asyncio.run(both())
    assert first.text == "1"  # type: ignore[attr-defined]
    assert closed is True

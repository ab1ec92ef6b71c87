"""egress="local-only": raw context may go only to a local provider; aggregates go anywhere."""

from __future__ import annotations

import json
import random

from rlm_toolkit import RLM, RLMConfig
from rlm_toolkit.providers import resolve
from rlm_toolkit.testing.servers import OpenAIServer


def records(n: int = 400) -> str:
    rng = random.Random(7)
    words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india"]
    return "\n".join(f"record {i}: " + " ".join(rng.choice(words) for _ in range(8))
                     for i in range(n))


SLICE = 1_000


def root_script(body: dict) -> str:
    messages = body["messages"]
    if len(messages) == 2:
        return ("```repl\ntry:\n    raw = llm('Summarise these records:\\n' + context[:1000])\n"
                "except Exception as exc:\n    raw = str(exc)\n"
                "agg = llm(f'The data has {len(context.splitlines())} records. Is that many?')\n"
                "print(raw)\nprint(agg)\nprint(context[:1000])\n```")
    return "```repl\nFINAL(raw + ' || ' + agg)\n```"


def sub_script(body: dict) -> str:
    prompt = body["messages"][-1]["content"]
    return "a summary of the records" if "Summarise" in prompt else "yes, that is many"


def run(sub_local: bool) -> tuple[object, list[dict], list[dict]]:
    doc = records()
    with OpenAIServer(root_script) as root, OpenAIServer(sub_script) as sub:
        rlm = RLM(root=resolve("openai/big-remote", base_url=root.base_url, api_key="x"),
                  sub=resolve("openai/my-vllm", base_url=sub.base_url, api_key="x",
                              local=sub_local),
                  config=RLMConfig(egress="local-only", step_timeout_s=30))
        result = rlm.run(context=doc, query="Summarise the records")
        return result, list(root.requests), list(sub.requests)


def test_a_remote_sub_model_is_refused_a_raw_slice_and_aggregates_pass() -> None:
    doc = records()
    result, root_requests, sub_requests = run(sub_local=False)
    assert result.status == "success", result.error  # type: ignore[attr-defined]
    # Only the aggregate reached the remote sub model; the 1,000-character slice never did.
    assert [r["messages"][-1]["content"] for r in sub_requests] == [
        "The data has 400 records. Is that many?"]
    wire = json.dumps(root_requests + sub_requests)
    assert doc[:SLICE] not in wire and doc[200:450] not in wire
    # The model's code got the refusal, saying what to do instead.
    answer = result.answer  # type: ignore[attr-defined]
    assert "egress=local-only refused" in answer and "send an aggregate" in answer.lower()
    assert answer.endswith("|| yes, that is many")
    # What the code printed of the context was withheld from the remote root, and said so.
    assert "[withheld: 1,000 characters of the context" in root_requests[-1]["messages"][-1][
        "content"]
    audit = result.egress["providers"]  # type: ignore[attr-defined]
    assert audit["openai/my-vllm"]["refused"] == 1 and audit["openai/my-vllm"]["requests"] == 1
    assert audit["openai/big-remote"]["withheld_chars"] == SLICE
    # The root saw only the short preview of the start, in pieces of at most 200 characters.
    assert all(b - a <= 200 for a, b in audit["openai/big-remote"]["context_ranges"])
    assert audit["openai/big-remote"]["context_chars_sent"] < 400


def test_a_provider_marked_local_gets_the_raw_slice() -> None:
    doc = records()
    result, _, sub_requests = run(sub_local=True)
    assert result.answer == "a summary of the records || yes, that is many"  # type: ignore[attr-defined]
    assert any(doc[:SLICE] in r["messages"][-1]["content"] for r in sub_requests)
    audit = result.egress["providers"]["openai/my-vllm"]  # type: ignore[attr-defined]
    assert audit["local"] is True and audit["refused"] == 0
    assert audit["context_ranges"] == [[0, SLICE]]
    assert audit["coverage"] == round(SLICE / len(doc), 6)


def test_a_loopback_address_alone_is_not_local() -> None:
    """Both servers are on 127.0.0.1: unmarked, the sub is still treated as remote."""
    result, _, sub_requests = run(sub_local=False)
    assert result.egress["providers"]["openai/my-vllm"]["local"] is False  # type: ignore[attr-defined]
    assert len(sub_requests) == 1

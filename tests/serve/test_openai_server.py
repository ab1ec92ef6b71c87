"""`rlm serve` through the official OpenAI SDK and raw HTTP: routing, streaming, sessions,
errors, and the API key."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import httpx
import openai
import pytest

from rlm_toolkit.testing.servers import OpenAIServer
from tests.serve.conftest import NEEDLE_DOC, PASS_REPLY, rlm_serve, scripted_model


def client(url: str, key: str = "unused") -> openai.OpenAI:
    return openai.OpenAI(base_url=url, api_key=key, max_retries=0, timeout=120)


def test_models_lists_rlm(serve_url: str) -> None:
    names = [m.id for m in client(serve_url).models.list()]
    assert names == ["rlm", "rlm:openai/m"]


def test_a_short_chat_passes_straight_through(serve_url: str,
                                              model_server: OpenAIServer) -> None:
    before = len(model_server.requests)
    reply = client(serve_url).chat.completions.create(
        model="rlm", messages=[{"role": "user", "content": "Say hello."}])
    assert reply.choices[0].message.content == PASS_REPLY
    sent = model_server.requests[before:]
    assert len(sent) == 1 and sent[0]["messages"][-1]["content"] == "Say hello."
    assert reply.usage is not None and reply.usage.total_tokens > 0


def test_a_long_document_goes_to_the_rlm(serve_url: str, model_server: OpenAIServer) -> None:
    before = len(model_server.requests)
    reply = client(serve_url).chat.completions.create(
        model="rlm", messages=[{"role": "system", "content": "Be brief."},
                               {"role": "user", "content": NEEDLE_DOC},
                               {"role": "user", "content": "What is the launch code?"}])
    assert reply.choices[0].message.content == "4711"
    sent = model_server.requests[before:]
    roots = [b for b in sent if "stored in a Python REPL" in b["messages"][0]["content"]]
    assert len(roots) == 2 and len(sent) == 3  # two root iterations and one sub-call
    assert all("launch code is 4711" not in json.dumps(b) for b in sent)  # never in a prompt
    assert "Query: What is the launch code?" in roots[0]["messages"][1]["content"]
    # usage counts the whole tree: root calls and the sub-call, as the server reported them
    reported = [model_server.usage(b, scripted_model(b)) for b in sent]
    assert reply.usage is not None
    assert reply.usage.prompt_tokens == sum(u["prompt_tokens"] for u in reported)
    assert reply.usage.total_tokens == sum(u["total_tokens"] for u in reported)


def test_streaming_sends_progress_then_the_answer(serve_url: str) -> None:
    stream = client(serve_url).chat.completions.create(
        model="rlm", stream=True, stream_options={"include_usage": True},
        messages=[{"role": "user", "content": NEEDLE_DOC + "\n\nWhat is the launch code?"}])
    progress, content, finish, usage = [], [], [], None
    for part in stream:
        if part.usage is not None:
            usage = part.usage
        for choice in part.choices:
            extra = choice.delta.model_extra or {}
            if extra.get("reasoning_content"):
                progress.append(extra["reasoning_content"])
            if choice.delta.content:
                content.append(choice.delta.content)
            if choice.finish_reason:
                finish.append(choice.finish_reason)
    assert "".join(content) == "4711"
    # as it happens: the sub-call during the step, then the step itself
    assert progress[:3] == ["[rlm] iteration 1\n", "[rlm] sub-call (depth 0)\n",
                            "[rlm] ran: import re\n"]
    assert "[rlm] iteration 2\n" in progress
    assert finish == ["stop"]
    assert usage is not None and usage.total_tokens > 0


def test_streaming_a_short_chat(serve_url: str) -> None:
    stream = client(serve_url).chat.completions.create(
        model="rlm", stream=True, messages=[{"role": "user", "content": "Say hello."}])
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text == PASS_REPLY


def test_two_sessions_are_kept_apart(serve_url: str) -> None:
    sdk = client(serve_url)
    doc_a, doc_b = "alpha " + "a" * 25_000, "bravo " + "b" * 25_000

    def ask(session: str, messages: list[dict[str, str]]) -> str:
        reply = sdk.chat.completions.create(model="rlm", messages=messages,  # type: ignore[arg-type]
                                            extra_headers={"X-RLM-Session": session})
        return str(reply.choices[0].message.content)

    assert ask("A", [{"role": "user", "content": doc_a}, {"role": "user", "content":
                                                           "remember it"}]) == "alpha"
    assert ask("B", [{"role": "user", "content": doc_b}, {"role": "user", "content":
                                                           "remember it"}]) == "bravo"
    # Short follow-ups stay in their sessions' REPLs (a pass-through would answer otherwise).
    assert ask("A", [{"role": "user", "content": "again"}]) == "alpha"
    assert ask("B", [{"role": "user", "content": "again"}]) == "bravo"
    reply = sdk.chat.completions.create(model="rlm", user="C",
                                        messages=[{"role": "user", "content": "again"}])
    assert reply.choices[0].message.content == PASS_REPLY  # no session C: a plain chat


@pytest.mark.parametrize(("body", "param", "said"), [
    ({"model": "rlm"}, "messages", "messages is required"),
    ({"model": "rlm", "messages": []}, "messages", "messages is required"),
    ({"model": "rlm", "messages": "hi"}, "messages", "messages is required"),
    ({"model": "rlm", "messages": [{"role": "user", "content": 5}]}, "messages[0].content",
     "must be a string or a list of parts"),
    ({"model": "rlm", "messages": [{"role": "robot", "content": "x"}]}, "messages[0].role",
     "role must be one of"),
    ({"model": 7, "messages": [{"role": "user", "content": "x"}]}, "model", "model is required"),
    ({"model": "rlm", "stream": "yes", "messages": [{"role": "user", "content": "x"}]},
     "stream", "stream must be true or false"),
])
def test_bad_requests_get_openai_style_errors(serve_url: str, body: dict[str, object],
                                              param: str, said: str) -> None:
    done = httpx.post(serve_url + "/chat/completions", json=body, timeout=30)
    assert done.status_code == 400
    error = done.json()["error"]
    assert error["type"] == "invalid_request_error" and error["param"] == param
    assert said in error["message"]


def test_bad_requests_through_the_sdk(serve_url: str) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client(serve_url).chat.completions.create(model="rlm", messages=[])
    assert "messages is required" in str(caught.value)
    with pytest.raises(openai.NotFoundError, match="does not exist here"):
        client(serve_url).chat.completions.create(
            model="gpt-4", messages=[{"role": "user", "content": "x"}])


def test_not_json_and_a_huge_body(serve_url: str) -> None:
    done = httpx.post(serve_url + "/chat/completions", content=b"{nope", timeout=30)
    assert done.status_code == 400 and "not valid JSON" in done.json()["error"]["message"]
    huge = json.dumps({"model": "rlm", "messages": [{"role": "user",
                                                     "content": "x" * 2_000_000}]})
    done = httpx.post(serve_url + "/chat/completions", content=huge, timeout=30)
    assert done.status_code == 413
    assert done.json()["error"]["code"] == "request_too_large"
    assert "--max-body-mb" in done.json()["error"]["message"]


def test_binding_off_loopback_needs_an_api_key() -> None:
    done = subprocess.run([sys.executable, "-m", "rlm_toolkit.cli.main", "serve", "--model",
                           "openai/m", "--host", "0.0.0.0", "--port", "9"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "exposes the server to the network: set --api-key-env" in done.stderr
    assert "Traceback" not in done.stderr


def test_with_an_api_key_requests_without_it_are_refused(model_server: OpenAIServer) -> None:
    with rlm_serve(model_server, "--api-key-env", "RLM_TEST_KEY",
                   env={"RLM_TEST_KEY": "s3cret"}) as url:
        with pytest.raises(openai.AuthenticationError, match="missing or wrong API key"):
            client(url, "wrong").chat.completions.create(
                model="rlm", messages=[{"role": "user", "content": "hi"}])
        reply = client(url, "s3cret").chat.completions.create(
            model="rlm", messages=[{"role": "user", "content": "hi"}])
        assert reply.choices[0].message.content == PASS_REPLY
        assert httpx.get(url + "/models", timeout=10).status_code == 401


@pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl")
def test_curl_plain_and_streaming(serve_url: str) -> None:
    body = json.dumps({"model": "rlm", "messages": [{"role": "user", "content": "hi"}]})
    done = subprocess.run(["curl", "-s", "--max-time", "60", serve_url + "/chat/completions",
                           "-H", "content-type: application/json", "-d", body],
                          capture_output=True, text=True, timeout=90)
    assert json.loads(done.stdout)["choices"][0]["message"]["content"] == PASS_REPLY
    streamed = json.dumps({"model": "rlm", "stream": True,
                           "messages": [{"role": "user", "content": "hi"}]})
    done = subprocess.run(["curl", "-sN", "--max-time", "60", serve_url + "/chat/completions",
                           "-H", "content-type: application/json", "-d", streamed],
                          capture_output=True, text=True, timeout=90)
    events = [line.removeprefix("data: ") for line in done.stdout.splitlines() if line]
    assert events[-1] == "[DONE]"
    text = "".join(json.loads(e)["choices"][0]["delta"].get("content", "")
                   for e in events[:-1] if json.loads(e)["choices"])
    assert text == PASS_REPLY

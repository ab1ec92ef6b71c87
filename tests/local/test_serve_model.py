"""`rlm serve-model`: the local model over the OpenAI wire, checked with the real SDK."""

from __future__ import annotations

from collections.abc import Iterator

import openai
import pytest

from rlm_toolkit import RLM, RLMConfig
from rlm_toolkit.cli.main import main
from rlm_toolkit.local.server import ModelServer

from .conftest import haystack

pytestmark = pytest.mark.local_model


@pytest.fixture(scope="module")
def server(tiny: object) -> Iterator[ModelServer]:
    srv = ModelServer(tiny.runtime, "qwen2.5-coder-0.5b", port=0,  # type: ignore[attr-defined]
                      api_key="s3cret").start()
    yield srv
    srv.shutdown()
    srv.server_close()


def client(server: ModelServer, key: str = "s3cret") -> openai.OpenAI:
    return openai.OpenAI(base_url=server.url, api_key=key, max_retries=0, timeout=120)


def test_chat_completion_and_models(server: ModelServer) -> None:
    c = client(server)
    assert [m.id for m in c.models.list().data] == ["qwen2.5-coder-0.5b"]
    done = c.chat.completions.create(
        model="qwen2.5-coder-0.5b", max_tokens=12, temperature=0,
        messages=[{"role": "user", "content": "What is 3+4? Answer with a number."}])
    assert "7" in (done.choices[0].message.content or "")
    assert done.usage is not None and done.usage.prompt_tokens > 0
    assert done.usage.completion_tokens > 0


def test_streaming_with_usage(server: ModelServer) -> None:
    stream = client(server).chat.completions.create(
        model="qwen2.5-coder-0.5b", max_tokens=16, stream=True,
        stream_options={"include_usage": True},
        messages=[{"role": "user", "content": "Count from 1 to 4."}])
    text, usage = "", None
    for chunk in stream:
        if chunk.choices:
            text += chunk.choices[0].delta.content or ""
        if chunk.usage:
            usage = chunk.usage
    assert "1" in text and usage is not None and usage.completion_tokens > 0


def test_a_wrong_key_and_a_bad_body_get_clear_errors(server: ModelServer) -> None:
    with pytest.raises(openai.AuthenticationError, match="API key"):
        client(server, key="wrong").models.list()
    with pytest.raises(openai.BadRequestError, match="messages"):
        client(server).chat.completions.create(model="m", messages=[])


def test_an_rlm_runs_over_the_server(server: ModelServer) -> None:
    rlm = RLM("openai/qwen2.5-coder-0.5b", base_url=server.url, api_key="s3cret",
              config=RLMConfig(max_iterations=2))
    result = rlm.run(context=haystack(10_000, "The mill is run by Ada Pohl."),
                     query="Who runs the mill?")
    assert result.iterations >= 1 and result.usage.input_tokens > 0
    assert result.status in ("success", "max_iterations")


def test_binding_off_loopback_needs_a_key(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve-model", "local/qwen2.5-coder-0.5b", "--host", "0.0.0.0"]) == 1
    assert "--api-key-env" in capsys.readouterr().err

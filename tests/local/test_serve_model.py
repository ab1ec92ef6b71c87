"""`rlm serve-model`: the local model over the OpenAI wire, checked with the real SDK.

The request checks and the refusals of bad settings need no model (a stand-in runtime, or a
model path that does not exist: they are refused before it is looked at); the rest run the
real 0.5B model (marked `local_model`)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import openai
import pytest

from rlm_toolkit import RLM, RLMConfig
from rlm_toolkit.cli.main import main
from rlm_toolkit.errors import ConfigError
from rlm_toolkit.local.runtime import Generation
from rlm_toolkit.local.server import ModelServer

from .conftest import haystack


@pytest.fixture(scope="module")
def server(tiny: object) -> Iterator[ModelServer]:
    srv = ModelServer(tiny.runtime, "qwen2.5-coder-0.5b", port=0,  # type: ignore[attr-defined]
                      api_key="s3cret").start()
    yield srv
    srv.shutdown()
    srv.server_close()


def client(server: ModelServer, key: str = "s3cret") -> openai.OpenAI:
    return openai.OpenAI(base_url=server.url, api_key=key, max_retries=0, timeout=120)


@pytest.mark.local_model
def test_chat_completion_and_models(server: ModelServer) -> None:
    c = client(server)
    assert [m.id for m in c.models.list().data] == ["qwen2.5-coder-0.5b"]
    done = c.chat.completions.create(
        model="qwen2.5-coder-0.5b", max_tokens=12, temperature=0,
        messages=[{"role": "user", "content": "What is 3+4? Answer with a number."}])
    assert "7" in (done.choices[0].message.content or "")
    assert done.usage is not None and done.usage.prompt_tokens > 0
    assert done.usage.completion_tokens > 0


@pytest.mark.local_model
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


@pytest.mark.local_model
def test_a_wrong_key_and_a_bad_body_get_clear_errors(server: ModelServer) -> None:
    with pytest.raises(openai.AuthenticationError, match="API key"):
        client(server, key="wrong").models.list()
    with pytest.raises(openai.BadRequestError, match="messages"):
        client(server).chat.completions.create(model="m", messages=[])


@pytest.mark.local_model
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


# --- no model needed --------------------------------------------------------------------


class StandIn:
    """A runtime that records what it was asked and answers "ok"."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def chat(self, messages: list[dict[str, str]], **kwargs: Any) -> Generation:
        self.calls.append({"messages": messages, **kwargs})
        return Generation("ok", 3, 0, 1, "stop", 0.0)


@pytest.fixture
def stand_in() -> Iterator[tuple[ModelServer, StandIn]]:
    runtime = StandIn()
    srv = ModelServer(runtime, "m", port=0).start()  # type: ignore[arg-type]
    yield srv, runtime
    srv.shutdown()
    srv.server_close()


@pytest.mark.parametrize(("field", "value"), [
    ("temperature", "hot"), ("temperature", 7), ("temperature", True),
    ("max_tokens", "abc"), ("max_tokens", 0), ("max_tokens", 2.5),
    ("stop", 123), ("stop", [1, 2]), ("stop", ["a", "b", "c", "d", "e"]),
])
def test_a_bad_field_gets_a_400_in_openais_shape(stand_in: tuple[ModelServer, StandIn],
                                                field: str, value: object) -> None:
    srv, runtime = stand_in
    client = openai.OpenAI(base_url=srv.url, api_key="none", timeout=30)  # its own retries on
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}],
                                       **{field: value})  # type: ignore[call-overload]
    assert info.value.status_code == 400
    assert info.value.param == field and info.value.type == "invalid_request_error"
    assert f"'{field}'" in info.value.message
    assert runtime.calls == []  # refused before any generation


def test_good_fields_reach_the_runtime(stand_in: tuple[ModelServer, StandIn]) -> None:
    srv, runtime = stand_in
    client = openai.OpenAI(base_url=srv.url, api_key="none", max_retries=0, timeout=30)
    done = client.chat.completions.create(model="m", temperature=0.5, max_tokens=7, stop="END",
                                          messages=[{"role": "user", "content": "hi"}])
    assert done.choices[0].message.content == "ok"
    assert runtime.calls[0]["temperature"] == 0.5 and runtime.calls[0]["max_tokens"] == 7
    assert runtime.calls[0]["stop"] == ["END"]


MISSING = "local/no/such/model.gguf"  # refused before the model is looked for


@pytest.mark.parametrize(("option", "value", "says"), [
    ("--port", "-1", "--port -1 is not a TCP port"),
    ("--port", "70000", "--port 70000 is not a TCP port"),
    ("--slots", "0", "--slots 0"),
    ("--n-ctx", "0", "--n-ctx 0 is too small"),
])
def test_bad_settings_are_refused_in_one_line_before_loading(
        capsys: pytest.CaptureFixture[str], option: str, value: str, says: str) -> None:
    assert main(["serve-model", MISSING, option, value]) == 1
    err = capsys.readouterr().err.strip()
    assert says in err and len(err.splitlines()) == 1, err
    assert "Traceback" not in err and "GGUF" not in err


def test_a_busy_port_is_refused_in_one_line_before_loading(
        capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        assert main(["serve-model", MISSING, "--port", str(port)]) == 1
    err = capsys.readouterr().err.strip()
    assert f"port {port} on 127.0.0.1 is already in use" in err and len(err.splitlines()) == 1
    assert "GGUF" not in err


def test_the_server_refuses_a_port_out_of_range() -> None:
    with pytest.raises(ConfigError, match="not a TCP port"):
        ModelServer(None, "m", port=-1)

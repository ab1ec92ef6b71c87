"""Each native wire driven through its real SDK against a loopback server speaking it."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Iterator

import pytest

from rlm_toolkit.errors import (
    AuthenticationError,
    ProviderError,
    ProviderResponseError,
    ProviderUnreachable,
)
from rlm_toolkit.providers import resolve
from rlm_toolkit.providers.base import CompletionOptions, Message
from rlm_toolkit.providers.resilience import ResiliencePolicy
from rlm_toolkit.testing.servers import Fault

from .wires import WIRES, Wire, fast, wire_params

PROMPT: list[Message] = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "Say hello to the test suite, please."},
]


def call(wire: Wire, srv, options: CompletionOptions | None = None, **kw):
    if kw.get("resilience") is False:
        kw["max_retries"] = 0  # the SDK's own retries would hide the fault
    provider = resolve(wire.spec, base_url=srv.base_url, api_key="test-key", **kw)

    async def go():
        try:
            return await provider.complete(PROMPT, options or CompletionOptions())
        finally:
            await provider.aclose()

    return asyncio.run(go())


@wire_params
def test_plain_completion_text_usage_and_free_on_loopback(wire: Wire) -> None:
    with wire.server(["Hello, suite."]) as srv:
        out = call(wire, srv, resilience=False)
    assert out.text == "Hello, suite."
    assert out.usage.input_tokens > 0 and out.usage.output_tokens > 0
    assert out.cost == 0.0
    assert out.finish_reason
    assert srv.attempts == 1
    assert "Say hello to the test suite" in srv.prompt_texts()[0]
    assert "You are terse." in srv.prompt_texts()[0]


@wire_params
def test_streaming_reaches_on_token_in_pieces(wire: Wire) -> None:
    tokens: list[str] = []
    reply = "A streamed reply that spans several chunks of eight characters."
    with wire.server([reply]) as srv:
        out = call(wire, srv, CompletionOptions(on_token=tokens.append), resilience=False)
    assert out.text == reply
    assert "".join(tokens) == reply and len(tokens) > 3
    assert out.usage.output_tokens > 0


@wire_params
def test_rate_limit_maps_to_retryable_error_with_retry_after(wire: Wire) -> None:
    with wire.server(["unused"], faults=[Fault.http(429, retry_after=7)]) as srv, \
            pytest.raises(ProviderError) as info:
        call(wire, srv, resilience=False)
    assert info.value.status == 429 and info.value.retryable
    if wire.name != "ollama":  # the ollama client does not expose response headers
        assert info.value.retry_after == 7
    assert "429" in str(info.value)


@wire_params
def test_client_errors_are_permanent_and_say_what_to_check(wire: Wire) -> None:
    with wire.server(["unused"], faults=[Fault.http(404, message="model not found")]) as srv, \
            pytest.raises(ProviderError) as info:
        call(wire, srv, resilience=False)
    assert not info.value.retryable and info.value.status == 404
    assert "model name" in str(info.value)
    with wire.server(["unused"], faults=[Fault.http(401, message="bad key")]) as srv, \
            pytest.raises(ProviderError) as info:
        call(wire, srv, resilience=False)
    assert info.value.status == 401 and not info.value.retryable
    if wire.name != "ollama":
        assert isinstance(info.value, AuthenticationError)


@wire_params
@pytest.mark.parametrize("fault", [Fault.reset(), Fault.malformed(), Fault.cut(),
                                   Fault.http(500), Fault.http(503)],
                         ids=["reset", "malformed", "cut", "500", "503"])
def test_transient_faults_are_retryable_errors(wire: Wire, fault: Fault) -> None:
    with wire.server(["unused"] * 2, faults=[fault]) as srv, \
            pytest.raises(ProviderError) as info:
        call(wire, srv, resilience=False)
    assert info.value.retryable, str(info.value)


@wire_params
def test_resilient_call_survives_every_transient_fault_in_a_row(wire: Wire) -> None:
    faults = [Fault.http(429, retry_after=0), Fault.http(500), Fault.http(503), Fault.reset(),
              Fault.malformed(), Fault.cut()]
    with wire.server(lambda body: "finally", faults=faults) as srv:
        out = call(wire, srv, resilience=fast(max_retries=6))
    assert out.text == "finally"
    assert srv.attempts == len(faults) + 1


@wire_params
def test_cut_stream_is_retried_without_repeating_tokens(wire: Wire) -> None:
    tokens: list[str] = []
    reply = "one two three four five six seven eight nine ten"
    with wire.server(lambda body: reply, faults=[Fault.cut()]) as srv:
        out = call(wire, srv, CompletionOptions(on_token=tokens.append), resilience=fast())
    assert out.text == reply
    assert "".join(tokens) == reply
    assert srv.attempts == 2


@wire_params
def test_slow_server_times_out_then_the_retry_succeeds(wire: Wire) -> None:
    with wire.server(lambda body: "in time", faults=[Fault.delay(3.0)]) as srv:
        out = call(wire, srv, resilience=fast(timeout_s=0.5))
    assert out.text == "in time"
    assert srv.attempts == 2


@wire_params
def test_sdk_retries_are_off_when_wrapped(wire: Wire) -> None:
    """Retries are counted once: a permanent 503 costs exactly 1 + max_retries attempts."""
    with wire.server(["x"], faults=[Fault.http(503)] * 10) as srv, \
            pytest.raises(ProviderError) as info:
        call(wire, srv, resilience=fast(max_retries=2))
    assert srv.attempts == 3
    assert "gave up after 3 attempts" in str(info.value)


@wire_params
def test_unreachable_server_is_a_clear_error(wire: Wire) -> None:
    provider = resolve(wire.spec, base_url="http://127.0.0.1:9", api_key="k", resilience=False,
                       max_retries=0)
    with pytest.raises(ProviderUnreachable) as info:
        asyncio.run(provider.complete(PROMPT, CompletionOptions()))
    assert "127.0.0.1:9" in str(info.value)


@wire_params
@pytest.mark.parametrize("stream", [False, True], ids=["body", "stream"])
def test_a_reply_cut_mid_body_is_reported_as_cut(wire: Wire, stream: bool) -> None:
    options = CompletionOptions(on_token=lambda t: None) if stream else None
    with wire.server(["a reply long enough to be cut in half"], faults=[Fault.cut()]) as srv, \
            pytest.raises(ProviderResponseError) as info:
        call(wire, srv, options, resilience=False)
    message = str(info.value)
    assert not isinstance(info.value, ProviderUnreachable)
    assert "Is the server running" not in message
    assert info.value.retryable
    assert "cut off mid-body" in message, message


@wire_params
def test_a_server_that_accepts_and_never_answers_times_out(wire: Wire) -> None:
    """The loopback server takes the connection and reads the request, then says nothing."""
    with silent_server() as url, pytest.raises(ProviderError) as info:
        provider = resolve(wire.spec, base_url=url + wire.server.url_suffix, api_key="k",
                           resilience=ResiliencePolicy(timeout_s=0.3, total_timeout_s=5,
                                                       max_retries=1, base_delay_s=0.01))
        asyncio.run(provider.complete(PROMPT, CompletionOptions()))
    assert info.value.status == 408 and info.value.retryable
    assert "timed out after 0.3s" in str(info.value)
    assert "gave up after 2 attempts" in str(info.value)


@contextlib.contextmanager
def silent_server() -> Iterator[str]:
    """A TCP server on 127.0.0.1 that accepts every connection and never writes a byte."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    sock.settimeout(0.05)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            held.append(conn)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(timeout=5)
        for conn in held:
            conn.close()
        sock.close()


@pytest.mark.parametrize("wire", [w for w in WIRES if w.name != "gemini"],
                         ids=lambda w: w.name)  # Gemini's SDK has one timeout for everything
def test_a_host_that_takes_no_connections_fails_on_the_connect_timeout(wire: Wire) -> None:
    """A listener whose accept queue is full: the client's connection is never completed."""
    with full_listener() as url, pytest.raises(ProviderUnreachable) as info:
        provider = resolve(wire.spec, base_url=url + wire.server.url_suffix, api_key="k",
                           resilience=False, max_retries=0, connect_timeout_s=0.2,
                           timeout_s=600)
        asyncio.run(provider.complete(PROMPT, CompletionOptions()))
    assert "within the connect timeout" in str(info.value)
    assert url in str(info.value)


@contextlib.contextmanager
def full_listener() -> Iterator[str]:
    """A socket on 127.0.0.1 that listens but never accepts, its queue filled by others."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(0)
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    fillers = []
    for _ in range(4):
        filler = socket.socket()
        filler.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            filler.connect(sock.getsockname())
        fillers.append(filler)
    try:
        yield url
    finally:
        for filler in fillers:
            filler.close()
        sock.close()


@wire_params
def test_a_reply_that_is_not_json_is_a_response_error_not_unreachable(wire: Wire) -> None:
    with wire.server(["unused"], faults=[Fault.malformed()]) as srv, \
            pytest.raises(ProviderResponseError) as info:
        call(wire, srv, resilience=False)
    assert info.value.retryable and "Is the server running" not in str(info.value)

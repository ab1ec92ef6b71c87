"""The channel's format: one frame limit on both sides, big messages cut into frames, one
definition of each frame's shape, and untrusted text made safe when it is decoded."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import pytest

from rlm_toolkit.errors import FrameError, RLMError
from rlm_toolkit.sandbox import Worker, WorkerOptions
from rlm_toolkit.sandbox.worker import channel, frames
from rlm_toolkit.sandbox.worker.repl import Repl

from .conftest import TIERS


async def _no_calls(method: str, args: dict[str, Any]) -> Any:
    raise AssertionError(f"unexpected call {method}")


def _split(stream: list[bytes | memoryview]) -> list[tuple[int, bytes]]:
    """(kind, body) of each frame in the bytes written for a message."""
    data = b"".join(bytes(b) for b in stream)
    out = []
    while data:
        kind, size = channel.HEADER.unpack(data[:channel.HEADER.size])
        body, data = data[channel.HEADER.size:][:size], data[channel.HEADER.size + size:]
        assert len(body) == size
        out.append((kind, body))
    return out


@pytest.mark.parametrize("sandbox", ["unsafe-local", *TIERS])
def test_the_worker_reads_with_the_hosts_frame_and_message_limits(sandbox: str) -> None:
    code = ("ch = llm.__self__._call.channel\n"
            "print(ch.max_frame, ch.max_message)")

    async def main() -> str:
        options = WorkerOptions(sandbox=sandbox, max_frame_bytes=1 << 20,
                                max_message_bytes=3 << 20)
        async with Worker("ctx", options) as worker:
            return (await worker.execute(code, _no_calls)).stdout.strip()

    assert asyncio.run(main()) == f"{1 << 20} {3 << 20}"
    assert WorkerOptions().max_frame_bytes == channel.MAX_FRAME_BYTES
    assert WorkerOptions().max_message_bytes == channel.MAX_MESSAGE_BYTES


def test_a_message_over_the_frame_limit_crosses_in_frames_under_it() -> None:
    limit = 1000
    message = {"op": "call", "id": 1, "args": {"prompts": ["é" * 1500, "x" * 2500]}}
    blobs = [b"\x00\xff" * 1700, b""]
    parts = _split(list(channel.frames(message, blobs, limit)))
    assert all(len(body) <= limit for _, body in parts)
    assert len(parts) > 8
    assembler = channel.Assembler()
    done = [assembler.feed(kind, body) for kind, body in parts]
    assert done[:-1] == [None] * (len(parts) - 1)
    assert done[-1] == (message, blobs)


def test_a_message_over_the_message_limit_is_refused_before_it_is_held() -> None:
    parts = _split(list(channel.frames({"op": "x", "text": "y" * 5000}, (), 1000)))
    assembler = channel.Assembler(max_message=3000)
    with pytest.raises(channel.FrameError, match="over the limit"):
        for kind, body in parts:
            assembler.feed(kind, body)


def test_a_frame_over_the_limit_or_of_an_unknown_kind_is_refused() -> None:
    with pytest.raises(channel.FrameError, match="over the 100-byte limit"):
        channel.check_header(channel.HEADER.pack(channel.LAST, 101), 100)
    with pytest.raises(channel.FrameError, match="unknown frame kind"):
        channel.check_header(b"\x00\x00\x00\x10\x00", 100)


def test_frame_errors_the_host_raises_are_rlm_errors() -> None:
    assert issubclass(FrameError, RLMError)


def test_lone_surrogates_nuls_and_bad_utf8_are_made_safe_everywhere_in_a_frame() -> None:
    raw = (b'{"op": "result", "stdout": "a\\udfffb\\u0000c", '
           b'"vars": {"k\\ud800": ["\\udc00", {"deep": "\\u0000"}]}}')
    message = channel.decode(raw)
    assert message == {"op": "result", "stdout": "a\ufffdb\ufffdc",
                       "vars": {"k\ufffd": ["\ufffd", {"deep": "\ufffd"}]}}
    assert channel.decode(b'{"op": "x", "t": "\xff\xfeok"}')["t"] == "\ufffd\ufffdok"
    json.dumps(message, ensure_ascii=False).encode("utf-8")  # storable as UTF-8 now


def test_a_deep_structure_is_made_safe_without_recursion() -> None:
    depth = 900
    raw = ('{"op": "x", "v": ' + "[" * depth + '"\\udfff"' + "]" * depth + "}").encode()
    value = channel.decode(raw)["v"]
    for _ in range(depth):
        value = value[0]
    assert value == "\ufffd"


def test_text_with_lone_surrogates_is_encoded_not_refused() -> None:
    (kind, body), = _split(list(channel.frames({"op": "x", "t": "a\udfff"})))
    assert kind == channel.LAST and json.loads(body) == {"op": "x", "t": "a\ufffd"}
    assert channel.encode_value("b\ud800") == ("str", "b\ufffd".encode())


def _fits(frame: Any, shape: Any) -> bool:
    """Whether `frame` has every key `shape` requires and no key it does not know."""
    keys = set(frame)
    return set(shape.__required_keys__) <= keys <= (
        set(shape.__required_keys__) | set(shape.__optional_keys__))


def test_the_frames_the_worker_builds_have_the_shared_shapes() -> None:
    repl = Repl("ctx", lambda method, args, attachments=(): None)
    result = repl.run("x = 1\nprint(x)", 7)
    assert _fits(result, frames.ResultFrame) and result["id"] == 7
    assert _fits(result["answer"], frames.AnswerField)
    assert _fits(repl.run("FINAL('x')"), frames.ResultFrame)
    assert _fits(repl.resolve("x"), frames.ValueFrame)
    assert _fits(repl.resolve("nope"), frames.ValueFrame)


OVER_THE_LIMIT = """
kept = 'still here'
for ask in (lambda: llm_batch(['x' * 600_000] * 2), lambda: llm_batch(['short', 'short'])):
    try:
        ask()
    except (ValueError, RuntimeError) as exc:
        print(type(exc).__name__, str(exc).split(':')[0])
"""


@pytest.mark.parametrize("sandbox", ["unsafe-local", *TIERS])
def test_a_message_over_the_limit_is_refused_with_a_python_error_not_a_restart(
        sandbox: str) -> None:
    calls: list[int] = []

    async def big_answers(method: str, args: dict[str, Any]) -> Any:
        calls.append(len(args["prompts"]))
        return ["y" * 600_000 for _ in args["prompts"]]

    async def main() -> tuple[str, str]:
        options = WorkerOptions(sandbox=sandbox, max_message_bytes=1 << 20)
        async with Worker("ctx", options) as worker:
            step = await worker.execute(OVER_THE_LIMIT, big_answers)
            assert step.lost_state is None, step
            return step.stdout, (await worker.execute("print(kept)", _no_calls)).stdout

    out, kept = asyncio.run(main())
    first, second = out.splitlines()
    limit = r" is 1,2\d\d,\d\d\d bytes, over the channel's limit of 1,048,576 bytes per message"
    assert re.fullmatch("ValueError this request" + limit, first), first
    assert re.fullmatch("RuntimeError the answer" + limit, second), second
    assert calls == [2]  # the first batch never reached the host
    assert kept == "still here\n"

"""Entry point of the REPL worker process: `python -I main.py`.

Protocol on the inherited pipes (fd 0 in, fd 1 out), moved aside at start so stray writes to
stdout/stderr cannot corrupt it. The host sends `init` once, then `exec`/`resolve` requests;
LLM calls go back to the host as `call` frames and block until the host answers.
"""

from __future__ import annotations

import json
import mmap
import os
import sys
import threading
from collections.abc import Sequence
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from worker.channel import FdChannel
from worker.folder_view import folder_view
from worker.frames import CallFrame, ReadyFrame
from worker.repl import BudgetExhausted, Repl


def _take_protocol_fds() -> FdChannel:
    read_fd, write_fd = os.dup(0), os.dup(1)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(2, 1)  # stray fd-level writes go to stderr, which the host drains and bounds
    os.close(devnull)
    return FdChannel(read_fd, write_fd)


def _load_context(init: dict[str, Any]) -> Any:
    kind, size = init["context_kind"], init["context_size"]
    path = init.get("context_path")  # Windows: a read-only file by name, not a descriptor
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0)) if path else init["context_fd"]
    try:
        if size == 0:
            raw = b""
        else:
            with mmap.mmap(fd, size, access=mmap.ACCESS_READ) as view:
                raw = view[:]
    finally:
        os.close(fd)
    if kind == "str":
        return raw.decode("utf-8")
    if kind == "bytes":
        return raw
    return json.loads(raw)


class HostCaller:
    """Sends `call` frames to the host and waits for the matching reply."""

    def __init__(self, channel: FdChannel) -> None:
        self.channel = channel
        self.lock = threading.Lock()
        self.next_id = 0

    def __call__(self, method: str, args: dict[str, Any],
                 attachments: Sequence[tuple[str, bytes]] = ()) -> Any:
        with self.lock:
            self.next_id += 1
            call: CallFrame = {"op": "call", "id": self.next_id, "method": method, "args": args}
            if attachments:
                call["attachments"] = [kind for kind, _ in attachments]
            self.channel.send(call, [data for _, data in attachments])
            reply = self.channel.recv()
            expected = self.next_id
        if reply.get("op") != "reply" or reply.get("id") != expected:
            raise RuntimeError("the host sent an unexpected reply")
        if reply.get("budget_exhausted"):
            raise BudgetExhausted(reply.get("error", "the run's budget is spent"))
        if "error" in reply:
            raise RuntimeError(reply["error"])
        return reply["value"]


def main() -> None:
    channel = _take_protocol_fds()
    init = channel.recv()
    channel.max_frame = int(init.get("max_frame_bytes", channel.max_frame))
    channel.max_message = int(init.get("max_message_bytes", channel.max_message))
    if init.get("lockdown"):
        from worker.lockdown import apply

        apply(init["lockdown"])
    caller = HostCaller(channel)
    context = folder_view(_load_context(init), caller)  # a folder: files read on demand
    repl = Repl(context, caller, capture_limit=init.get("capture_limit", 1_000_000),
                memory=bool(init.get("memory")))
    ready: ReadyFrame = {"op": "ready", "pid": os.getpid(), "context_len": len(context)}
    channel.send(ready)
    while True:
        try:
            msg = channel.recv()
        except EOFError:
            return
        op = msg.get("op")
        if op == "exec":
            channel.send(repl.run(msg["code"], msg.get("id")))
        elif op == "resolve":
            channel.send(repl.resolve(msg["name"]))
        elif op == "shutdown":
            return
        else:
            channel.send({"op": "error", "error": f"unknown op {op!r}"})


if __name__ == "__main__":
    main()

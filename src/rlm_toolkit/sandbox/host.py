"""The host's handle on one REPL worker process.

The host starts the worker, sends it code, serves its LLM requests through a handler the engine
gives, and enforces what the worker cannot change: the per-step timeout (the worker's own time;
time spent serving its LLM calls does not count), frame and output caps, and a quota on its
scratch directory. A worker that hangs, crashes, floods, fills its scratch or speaks garbage is
killed and restarted with the context reloaded.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from ..errors import BudgetExceeded, SandboxError
from .blob import ContextBlob
from .launch import LaunchPlan, ensure_scratch, plan_launch
from .quota import MIB, empty_dir, over_quota, scratch_usage
from .worker.channel import HEADER, FrameError, decode, encode

CallHandler = Callable[[str, dict[str, Any]], Awaitable[Any]]
STDERR_TAIL = 8192
START_TIMEOUT_S = 60.0


@dataclass
class StepResult:
    """What one code step produced, as the host saw it."""

    stdout: str = ""
    stderr: str = ""
    error: str | None = None
    final: dict[str, Any] | None = None
    answer: dict[str, Any] = field(default_factory=lambda: {"content": "", "ready": False})
    restored: list[str] = field(default_factory=list)
    vars: dict[str, str] = field(default_factory=dict)
    dropped_chars: int = 0
    elapsed_s: float = 0.0
    lost_state: str | None = None  # why the worker was restarted (timeout, crash, ...)


@dataclass
class WorkerOptions:
    """Limits the host enforces on the worker."""

    sandbox: str = "auto"
    step_timeout_s: float = 60.0
    capture_limit: int = 1_000_000
    max_frame_bytes: int = 16 * 1024 * 1024
    memory_limit_mb: int | None = None
    memory: bool = False  # give the REPL a `memory` object served by the host
    scratch_limit_mb: int = 1024  # bytes on disk the worker may keep in its scratch dir
    scratch_max_files: int = 100_000  # entries it may create there
    scratch_poll_s: float = 0.25  # how often the host measures the scratch dir


class Worker:
    """One persistent worker holding one context. Use as an async context manager."""

    def __init__(self, context: Any, options: WorkerOptions | None = None) -> None:
        self.options = options or WorkerOptions()
        self._blob = ContextBlob.from_value(context)
        self._scratch = ensure_scratch()
        self.plan: LaunchPlan = plan_launch(
            self.options.sandbox, self._scratch, self.options.memory_limit_mb
        )
        self._proc: asyncio.subprocess.Process | None = None
        self._stderr_tail = bytearray()
        self._stderr_task: asyncio.Task[None] | None = None
        self._watch_task: asyncio.Task[None] | None = None
        self._overflow: str | None = None  # why the quota watcher stopped the worker
        self._step_id = 0
        self.restarts = 0

    @property
    def tier(self) -> str:
        return self.plan.tier

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    async def __aenter__(self) -> Worker:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # --- lifecycle --------------------------------------------------------------------
    async def start(self) -> None:
        plan = self.plan
        try:
            self._proc = await asyncio.create_subprocess_exec(
                *plan.argv,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env=plan.env,
                cwd=plan.cwd,
                pass_fds=self._blob.pass_fds,
                start_new_session=True,
            )
        except OSError as exc:
            raise SandboxError(f"could not start the REPL worker ({plan.tier}): {exc}") from exc
        self._stderr_tail.clear()
        self._stderr_task = asyncio.create_task(self._drain_stderr(self._proc))
        self._watch_task = asyncio.create_task(self._watch_scratch(self._proc))
        init = {
            "op": "init",
            **self._blob.init_fields(),
            "capture_limit": self.options.capture_limit,
            "lockdown": plan.lockdown,
            "memory": self.options.memory,
        }
        try:
            await self._send(init)
            ready = await asyncio.wait_for(self._recv(), START_TIMEOUT_S)
        except (TimeoutError, EOFError, FrameError, ConnectionError) as exc:
            detail = self.stderr_tail() or str(exc) or type(exc).__name__
            await self._kill()
            raise SandboxError(f"the REPL worker ({plan.tier}) failed to start: {detail}") from exc
        if ready.get("op") != "ready":
            await self._kill()
            raise SandboxError(f"the REPL worker sent {ready.get('op')!r} instead of 'ready'")

    async def restart(self) -> None:
        await self._kill()
        if self._overflow is not None:  # the files over the quota go; a restart starts clean
            await asyncio.to_thread(empty_dir, self._scratch)
            self._overflow = None
        self.restarts += 1
        await self.start()

    async def close(self) -> None:
        if self._proc is not None and self._proc.returncode is None:
            with contextlib.suppress(Exception):
                await self._send({"op": "shutdown"})
                await asyncio.wait_for(self._proc.wait(), 0.5)
        await self._kill()
        self._blob.close()
        shutil.rmtree(self._scratch, ignore_errors=True)

    async def _kill(self) -> None:
        proc, self._proc = self._proc, None
        if self._watch_task is not None:
            self._watch_task.cancel()
            self._watch_task = None
        if proc is None:
            return
        if proc.returncode is None and hasattr(os, "killpg"):  # POSIX: the whole group
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
        await proc.wait()
        if self._stderr_task is not None:
            with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(self._stderr_task, 1.0)
        for stream in (proc.stdin,):
            if stream is not None:
                stream.close()

    # --- framing ----------------------------------------------------------------------
    async def _send(self, message: dict[str, Any]) -> None:
        assert self._proc is not None and self._proc.stdin is not None
        self._proc.stdin.write(encode(message))
        await self._proc.stdin.drain()

    async def _recv(self) -> dict[str, Any]:
        assert self._proc is not None and self._proc.stdout is not None
        try:
            header = await self._proc.stdout.readexactly(HEADER.size)
            (size,) = HEADER.unpack(header)
            if size > self.options.max_frame_bytes:
                raise FrameError(f"the worker sent a {size}-byte frame, over the limit")
            body = await self._proc.stdout.readexactly(size)
        except asyncio.IncompleteReadError:
            raise EOFError("the worker closed its channel") from None
        return decode(body)

    async def _drain_stderr(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stderr is not None
        while chunk := await proc.stderr.read(65536):
            self._stderr_tail += chunk
            del self._stderr_tail[:-STDERR_TAIL]

    async def _watch_scratch(self, proc: asyncio.subprocess.Process) -> None:
        """Stop the worker (its whole process group) once its scratch dir breaks the quota."""
        limit = self.options.scratch_limit_mb * MIB
        most = self.options.scratch_max_files
        while proc.returncode is None:
            await asyncio.sleep(self.options.scratch_poll_s)
            usage = await asyncio.to_thread(scratch_usage, self._scratch, limit, most)
            reason = over_quota(usage, limit, most)
            if reason and proc.returncode is None:
                self._overflow = reason
                if hasattr(os, "killpg"):
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        os.killpg(proc.pid, signal.SIGKILL)
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                return

    def stderr_tail(self) -> str:
        return self._stderr_tail.decode("utf-8", "replace").strip()

    # --- steps ------------------------------------------------------------------------
    async def execute(self, code: str, handler: CallHandler) -> StepResult:
        """Run one code step, serving the worker's LLM calls through `handler`."""
        if self._proc is None:
            await self.start()
        self._step_id += 1
        started = time.perf_counter()
        left = self.options.step_timeout_s
        try:
            await self._send({"op": "exec", "id": self._step_id, "code": code})
            while True:
                t0 = time.monotonic()
                msg = await asyncio.wait_for(self._recv(), max(left, 0.001))
                left -= time.monotonic() - t0
                op = msg.get("op")
                if op == "call":
                    await self._send(await self._serve(msg, handler))
                elif op == "result":
                    if msg.get("id") != self._step_id:
                        raise FrameError("a result frame for another step")
                    return self._step_result(msg)
                else:
                    raise FrameError(f"unexpected frame {op!r} during a step")
        except TimeoutError:
            reason = (
                f"the step ran longer than step_timeout_s={self.options.step_timeout_s:g}s and "
                "was stopped"
            )
        except (EOFError, ConnectionError):
            reason = f"the worker died during the step ({self._exit_detail()})"
        except FrameError as exc:
            reason = f"the worker broke the protocol ({exc})"
        await self.restart()
        return StepResult(
            error=f"{reason}. The REPL was restarted: `context` is reloaded, but every variable "
            "you defined is lost.",
            elapsed_s=time.perf_counter() - started,
            lost_state=reason,
        )

    def _exit_detail(self) -> str:
        if self._overflow is not None:
            return f"stopped: {self._overflow}; its scratch files are removed"
        code = self._proc.returncode if self._proc else None
        if code is not None and code < 0:
            with contextlib.suppress(ValueError):
                return f"killed by {signal.Signals(-code).name}"
        return f"exit code {code}" if code is not None else "channel closed"

    async def _serve(self, msg: dict[str, Any], handler: CallHandler) -> dict[str, Any]:
        reply: dict[str, Any] = {"op": "reply", "id": msg.get("id")}
        method, args = msg.get("method"), msg.get("args")
        if not isinstance(method, str) or not isinstance(args, dict):
            reply["error"] = "malformed call"
            return reply
        try:
            reply["value"] = await handler(method, args)
        except BudgetExceeded as exc:
            reply["budget_exhausted"] = True
            reply["error"] = str(exc)
        except Exception as exc:
            reply["error"] = f"{type(exc).__name__}: {exc}"
        return reply

    @staticmethod
    def _step_result(msg: dict[str, Any]) -> StepResult:
        """The step's result; FrameError if the worker sent fields of the wrong shape."""
        answer, restored, found = msg.get("answer"), msg.get("restored", []), msg.get("vars")
        error = msg.get("error")
        try:
            if not isinstance(restored, list) or not isinstance(found or {}, dict) or not (
                    error is None or isinstance(error, str)):
                raise TypeError("restored, vars or error has the wrong type")
            return StepResult(
                stdout=str(msg.get("stdout", "")),
                stderr=str(msg.get("stderr", "")),
                error=error,
                final=msg.get("final") if isinstance(msg.get("final"), dict) else None,
                answer=answer if isinstance(answer, dict) else {"content": "", "ready": False},
                restored=[str(x) for x in restored],
                vars={str(k): str(v) for k, v in (found or {}).items()},
                dropped_chars=int(msg.get("dropped_chars", 0)),
                elapsed_s=float(msg.get("elapsed", 0.0)),
            )
        except (TypeError, ValueError, OverflowError) as exc:
            raise FrameError(f"malformed result frame: {exc}") from None

    async def resolve(self, name: str) -> str | None:
        """The text value of a REPL variable, or None when it does not exist."""
        if self._proc is None:
            return None
        try:
            await self._send({"op": "resolve", "name": name})
            msg = await asyncio.wait_for(self._recv(), self.options.step_timeout_s)
        except (TimeoutError, EOFError, FrameError, ConnectionError):
            await self.restart()
            return None
        return msg.get("value") if msg.get("found") else None

"""The host's handle on one REPL worker process.

The host starts the worker, sends it code, serves its LLM requests through a handler the engine
gives, and enforces what the worker cannot change: the per-step timeout (the worker's own time;
time spent serving its LLM calls does not count), the step's CPU time (every thread and child
of the worker, counted while its LLM calls are served too), frame, message and output caps, a
deadline on every write to the worker, and a quota on its scratch directory. A worker seen
using the CPU between steps is stopped (SIGSTOP) until the next step, and after every later
step. A worker that hangs, crashes, floods, stops reading, fills its scratch or speaks garbage is killed and
restarted with the context reloaded. Everything the worker sends is untrusted: it is checked
for shape and its text made safe (no lone surrogates, no NULs) before anyone else sees it.
"""

from __future__ import annotations

import asyncio
import compileall
import contextlib
import os
import shutil
import signal
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from ..errors import BudgetExceeded, FrameError, SandboxError
from . import proctree
from .blob import ContextBlob, received_context
from .launch import LaunchPlan, ensure_scratch, plan_launch
from .plan import WORKER_DIR
from .quota import MIB, empty_dir, over_quota, scratch_usage, scrub_scratch
from .worker import channel
from .worker.frames import AnswerField, ExecFrame, InitFrame, ReplyFrame

CallHandler = Callable[[str, dict[str, Any]], Awaitable[Any]]
STDERR_TAIL = 8192
START_TIMEOUT_S = 60.0
KILL_WAIT_S = 10.0  # how long to wait for a SIGKILLed worker to be reaped
VAR_CHARS = 2000  # the longest description of one variable the host keeps
MAX_VARS = 50
MAX_RESTORED = 64  # the most names a step can report as restored
IDLE_CPU_S = 0.02  # more CPU than this while no step runs means something runs in the back


def cache_worker_bytecode() -> None:
    """Compile the worker's modules into its __pycache__, as installing the package does.

    The worker never writes bytecode (`python -B`, and no jail may write beside its code), so
    without this it compiles all its modules at every start. Up to date, this is a few stats; a
    folder the host cannot write is left as it is.
    """
    with contextlib.suppress(OSError):
        compileall.compile_dir(str(WORKER_DIR), maxlevels=0, quiet=2)


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
    cite: list[dict[str, Any]] | None = None  # the final answer's citations, as the worker sent


@dataclass
class WorkerOptions:
    """Limits the host enforces on the worker."""

    sandbox: str = "auto"
    step_timeout_s: float = 60.0  # the step's own wall time, and its CPU time
    capture_limit: int = 1_000_000
    max_frame_bytes: int = channel.MAX_FRAME_BYTES  # one frame; the worker gets the same
    max_message_bytes: int = channel.MAX_MESSAGE_BYTES  # one message with its attachments
    write_timeout_s: float = 30.0  # a write the worker does not read by then kills it
    memory_limit_mb: int | None = None
    memory: bool = False  # give the REPL a `memory` object served by the host
    scratch_limit_mb: int = 1024  # bytes on disk the worker may keep in its scratch dir
    scratch_max_files: int = 100_000  # entries it may create there
    scratch_poll_s: float = 0.25  # how often the host measures the scratch dir
    cpu_poll_s: float = 0.25  # how often the host reads the worker's CPU time
    pause_between_steps: bool = True  # SIGSTOP a worker that uses the CPU while no step runs


class _Stalled(Exception):
    """The worker did not read what the host wrote before the deadline."""


class Worker:
    """One persistent worker holding one context. Use as an async context manager."""

    def __init__(self, context: Any, options: WorkerOptions | None = None) -> None:
        self.options = options or WorkerOptions()
        if self.options.sandbox != "unsafe-local":  # refuse before opening anything
            from .jail.detect import choose_tier

            choose_tier(self.options.sandbox)
        scratch = ensure_scratch()
        try:
            self.plan: LaunchPlan = _plan(self.options, scratch)
            self._blob = ContextBlob.from_value(context)
        except BaseException:
            shutil.rmtree(scratch, ignore_errors=True)
            raise
        self._scratch = scratch
        self._proc: asyncio.subprocess.Process | None = None
        self._pids: list[int] = []  # the worker's process tree, parents first
        self._running = False  # a step (or start-up) is in progress
        self._stopped = False  # the worker's processes are stopped (SIGSTOP) between steps
        self._pause_eagerly = False  # it used the CPU between steps: stop it after each step
        self._stderr_tail = bytearray()
        self._stderr_task: asyncio.Task[None] | None = None
        self._watch_task: asyncio.Task[None] | None = None
        self._cpu_task: asyncio.Task[None] | None = None
        self._serving: asyncio.Task[Any] | None = None  # the task serving a call, if any
        self._overflow: str | None = None  # why the quota watcher stopped the worker
        self._cpu_over: str | None = None  # why the CPU watcher stopped the worker
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
        await asyncio.to_thread(cache_worker_bytecode)
        self._proc = await self._spawn(plan)
        self._pids = [self._proc.pid]
        self._running, self._stopped, self._pause_eagerly = True, False, False
        self._cpu_over = None
        self._stderr_tail.clear()
        self._stderr_task = asyncio.create_task(self._drain_stderr(self._proc))
        self._watch_task = asyncio.create_task(self._watch_scratch(self._proc))
        self._cpu_task = asyncio.create_task(self._watch_cpu(self._proc))
        init: InitFrame = {
            "op": "init",
            "context_kind": self._blob.kind,
            "context_size": self._blob.size,
            "capture_limit": self.options.capture_limit,
            "lockdown": plan.lockdown,
            "memory": self.options.memory,
            "max_frame_bytes": self.options.max_frame_bytes,
            "max_message_bytes": self.options.max_message_bytes,
        }
        if self._blob.path is not None:
            init["context_path"] = self._blob.path
        else:
            init["context_fd"] = self._blob.fd
        try:
            await self._send(init)
            ready, _ = await asyncio.wait_for(self._recv(), START_TIMEOUT_S)
        except (TimeoutError, EOFError, FrameError, ConnectionError, _Stalled) as exc:
            detail = self.stderr_tail() or str(exc) or type(exc).__name__
            await self._kill()
            raise SandboxError(f"the REPL worker ({plan.tier}) failed to start: {detail}") from exc
        except BaseException:  # cancelled: the worker goes too
            await self._kill()
            raise
        if ready.get("op") != "ready":
            await self._kill()
            raise SandboxError(f"the REPL worker sent {ready.get('op')!r} instead of 'ready'")
        await self._pause()

    async def _spawn(self, plan: LaunchPlan) -> asyncio.subprocess.Process:
        """Start the worker; a cancel during start-up still ends with no process left."""
        spawn = asyncio.ensure_future(asyncio.create_subprocess_exec(
            *plan.argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=plan.env,
            cwd=plan.cwd,
            pass_fds=self._blob.pass_fds,
            start_new_session=True,
        ))
        try:
            # Shielded: asyncio's own clean-up of a cancelled start kills only the first
            # process, and may wait for ever; the whole tree is killed here instead.
            return await asyncio.shield(spawn)
        except OSError as exc:
            raise SandboxError(f"could not start the REPL worker ({plan.tier}): {exc}") from exc
        except asyncio.CancelledError:
            while not spawn.done():
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.wait({spawn})
            if not spawn.cancelled() and spawn.exception() is None:
                await _reap(spawn.result())
            raise

    async def restart(self) -> None:
        await self._kill()
        self._scrub()
        if self._overflow is not None:  # the files over the quota go; a restart starts clean
            await asyncio.to_thread(empty_dir, self._scratch)
            self._overflow = None
        self.restarts += 1
        await self.start()

    async def close(self) -> None:
        """Stop the worker (politely, then for sure) and remove its context and scratch."""
        try:
            proc = self._proc
            if proc is not None and proc.returncode is None:
                self._resume()
                with contextlib.suppress(Exception):
                    await self._send({"op": "shutdown"}, timeout=0.5)
                    await asyncio.wait_for(proc.wait(), 0.5)
        finally:
            await self._kill()
            self._blob.close()
            self._scrub()
            shutil.rmtree(self._scratch, ignore_errors=True)

    def _scrub(self) -> None:
        """Clear set-id bits and open modes the worker left in scratch."""
        with contextlib.suppress(OSError):
            scrub_scratch(self._scratch)

    async def _kill(self) -> None:
        """Kill the worker's whole process tree and wait until it is reaped."""
        proc, self._proc = self._proc, None
        self._running = False
        for task in (self._watch_task, self._cpu_task):
            if task is not None:
                task.cancel()
        self._watch_task = self._cpu_task = None
        if proc is None:
            return
        await _reap(proc)
        if self._stderr_task is not None:
            with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(self._stderr_task, 1.0)
        if proc.stdin is not None:
            proc.stdin.close()

    # --- stopping between steps ---------------------------------------------------------
    async def _pause(self) -> None:
        """A step ended: once the worker was seen running between steps, stop it now."""
        self._running = False
        if self._pause_eagerly and self._proc is not None:
            self._stop_all(self._pids)

    def _stop_all(self, pids: list[int]) -> None:
        for pid in pids:
            _signal(pid, signal.SIGSTOP)
        self._stopped = True

    def _resume(self) -> None:
        if self._stopped and self._proc is not None:
            for pid in reversed(self._pids):
                _signal(pid, signal.SIGCONT)
        self._stopped = False
        self._running = True

    async def _watch_cpu(self, proc: asyncio.subprocess.Process) -> None:
        """Count each step's CPU time and stop whatever runs between steps.

        Every thread and child counts, also while the host serves the step's LLM calls; a step
        over step_timeout_s of CPU time is killed. The time is read every cpu_poll_s; what ran
        between two readings is charged to the step running at the second. A worker that uses
        the CPU while no step runs is stopped (SIGSTOP) at once, and from then on at the end
        of every step, until the next one starts.
        """
        limit = self.options.step_timeout_s
        last = await asyncio.to_thread(proctree.cpu_seconds, proc.pid)
        step, used, idle = self._step_id, 0.0, False
        while proc.returncode is None:
            await asyncio.sleep(self.options.cpu_poll_s)
            pids = await asyncio.to_thread(proctree.tree, proc.pid)
            now = await asyncio.to_thread(proctree.cpu_seconds_of, pids)
            if not pids or self._proc is not proc:
                return
            self._pids = pids
            delta, last = max(now - last, 0.0), now
            same_step = self._step_id == step
            used = used + delta if same_step else delta
            step = self._step_id
            was_idle, idle = idle and same_step, not self._running
            if idle and self.options.pause_between_steps and (
                    self._stopped or (was_idle and delta > IDLE_CPU_S)):
                self._pause_eagerly = True
                self._stop_all(pids)  # new processes too
            if used > limit and proc.returncode is None:
                self._cpu_over = (
                    f"the step used over {limit:g}s of CPU time (step_timeout_s, all its "
                    "threads counted, also while its LLM calls were served) and was stopped"
                )
                await asyncio.to_thread(proctree.kill, proc.pid)
                self._stop_serving()
                return

    # --- framing ----------------------------------------------------------------------
    async def _send(self, message: Any, attachments: Sequence[bytes] = (),
                    timeout: float | None = None) -> None:
        """Write one message; _Stalled if the worker does not take it before the deadline.

        A reply over the message limit is replaced by an error reply saying so.
        """
        assert self._proc is not None and self._proc.stdin is not None
        stdin = self._proc.stdin
        body = channel.dumps(message)
        size = len(body) + sum(len(a) for a in attachments)
        if size > self.options.max_message_bytes and message.get("op") == "reply":
            body, attachments = channel.dumps({"op": "reply", "id": message.get("id"), "error": (
                f"the answer is {size:,} bytes, over the channel's limit of "
                f"{self.options.max_message_bytes:,} bytes per message: ask for less at once "
                "(fewer prompts per llm_batch)")}), ()
        buffers = iter(channel.body_frames(body, attachments, self.options.max_frame_bytes))
        for buffer in buffers:  # no wait (and no timer) while the pipe takes each at once
            stdin.write(buffer)
            if stdin.transport.get_write_buffer_size():  # the pipe is full: wait, with a deadline
                break
        else:
            return
        try:
            async with asyncio.timeout(timeout or self.options.write_timeout_s):
                await stdin.drain()
                for buffer in buffers:
                    stdin.write(buffer)
                    if stdin.transport.get_write_buffer_size():
                        await stdin.drain()
        except TimeoutError:
            raise _Stalled("the worker stopped reading its channel") from None

    async def _recv(self) -> tuple[dict[str, Any], list[bytes]]:
        """One message and its attachments; FrameError for anything malformed or too big."""
        assert self._proc is not None and self._proc.stdout is not None
        stdout = self._proc.stdout
        assembler = channel.Assembler(self.options.max_message_bytes)
        try:
            while True:
                header = await stdout.readexactly(channel.HEADER.size)
                kind, size = channel.check_header(header, self.options.max_frame_bytes)
                done = assembler.feed(kind, await stdout.readexactly(size))
                if done is not None:
                    return done
        except asyncio.IncompleteReadError:
            raise EOFError("the worker closed its channel") from None
        except channel.FrameError as exc:
            raise FrameError(f"the worker sent {exc}") from None

    async def _drain_stderr(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stderr is not None
        while chunk := await proc.stderr.read(65536):
            self._stderr_tail += chunk
            del self._stderr_tail[:-STDERR_TAIL]

    async def _watch_scratch(self, proc: asyncio.subprocess.Process) -> None:
        """Stop the worker (its whole process tree) once its scratch dir breaks the quota."""
        limit = self.options.scratch_limit_mb * MIB
        most = self.options.scratch_max_files
        while proc.returncode is None:
            await asyncio.sleep(self.options.scratch_poll_s)
            usage = await asyncio.to_thread(scratch_usage, self._scratch, limit, most,
                                            list(self._pids))
            reason = over_quota(usage, limit, most)
            if reason and proc.returncode is None:
                self._overflow = reason
                await asyncio.to_thread(proctree.kill, proc.pid)
                _kill_group(proc)
                self._stop_serving()
                return

    def stderr_tail(self) -> str:
        return channel.safe_text(self._stderr_tail.decode("utf-8", "replace").strip())

    # --- steps ------------------------------------------------------------------------
    async def execute(self, code: str, handler: CallHandler) -> StepResult:
        """Run one code step, serving the worker's LLM calls through `handler`."""
        if self._proc is None:
            await self.start()
        self._step_id += 1
        started = time.perf_counter()
        left = self.options.step_timeout_s
        exec_frame: ExecFrame = {"op": "exec", "id": self._step_id, "code": code}
        self._resume()
        try:
            await self._send(exec_frame)
            while True:
                t0 = time.monotonic()
                msg, blobs = await asyncio.wait_for(self._recv(), max(left, 0.001))
                left -= time.monotonic() - t0
                op = msg.get("op")
                if op == "call":
                    reply = await self._serve_unless_killed(msg, blobs, handler)
                    await self._send(reply)
                elif op == "result":
                    if msg.get("id") != self._step_id:
                        raise FrameError("a result frame for another step")
                    result = self._step_result(msg, self.options.capture_limit)
                    await self._pause()
                    return result
                else:
                    raise FrameError(f"unexpected frame {op!r} during a step")
        except TimeoutError:
            reason = (
                f"the step ran longer than step_timeout_s={self.options.step_timeout_s:g}s and "
                "was stopped"
            )
        except (EOFError, ConnectionError):
            reason = self._cpu_over or f"the worker died during the step ({self._exit_detail()})"
        except _Stalled as exc:
            reason = f"the worker broke the protocol ({exc})"
        except FrameError as exc:
            reason = f"the worker broke the protocol ({exc})"
        await self.restart()
        return StepResult(
            error=f"{reason}. The REPL was restarted: `context` is reloaded, but every variable "
            "you defined is lost.",
            elapsed_s=time.perf_counter() - started,
            lost_state=reason,
        )

    async def _serve_unless_killed(self, msg: dict[str, Any], blobs: list[bytes],
                                   handler: CallHandler) -> ReplyFrame:
        """Serve one call; EOFError if a watcher (CPU, scratch) kills the worker meanwhile.

        (A dead worker ends a read by itself; a call being served must be told: the watcher
        cancels this task, and that one cancel is taken back here.)
        """
        current = asyncio.current_task()
        self._serving = current
        try:
            return await self._serve(msg, blobs, handler)
        except asyncio.CancelledError:
            if self._serving is None and current is not None and current.uncancel() == 0:
                raise EOFError("the worker was stopped") from None
            raise  # (also) cancelled from outside
        finally:
            self._serving = None

    def _stop_serving(self) -> None:
        """Interrupt the call being served (the worker it serves is gone)."""
        task, self._serving = self._serving, None
        if task is not None:
            task.cancel()

    def _exit_detail(self) -> str:
        if self._overflow is not None:
            return f"stopped: {self._overflow}; its scratch files are removed"
        code = self._proc.returncode if self._proc else None
        if code is not None and code < 0:
            with contextlib.suppress(ValueError):
                return f"killed by {signal.Signals(-code).name}"
        return f"exit code {code}" if code is not None else "channel closed"

    async def _serve(self, msg: dict[str, Any], blobs: list[bytes],
                     handler: CallHandler) -> ReplyFrame:
        reply: ReplyFrame = {"op": "reply", "id": msg.get("id")}
        try:
            method, args = _checked_call(msg, blobs)
        except FrameError as exc:
            reply["error"] = f"malformed call: {exc}"
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
    def _step_result(msg: dict[str, Any], capture_limit: int) -> StepResult:
        """The step's result; FrameError if the worker sent fields of the wrong shape."""
        answer, restored, found = msg.get("answer"), msg.get("restored", []), msg.get("vars")
        error, final = msg.get("error"), msg.get("final")
        try:
            if not isinstance(restored, list) or not isinstance(found or {}, dict) or not (
                    error is None or isinstance(error, str)):
                raise TypeError("restored, vars or error has the wrong type")
            if final is not None and not _is_final(final):
                raise TypeError("final is not {'value': text} or {'missing': name}")
            if not isinstance(answer, dict):
                answer = {"content": "", "ready": False}
            content = answer.get("content", "")
            checked: AnswerField = {"content": content if isinstance(content, str) else
                                    str(content), "ready": answer.get("ready") is True}
            found = cast(dict[str, Any], found or {})
            return StepResult(
                stdout=_capped(msg.get("stdout", ""), capture_limit),
                stderr=_capped(msg.get("stderr", ""), capture_limit),
                error=None if error is None else _capped(error, capture_limit),
                final=final,
                answer=dict(checked),
                restored=[str(x)[:200] for x in restored[:MAX_RESTORED]],
                vars={str(k)[:200]: _capped(v, VAR_CHARS)
                      for k, v in list(found.items())[:MAX_VARS]},
                dropped_chars=int(msg.get("dropped_chars", 0)),
                elapsed_s=float(msg.get("elapsed", 0.0)),
                cite=_cite_list(msg.get("cite"), capture_limit),
            )
        except (TypeError, ValueError, OverflowError) as exc:
            raise FrameError(f"malformed result frame: {exc}") from None

    async def resolve(self, name: str) -> str | None:
        """The text value of a REPL variable, or None when it does not exist."""
        if self._proc is None:
            return None
        self._resume()
        try:
            await self._send({"op": "resolve", "name": name})
            msg, _ = await asyncio.wait_for(self._recv(), self.options.step_timeout_s)
        except (TimeoutError, EOFError, FrameError, ConnectionError, _Stalled):
            await self.restart()
            return None
        await self._pause()
        value = msg.get("value")
        return value if msg.get("found") is True and isinstance(value, str) else None


def _plan(options: WorkerOptions, scratch: str) -> LaunchPlan:
    """The launch plan for these options (the bwrap tier sizes its scratch tmpfs from them)."""
    return plan_launch(options.sandbox, scratch, options.memory_limit_mb,
                       scratch_limit_mb=options.scratch_limit_mb)


def _checked_call(msg: dict[str, Any], blobs: list[bytes]) -> tuple[str, dict[str, Any]]:
    """A call frame's method and arguments, checked; child contexts rebuilt from blobs."""
    method, args = msg.get("method"), msg.get("args")
    if not isinstance(method, str) or not isinstance(args, dict):
        raise FrameError("no method name or no argument object")
    if method in ("llm", "rlm"):
        prompts = args.get("prompts")
        if not isinstance(prompts, list) or not all(isinstance(p, str) for p in prompts):
            raise FrameError("prompts is not a list of strings")
        if not isinstance(args.get("options", {}), dict):
            raise FrameError("options is not an object")
    if method == "rlm":
        args = {**args, "contexts": _child_contexts(args.get("contexts"), msg, blobs,
                                                    len(args["prompts"]))}
    return method, args


def _child_contexts(refs: Any, msg: dict[str, Any], blobs: list[bytes],
                    count: int) -> list[Any] | None:
    """The child runs' contexts: each attachment the worker sent, checked and made safe."""
    kinds = msg.get("attachments", [])
    if not isinstance(kinds, list) or len(kinds) != len(blobs):
        raise FrameError("attachments do not match the blobs sent")
    if refs is None:
        return None
    if not isinstance(refs, list) or len(refs) != count:
        raise FrameError("contexts is not a list with one entry per prompt")
    out: list[Any] = []
    for ref in refs:
        if ref is None:
            out.append(None)
        elif isinstance(ref, int) and not isinstance(ref, bool) and 0 <= ref < len(blobs):
            try:
                out.append(received_context(str(kinds[ref]), blobs[ref]))
            except channel.FrameError as exc:
                raise FrameError(str(exc)) from None
        else:
            raise FrameError(f"context reference {ref!r} names no attachment")
    return out


def _is_final(final: Any) -> bool:
    return (isinstance(final, dict) and len(final) == 1
            and next(iter(final)) in ("value", "missing")
            and isinstance(next(iter(final.values())), str))


def _cite_list(value: Any, limit: int) -> list[dict[str, Any]] | None:
    """Citations from the worker, bounded: at most 50 dicts of ints and capped strings.

    What they claim is checked later against the context; a wrong shape is not an error here.
    """
    if value is None:
        return None
    if not isinstance(value, list):
        raise TypeError("cite is not a list")
    out: list[dict[str, Any]] = []
    for item in value[:50]:
        spec: dict[str, Any] = {}
        if isinstance(item, dict):
            for key in ("start", "end"):
                v = item.get(key)
                if isinstance(v, int) and not isinstance(v, bool):
                    spec[key] = v
            for key in ("text", "quote"):
                if isinstance(item.get(key), str):
                    spec[key] = _capped(item[key], limit)
        out.append(spec)
    return out


def _capped(value: Any, limit: int) -> str:
    text = value if isinstance(value, str) else str(value)
    return text[:limit]


def _signal(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, sig)


def _kill_group(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None and hasattr(os, "killpg"):  # POSIX: the whole group
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()


async def _reap(proc: asyncio.subprocess.Process) -> None:
    """SIGKILL the process and all it started (stopped first, so none escapes), then reap."""
    if proc.returncode is None:
        proctree.kill(proc.pid)  # synchronous: done even if this coroutine is cancelled
        _kill_group(proc)

    async def discard_output() -> None:  # a full, unread pipe would keep wait() waiting
        if proc.stdout is not None:
            with contextlib.suppress(Exception):
                while await proc.stdout.read(1 << 20):
                    pass

    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.gather(discard_output(), proc.wait()), KILL_WAIT_S)

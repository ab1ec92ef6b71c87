"""One RLM run: the root model writes code, the worker runs it, until a final answer.

The run never puts the context in the root prompt. It records every step in the trace, keeps
the root prompt bounded, and stops on any limit with its partial answer instead of raising.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from ..errors import AuthenticationError, BudgetExceeded, ProviderError, ProviderUnreachable
from ..providers.base import (
    Completion,
    CompletionOptions,
    Message,
    Usage,
    estimate_tokens,
    messages_tokens,
)
from ..sandbox import StepResult, Worker, WorkerOptions
from ..trace import Span
from . import guards, prompts
from .context import describe_context
from .parsing import find_text_final, parse_reply
from .prompts_small import SMALL_SYSTEM_PROMPT, is_small_model
from .result import RLMResult, Status
from .tree import RunTree

TRACE_TEXT_LIMIT = 4_000
DEFAULT_REPLY_TOKENS = 1_024
SEEN_LIMIT = 200_000


class Run:
    """A run at `depth` over one context; children are Runs at depth + 1 in the same tree."""

    def __init__(self, tree: RunTree, context: Any, query: str, depth: int = 0,
                 parent: Span | None = None) -> None:
        self.tree = tree
        self.cfg = tree.config
        self.context = context
        self.query = query
        self.depth = depth
        self.parent = parent
        self.iterations = 0
        self.status: Status = "max_iterations"
        self.answer: str | None = None
        self.partial = ""
        self.error: str | None = None
        self.code_ran = False
        self.first_turn_guard_used = False
        small = self.cfg.small_model
        self.small = is_small_model(tree.root.name) if small is None else small
        self.small_guard_used = False
        self.final_code = ""
        self.seen_before_final = ""
        self._source_text: str | None = None
        self.task = ""
        self.codes_run: set[str] = set()
        self.root_calls = 0
        self.seen = ""
        self.usage = Usage()
        self.step_span: Span | None = None
        self.step_calls = 0
        self.worker: Worker | None = None

    # --- the run ----------------------------------------------------------------------
    async def execute(self) -> RLMResult:
        started = time.perf_counter()
        info = describe_context(self.context)
        self.span = self.tree.trace.start("run", f"run depth={self.depth}", self.parent,
                                          query=self.query, depth=self.depth, context=info.render())
        self.tree.emit("run_start", self.depth, query=self.query, context_chars=info.chars)
        task = prompts.user_task(self.query, info, await self._memory_block(),
                                 has_memory=self.tree.memory is not None)
        self.task = task
        options = WorkerOptions(
            sandbox=self.cfg.sandbox,
            step_timeout_s=self.cfg.step_timeout_s,
            capture_limit=max(self.cfg.max_output_chars * 4, 100_000),
            memory_limit_mb=self.cfg.memory_limit_mb,
            memory=self.tree.memory is not None,
            scratch_limit_mb=self.cfg.scratch_limit_mb,
            scratch_max_files=self.cfg.scratch_max_files,
        )
        self.worker = Worker(self.context, options)
        try:
            await self.worker.start()
            if self.depth == 0:
                self.tree.trace.metadata["environment_type"] = self.worker.tier
            async with asyncio.timeout(self.tree.time_left()):
                await self._loop(task)
                if self.answer is None:
                    await self._answer_now(task)
        except TimeoutError:
            self.status, self.error = "timeout", f"the run passed timeout_s={self.cfg.timeout_s:g}s"
        except (ProviderUnreachable, AuthenticationError):
            if self.depth == 0 and self.root_calls <= 1:
                raise  # nothing to salvage: a configuration problem the user must fix
            self.status, self.error = "error", "the provider became unreachable"
        finally:
            await self.worker.close()
        answer = self.answer if self.answer is not None else self.partial
        budget = self.tree.budget
        result = RLMResult(
            answer=answer, status=self.status, iterations=self.iterations,
            subcalls=budget.subcalls, usage=budget.usage, cost=budget.total_cost,
            elapsed_s=time.perf_counter() - started, trace=self.tree.trace, error=self.error,
            depth=self.depth, model=self.tree.root.name,
        )
        self.span.finish(
            error=self.error, answer=answer, status=self.status, iterations=self.iterations,
            usage=self.usage.to_dict(), subcalls=budget.subcalls, cost=budget.total_cost,
        )
        self.tree.emit("run_end", self.depth, self.iterations, status=self.status, answer=answer)
        return result

    async def _loop(self, task: str) -> None:
        turns: list[prompts.Turn] = []
        system = self._system_prompt()
        for it in range(1, self.cfg.max_iterations + 1):
            self.iterations = it
            span = self.tree.trace.start("iteration", f"iteration {it}", self.span)
            self.tree.emit("iteration", self.depth, it)
            messages = prompts.build_messages(
                system, task, turns, keep_recent=self.cfg.keep_recent_turns,
                reply_limit=self.cfg.max_output_chars * 2,
            )
            span.attrs["prompt"] = messages
            try:
                completion = await self._root_call(messages, span)
            except BudgetExceeded as exc:
                self.status = exc.limit  # type: ignore[assignment]
                self.error = str(exc)
                span.finish(error=str(exc))
                return
            except ProviderError as exc:
                if isinstance(exc, (ProviderUnreachable, AuthenticationError)) and self.root_calls <= 1:
                    span.finish(error=str(exc))
                    raise
                self.status, self.error = "error", f"root model call failed: {exc}"
                span.finish(error=str(exc))
                return
            reply = completion.text
            span.attrs["response"] = reply
            final, feedback = await self._act(reply, span, it)
            if final is not None:
                refusal = self._refusal(final)
                if refusal is None:
                    self.answer, self.status = final, "success"
                    span.finish(final_answer=final)
                    return
                self.partial = self.partial or final
                feedback.append(refusal)
            if self.tree.budget.exhausted:
                self.status = self.tree.budget.exhausted  # type: ignore[assignment]
                self.error = f"the run's budget is spent ({self.status})"
                span.finish(error=self.error)
                return
            left = self.cfg.max_iterations - it
            feedback.append(f"({left} step{'s' if left != 1 else ''} left)")
            turns.append(prompts.Turn(reply, "\n\n".join(feedback), self._summary(it, reply, feedback)))
            span.finish()
        self.status = "max_iterations"

    async def _act(self, reply: str, span: Span, it: int) -> tuple[str | None, list[str]]:
        """Run the reply's code; return a final answer if one was given, and the feedback."""
        parsed = parse_reply(reply)
        feedback: list[str] = []
        assert self.worker is not None
        self.final_code = ""
        for code in parsed.code_blocks:
            self.final_code, self.seen_before_final = code, self.seen
            repeated = guards.code_key(code) in self.codes_run
            self.codes_run.add(guards.code_key(code))
            step = await self._run_code(code, span, it)
            feedback.append(self._format_step(step))
            if repeated:
                feedback.append(guards.REPEATED_CODE)
            if step.answer.get("content"):
                self.partial = str(step.answer["content"])
            if step.final is not None:
                if "value" in step.final:
                    return str(step.final["value"]), feedback
                feedback.append(
                    f"FINAL_VAR({step.final.get('missing')!r}): no such variable. Assign it first."
                )
            if step.answer.get("ready"):
                return str(step.answer.get("content", "")), feedback
            if self.tree.budget.exhausted:
                return None, feedback
        self.final_code = ""
        text_final = find_text_final(parsed.prose)
        if text_final is None:
            if not parsed.code_blocks:
                copied = self.small and guards.copies_prompt(reply, self._prompt_text())
                feedback.append(guards.COPIED_PROMPT if copied else prompts.NO_CODE)
            return None, feedback
        name = text_final.name
        if name is not None and self.code_ran:
            value = await self.worker.resolve(name)
            if value is not None:
                return value, feedback
        if text_final.kind == "FINAL_VAR":
            feedback.append(f"FINAL_VAR({text_final.value}): no such variable. Assign it first.")
            return None, feedback
        if parsed.code_blocks:
            feedback.append(prompts.EARLY_TEXT_FINAL)
            return None, feedback
        if self.code_ran and text_final.is_expression:
            # FINAL(hits[0]) written as text: the model meant the value, so the REPL computes it.
            step = await self._run_code(f"FINAL({text_final.raw})", span, it)
            if step.final is not None and "value" in step.final:
                self.final_code = ""
                return str(step.final["value"]), feedback
        return text_final.value, feedback

    def _refusal(self, final: str) -> str | None:
        """Feedback that rejects `final` (each guard fires at most once a run), or None."""
        if not self.code_ran and not self.first_turn_guard_used:
            self.first_turn_guard_used = True
            return prompts.FIRST_TURN_GUARD
        if not self.small or self.small_guard_used:
            return None
        if final.strip() == self.query.strip() or guards.copies_prompt(final, self._prompt_text()):
            self.small_guard_used = True
            return guards.COPIED_PROMPT
        # A final from code is judged on what was seen before that step (its output echoes it).
        seen = self.seen_before_final if self.final_code else self.seen
        guessed = guards.unsupported_numbers(final, self.final_code, [seen, self.query],
                                             self._source())
        if guessed:
            self.small_guard_used = True
            return guards.guessed_number_feedback(guessed)
        return None

    def _prompt_text(self) -> str:
        return f"{self._system_prompt()}\n{self.task}"

    def _source(self) -> str:
        """The context as text, for checking that an answer's numbers come from it."""
        if self._source_text is None:
            data = self.context
            if isinstance(data, bytes):
                data = data.decode("utf-8", "replace")
            self._source_text = data if isinstance(data, str) else json.dumps(data, default=str)
        return self._source_text

    async def _answer_now(self, task: str) -> None:
        """Out of iterations (or budget): one last call for the best answer, if budget allows."""
        if self.status not in ("max_iterations", "max_subcalls"):
            return
        messages: list[Message] = [
            {"role": "system", "content": self._system_prompt()},
            {"role": "user", "content": task},
        ]
        if self.seen:
            messages.append({"role": "user", "content": "What your code found:\n"
                             + prompts.clip(self.seen[-6_000:], 6_000)})
        messages.append({"role": "user", "content": prompts.ANSWER_NOW})
        span = self.tree.trace.start("final", "answer now", self.span, prompt=messages)
        try:
            completion = await self._root_call(messages, span)
        except (BudgetExceeded, ProviderError) as exc:
            span.finish(error=str(exc))
            return
        parsed = parse_reply(completion.text)
        text_final = find_text_final(parsed.prose)
        best = text_final.value if text_final else parsed.prose.strip()
        if best:
            self.partial = best
        span.finish(response=completion.text, final_answer=best)

    # --- calls ------------------------------------------------------------------------
    async def _root_call(self, messages: list[Message], span: Span) -> Completion:
        budget = self.tree.budget
        reply_tokens = self.cfg.root_max_tokens or DEFAULT_REPLY_TOKENS
        reservation = budget.reserve(messages_tokens(messages) + reply_tokens)
        call = self.tree.trace.start("root_llm", "root call", span, model=self.tree.root.name)
        on_token = None
        if self.tree.on_event is not None:
            depth, it = self.depth, self.iterations
            on_token = lambda t: self.tree.emit("token", depth, it, text=t)  # noqa: E731
        options = CompletionOptions(
            temperature=self.cfg.temperature, max_tokens=self.cfg.root_max_tokens, on_token=on_token
        )
        self.root_calls += 1
        try:
            completion = await self.tree.root.complete(messages, options)
        except BaseException as exc:
            budget.settle(reservation, None, None)
            call.finish(error=f"{type(exc).__name__}: {exc}")
            raise
        budget.settle(reservation, completion.usage, completion.cost)
        self.usage.add(completion.usage)
        call.finish(usage=completion.usage.to_dict(), cost=completion.cost,
                    finish_reason=completion.finish_reason)
        return completion

    async def _handle(self, method: str, args: dict[str, Any]) -> Any:
        """Serve one request from the worker (LLM calls, child runs, memory)."""
        if method == "llm":
            return await self._llm_calls(_texts(args.get("prompts")), args.get("options") or {})
        if method == "rlm":
            return await self._child_runs(_texts(args.get("prompts")), args.get("contexts"))
        memory = self.tree.memory
        if method == "memory.search" and memory is not None:
            k = max(1, min(int(args.get("k", 5)), 50))
            return str(await asyncio.to_thread(memory.retrieve, str(args.get("query", "")), k=k))
        if method == "memory.add" and memory is not None:
            text = str(args.get("text", ""))[:10_000]
            added = await asyncio.to_thread(memory.add_episode, text, metadata={"source": "repl"})
            return str(added)
        raise ValueError(f"unknown request {method!r}")

    def _claim_step_calls(self, n: int) -> None:
        if self.step_calls + n > self.cfg.max_calls_per_step:
            raise RuntimeError(
                f"this step asked for {self.step_calls + n} LLM calls; at most "
                f"{self.cfg.max_calls_per_step} are allowed per step. Use fewer, larger chunks."
            )
        self.step_calls += n

    async def _llm_calls(self, prompts_: list[str], options: dict[str, Any]) -> list[Any]:
        self._claim_step_calls(len(prompts_))
        budget = self.tree.budget
        reply_tokens = _int(options.get("max_tokens")) or self.cfg.sub_max_tokens or DEFAULT_REPLY_TOKENS
        reservations = []
        try:
            for p in prompts_:
                reservations.append(budget.reserve(estimate_tokens(p) + reply_tokens, subcall=True))
        except BudgetExceeded:
            for r in reservations:
                budget.settle(r, None, None)
            raise
        opts = CompletionOptions(
            temperature=_float(options.get("temperature"), self.cfg.temperature),
            max_tokens=_int(options.get("max_tokens")) or self.cfg.sub_max_tokens,
        )
        return list(await asyncio.gather(*(
            self._one_llm(p, r, opts) for p, r in zip(prompts_, reservations, strict=True)
        )))

    async def _one_llm(self, prompt: str, reservation: Any, opts: CompletionOptions) -> Any:
        budget = self.tree.budget
        sub = self.tree.sub
        span = self.tree.trace.start("llm", "sub call", self.step_span, model=sub.name,
                                     prompt=prompts.clip(prompt, TRACE_TEXT_LIMIT),
                                     prompt_chars=len(prompt))
        window = sub.context_window
        tokens = estimate_tokens(prompt)
        if window and tokens > int(window * 0.9):
            budget.settle(reservation, None, None)
            message = (
                f"the prompt is about {tokens:,} tokens, larger than {sub.name}'s window of "
                f"{window:,}: split it (split_document) and ask about each part with llm_batch"
            )
            span.finish(error=message)
            return {"error": message}
        try:
            completion = await self.tree.sub_complete([{"role": "user", "content": prompt}], opts)
        except ProviderError as exc:
            budget.settle(reservation, None, None)
            span.finish(error=str(exc))
            self.tree.emit("subcall", self.depth, self.iterations, ok=False, error=str(exc))
            return {"error": str(exc)}
        budget.settle(reservation, completion.usage, completion.cost)
        self.usage.add(completion.usage)
        span.finish(response=prompts.clip(completion.text, TRACE_TEXT_LIMIT),
                    usage=completion.usage.to_dict(), cost=completion.cost)
        self.tree.emit("subcall", self.depth, self.iterations, ok=True,
                       tokens=completion.usage.total_tokens)
        return completion.text

    async def _child_runs(self, prompts_: list[str], contexts: Any) -> list[Any]:
        if contexts is not None and (not isinstance(contexts, list) or len(contexts) != len(prompts_)):
            raise ValueError("rlm_batch: give one context per prompt, or none")
        ctxs = contexts or [None] * len(prompts_)
        if self.depth + 1 > self.cfg.max_depth:
            flat = [p if c is None else f"{p}\n\n---\n{_as_text(c)}" for p, c in zip(prompts_, ctxs, strict=True)]
            return await self._llm_calls(flat, {})
        self._claim_step_calls(len(prompts_))
        budget = self.tree.budget
        reservations = []
        try:
            for _ in prompts_:
                reservations.append(budget.reserve(0, subcall=True))
        except BudgetExceeded:
            for r in reservations:
                budget.settle(r, None, None)
            raise
        slots = asyncio.Semaphore(self.cfg.concurrency)

        async def child(prompt: str, ctx: Any, reservation: Any) -> Any:
            async with slots:
                span = self.tree.trace.start("child_run", "child run", self.step_span, query=prompt)
                self.tree.emit("child_start", self.depth + 1, query=prompt)
                run = Run(self.tree, prompt if ctx is None else ctx, prompt, self.depth + 1, span)
                try:
                    result = await run.execute()
                except Exception as exc:
                    budget.settle(reservation, None, None)
                    span.finish(error=str(exc))
                    return {"error": f"child run failed: {exc}"}
            budget.settle(reservation, Usage(), 0.0)
            span.finish(status=result.status, answer=prompts.clip(result.answer, TRACE_TEXT_LIMIT))
            self.tree.emit("child_end", self.depth + 1, status=result.status)
            if result.answer:
                return result.answer
            return {"error": f"child run ended with status {result.status}: {result.error}"}

        jobs = zip(prompts_, ctxs, reservations, strict=True)
        return list(await asyncio.gather(*(child(p, c, r) for p, c, r in jobs)))

    # --- code steps -------------------------------------------------------------------
    async def _run_code(self, code: str, iteration: Span, it: int) -> StepResult:
        assert self.worker is not None
        self.step_span = self.tree.trace.start("code", "code", iteration, code=code)
        self.step_calls = 0
        step = await self.worker.execute(code, self._handle)
        self.code_ran = True
        output = step.stdout + (f"\n[stderr]\n{step.stderr}" if step.stderr else "")
        self.seen = (self.seen + output)[-SEEN_LIMIT:]
        self.step_span.finish(
            error=step.error, stdout=prompts.clip(step.stdout, TRACE_TEXT_LIMIT),
            stderr=prompts.clip(step.stderr, TRACE_TEXT_LIMIT), locals=step.vars,
            restored=step.restored, lost_state=step.lost_state,
        )
        self.tree.emit("code", self.depth, it, code=code, output=output[:500], error=step.error)
        return step

    def _format_step(self, step: StepResult) -> str:
        text = step.stdout
        if step.stderr:
            text += f"\n[stderr]\n{step.stderr}"
        if step.error:
            text += f"\n{step.error}"
        text = text.strip("\n") or "(no output)"
        limit = self.cfg.max_output_chars
        hidden = step.dropped_chars + max(0, len(text) - limit)
        text = text[:limit]
        if hidden:
            text += f"\n... [+{hidden:,} chars not shown: print slices or summaries]"
        parts = [f"Output:\n```\n{text}\n```"]
        if step.restored:
            names = ", ".join(step.restored)
            parts.append(f"Note: you assigned to {names}; the original was restored. "
                         "Keep results in new variables.")
        return "\n".join(parts)

    def _summary(self, it: int, reply: str, feedback: list[str]) -> str:
        parsed = parse_reply(reply)
        if parsed.code_blocks:
            first = parsed.code_blocks[0].strip().splitlines()[0][:80]
            did = f"ran `{first}`" + (f" (+{len(parsed.code_blocks) - 1} block)" if len(parsed.code_blocks) > 1 else "")
        else:
            did = "wrote no code"
        out = " ".join(" ".join(feedback).split())[:160]
        return f"- step {it}: {did} -> {out}"

    def _system_prompt(self) -> str:
        if self.cfg.system_prompt:
            return self.cfg.system_prompt
        return SMALL_SYSTEM_PROMPT if self.small else prompts.SYSTEM_PROMPT

    async def _memory_block(self) -> str:
        memory = self.tree.memory
        if memory is None or self.depth > 0:
            return ""
        hits = await asyncio.to_thread(memory.retrieve, self.query, k=5)
        return prompts.clip(str(hits), 1_500)


def _texts(value: Any) -> list[str]:
    if not isinstance(value, list):
        raise ValueError("expected a list of prompts")
    return [v if isinstance(v, str) else str(v) for v in value]


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    import json

    return json.dumps(value, ensure_ascii=False, default=str)


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, (int, float)) and value > 0 else None


def _float(value: Any, default: float | None) -> float | None:
    return float(value) if isinstance(value, (int, float)) else default

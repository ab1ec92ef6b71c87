"""Serving the worker's requests for one run: `llm`/`llm_batch`, `rlm_query`/`rlm_batch`, memory.

Each request is counted against the tree's budget before it is made, and traced under the code
step that asked for it. A failed sub-call becomes an error item; the batch goes on.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Awaitable, Callable
from typing import Any

from ..errors import BudgetExceeded, ConfigError, OutputInvalid, ProviderError, ToolError
from ..folders import FolderContext
from ..providers.base import Completion, CompletionOptions, Message, Usage, estimate_tokens
from ..sandbox.blob import EncodedContext
from ..sandbox.worker.folder_view import READ_METHOD
from ..trace import Span
from . import prompts
from .budget import Reservation
from .citations import as_specs
from .result import RLMResult
from .schema import OutputSchema
from .tree import RunTree

TRACE_TEXT_LIMIT = 4_000
DEFAULT_REPLY_TOKENS = 1_024
MEMORY_TEXT_LIMIT = 10_000
#: At most this many entries of a worker's `flow` report are kept.
MAX_FLOW_ENTRIES = 10_000

#: Runs a child RLM: (its context, its query, the span it hangs under, where its context
#: starts in this run's context if known) -> its result, citations placed in this context.
ChildRunner = Callable[[Any, str, Span, int | None], Awaitable[RLMResult]]


class RequestServer:
    """Answers one run's worker requests. `begin_step` resets the per-step call count."""

    def __init__(self, tree: RunTree, depth: int, usage: Usage, run_child: ChildRunner) -> None:
        self.tree = tree
        self.depth = depth
        self.usage = usage  # the run's own usage; sub-calls add to it
        self.run_child = run_child
        self.step_span: Span | None = None
        self.iteration = 0
        self.step_calls = 0
        self.code_spans: list[Span] = []  # this run's code steps, in order
        self.result_spans: set[int] = set()  # spans whose results went to the worker
        self.issued: list[int] = []  # the spans of the request being served, in item order
        self.files: FolderContext | None = None  # a folder context's files, read on demand

    def begin_step(self, span: Span, iteration: int) -> None:
        """Requests that follow belong to the code step `span` of `iteration`."""
        self.step_span, self.iteration, self.step_calls = span, iteration, 0
        self.code_spans.append(span)

    async def __call__(self, method: str, args: dict[str, Any]) -> Any:
        """Serve one request from the worker.

        The worker asks one thing at a time. Items of `llm`/`rlm` go back with the span id of
        each, so the REPL can tag its results and report which fed a final answer (`flow`).
        """
        if method == "flow":
            self.record_flow(args)
            return None
        if method == "tool":
            return await self.tool_call(args)
        if method not in ("llm", "rlm"):
            return await self._serve(method, args)
        self.issued = []
        items = await self._serve(method, args)
        self.result_spans.update(self.issued)
        if isinstance(items, list) and len(items) == len(self.issued):
            return {"items": items, "spans": list(self.issued)}
        return items

    async def _serve(self, method: str, args: dict[str, Any]) -> Any:
        if method == "llm":
            return await self.llm_calls(_texts(args.get("prompts")), args.get("options") or {})
        if method == "rlm":
            return await self.child_runs(_texts(args.get("prompts")), args.get("contexts"),
                                         args.get("bases"))
        if method == READ_METHOD and self.files is not None:
            path = str(args.get("path", ""))
            if path not in self.files:
                raise KeyError(f"no text file {path!r} in the folder")
            return await asyncio.to_thread(self.files.read, path, _int(args.get("start")) or 0,
                                           _int(args.get("size")))
        memory = self.tree.memory
        if method == "memory.search" and memory is not None:
            k = max(1, min(_int(args.get("k")) or 5, 50))
            found = await asyncio.to_thread(memory.retrieve, str(args.get("query", "")), k=k)
            return str(found)
        if method == "memory.add" and memory is not None:
            text = str(args.get("text", ""))[:MEMORY_TEXT_LIMIT]
            added = await asyncio.to_thread(memory.add_episode, text, {"source": "repl"})
            return str(added)
        raise ValueError(f"unknown request {method!r}")

    def _claim(self, n: int) -> None:
        limit = self.tree.config.max_calls_per_step
        if self.step_calls + n > limit:
            raise RuntimeError(
                f"this step asked for {self.step_calls + n} LLM calls; at most {limit} are "
                "allowed per step. Use fewer, larger chunks."
            )
        self.step_calls += n

    def _reserve(self, tokens: list[int]) -> list[Reservation]:
        """One sub-call reservation per entry, all or none."""
        budget = self.tree.budget
        reservations: list[Reservation] = []
        try:
            for n in tokens:
                reservations.append(budget.reserve(n, subcall=True))
        except BudgetExceeded:
            for r in reservations:
                budget.settle(r, None, None)
            raise
        return reservations

    async def llm_calls(self, texts: list[str], options: dict[str, Any]) -> list[Any]:
        """Plain sub-calls, in parallel; each result is the text or {"error": why}."""
        schema = _schema(options.get("schema"))  # a bad schema is refused before any claim
        self._claim(len(texts))
        cfg = self.tree.config
        max_tokens = _int(options.get("max_tokens")) or cfg.sub_max_tokens
        reply_tokens = max_tokens or DEFAULT_REPLY_TOKENS
        reservations = self._reserve([estimate_tokens(p) + reply_tokens for p in texts])
        opts = CompletionOptions(
            temperature=_float(options.get("temperature"), cfg.temperature), max_tokens=max_tokens,
            json_schema=None if schema is None else schema.json_schema,
        )
        label = str(options.get("label") or "sub call")[:200]
        return list(await asyncio.gather(*(
            self._one_llm(p, r, opts, schema, label)
            for p, r in zip(texts, reservations, strict=True)
        )))

    def _messages(self, prompt: str, schema: OutputSchema | None = None) -> list[Message]:
        """A sub-call's messages: the prompt, after a system message with the goal preamble
        (under `pin_goal`) and the schema to answer in. What is the same for every item of a
        map comes first, so a server's prompt cache covers it."""
        system = []
        goal = self.tree.goal
        if self.tree.config.pin_goal and goal.strip() and goal.strip() not in prompt:
            system.append(prompts.goal_preamble(goal))
        if schema is not None:
            system.append(prompts.schema_request(schema.describe()))
        head: list[Message] = [{"role": "system", "content": "\n\n".join(system)}] if system \
            else []
        return [*head, {"role": "user", "content": prompt}]

    async def _one_llm(self, prompt: str, reservation: Reservation, opts: CompletionOptions,
                       schema: OutputSchema | None = None, label: str = "sub call") -> Any:
        tree, budget, sub = self.tree, self.tree.budget, self.tree.sub
        span = tree.trace.start("llm", label, self.step_span, model=sub.name,
                                prompt=prompts.clip(prompt, TRACE_TEXT_LIMIT),
                                prompt_chars=len(prompt))
        if schema is not None:
            span.attrs["schema"] = prompts.clip(schema.describe(), TRACE_TEXT_LIMIT)
        self.issued.append(span.span_id)  # made in item order: gather starts them in order
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
        messages = self._messages(prompt, schema)
        try:
            completion = await tree.sub_complete(messages, opts)
        except ProviderError as exc:
            budget.settle(reservation, None, None)
            span.finish(error=str(exc))
            tree.emit("subcall", self.depth, self.iteration, ok=False, error=str(exc))
            return {"error": str(exc)}
        budget.settle(reservation, completion.usage, completion.cost)
        self.usage.add(completion.usage)
        if schema is not None:
            return await self._structured(messages, completion, opts, schema, span)
        span.finish(response=prompts.clip(completion.text, TRACE_TEXT_LIMIT),
                    usage=completion.usage.to_dict(), cost=completion.cost)
        tree.emit("subcall", self.depth, self.iteration, ok=True,
                  tokens=completion.usage.total_tokens)
        return completion.text

    async def _structured(self, messages: list[Message], completion: Completion,
                          opts: CompletionOptions, schema: OutputSchema, span: Span) -> Any:
        """A schema'd reply checked; an invalid one is asked again once with the problem."""
        tree, budget = self.tree, self.tree.budget
        usage = Usage()
        usage.add(completion.usage)
        attempts = 1
        while True:
            try:
                value = schema.validate(completion.text)
            except OutputInvalid as exc:
                problem = str(exc)
                if attempts >= 2:
                    error = f"the reply did not match the schema twice: {problem}"
                    span.finish(error=error, response=prompts.clip(completion.text,
                                                                   TRACE_TEXT_LIMIT),
                                usage=usage.to_dict(), attempts=attempts)
                    tree.emit("subcall", self.depth, self.iteration, ok=False, error=error)
                    return {"error": error, "raw": prompts.clip(completion.text,
                                                                TRACE_TEXT_LIMIT)}
                messages = [*messages, {"role": "assistant", "content": completion.text},
                            {"role": "user", "content": prompts.schema_retry(problem)}]
                attempts += 1
                try:
                    retry = budget.reserve(estimate_tokens(messages[-1]["content"])
                                           + (opts.max_tokens or DEFAULT_REPLY_TOKENS),
                                           subcall=True)
                except BudgetExceeded as budget_exc:
                    span.finish(error=str(budget_exc))
                    return {"error": f"the reply did not match the schema ({problem}) and "
                                     f"the budget allows no retry: {budget_exc}"}
                try:
                    completion = await tree.sub_complete(messages, opts)
                except ProviderError as provider_exc:
                    budget.settle(retry, None, None)
                    span.finish(error=str(provider_exc))
                    return {"error": str(provider_exc)}
                budget.settle(retry, completion.usage, completion.cost)
                self.usage.add(completion.usage)
                usage.add(completion.usage)
                continue
            span.finish(response=prompts.clip(completion.text, TRACE_TEXT_LIMIT),
                        usage=usage.to_dict(), cost=completion.cost, attempts=attempts)
            tree.emit("subcall", self.depth, self.iteration, ok=True,
                      tokens=usage.total_tokens)
            return {"json": schema.plain(value)}

    async def tool_call(self, args: dict[str, Any]) -> Any:
        """One host tool call from model code: counted as a sub-call, traced, run here.

        The tool's own failure goes back as {"error": ...} (the REPL raises ToolError); a
        budget limit stops the step like any sub-call.
        """
        tools = self.tree.tools
        name = str(args.get("name", ""))
        given_args, given_kwargs = args.get("args"), args.get("kwargs")
        call_args: list[Any] = given_args if isinstance(given_args, list) else []
        call_kwargs: dict[str, Any] = (
            {str(k): v for k, v in given_kwargs.items()} if isinstance(given_kwargs, dict)
            else {})
        if tools is None:
            return {"error": "this run has no tools"}
        self._claim(1)
        reservation = self.tree.budget.reserve(0, subcall=True)
        span = self.tree.trace.start(
            "tool", f"tool {name}", self.step_span, tool=name,
            arguments=prompts.clip(json.dumps({"args": call_args, "kwargs": call_kwargs},
                                              ensure_ascii=False), TRACE_TEXT_LIMIT))
        self.tree.emit("tool", self.depth, self.iteration, name=name)
        limit = self.tree.config.step_timeout_s
        try:
            async with asyncio.timeout(limit):
                value = await tools.call(name, call_args, call_kwargs)
        except asyncio.CancelledError:
            self.tree.budget.settle(reservation, Usage(), 0.0)
            span.finish(error="stopped: the run was cancelled")
            raise
        except TimeoutError:
            # A function in a thread cannot be killed: it is abandoned, its result dropped.
            return self._tool_failed(reservation, span, name, ToolError(
                f"it ran past the step limit (step_timeout_s={limit:g}s) and was stopped; "
                "call it with less work, or raise RLMConfig.step_timeout_s"))
        except Exception as exc:
            return self._tool_failed(reservation, span, name, exc)
        try:
            text = json.dumps(value, ensure_ascii=False)
        except (TypeError, ValueError) as exc:
            return self._tool_failed(reservation, span, name, ToolError(
                f"its result is not JSON ({exc}); return str, numbers, lists or dicts"))
        self.tree.budget.settle(reservation, Usage(), 0.0)
        span.finish(result=prompts.clip(text, TRACE_TEXT_LIMIT))
        return {"value": value}

    def _tool_failed(self, reservation: Reservation, span: Span, name: str,
                     exc: BaseException) -> dict[str, str]:
        self.tree.budget.settle(reservation, Usage(), 0.0)
        error = f"tool {name} failed: {type(exc).__name__}: {exc}"
        span.finish(error=error)
        return {"error": error}

    async def child_runs(self, texts: list[str], contexts: Any, bases: Any = None) -> list[Any]:
        """Child runs at depth + 1 (plain sub-calls past max_depth), at most `concurrency` at once."""
        if contexts is not None and (not isinstance(contexts, list) or len(contexts) != len(texts)):
            raise ValueError("rlm_batch: give one context per prompt, or none")
        ctxs: list[Any] = contexts or [None] * len(texts)
        hints: list[int | None] = [
            b if isinstance(b, int) and not isinstance(b, bool) and b >= 0 else None
            for b in (bases if isinstance(bases, list) and len(bases) == len(texts)
                      else [None] * len(texts))
        ]
        if self.depth + 1 > self.tree.config.max_depth:
            flat = [p if c is None else f"{p}\n\n---\n{_as_text(c)}"
                    for p, c in zip(texts, ctxs, strict=True)]
            return await self.llm_calls(flat, {})
        self._claim(len(texts))
        reservations = self._reserve([0] * len(texts))
        slots = asyncio.Semaphore(self.tree.config.concurrency)

        async def child(prompt: str, ctx: Any, reservation: Reservation, hint: int | None) -> Any:
            async with slots:
                return await self._child(prompt, ctx, reservation, hint)

        jobs = zip(texts, ctxs, reservations, hints, strict=True)
        return list(await asyncio.gather(*(child(p, c, r, h) for p, c, r, h in jobs)))

    async def _child(self, prompt: str, ctx: Any, reservation: Reservation,
                     hint: int | None = None) -> Any:
        tree, budget = self.tree, self.tree.budget
        span = tree.trace.start("child_run", "child run", self.step_span, query=prompt)
        self.issued.append(span.span_id)
        tree.emit("child_start", self.depth + 1, query=prompt)
        try:
            result = await self.run_child(prompt if ctx is None else ctx, prompt, span, hint)
        except Exception as exc:
            budget.settle(reservation, None, None)
            span.finish(error=str(exc))
            return {"error": f"child run failed: {exc}"}
        budget.settle(reservation, Usage(), 0.0)
        span.finish(status=result.status, answer=prompts.clip(result.answer, TRACE_TEXT_LIMIT))
        tree.emit("child_end", self.depth + 1, status=result.status)
        if result.answer and result.citations:  # already placed in this run's context
            return {"answer": result.answer, "cite": as_specs(result.citations)}
        if result.answer:
            return result.answer
        return {"error": f"child run ended with status {result.status}: {result.error}"}


    def record_flow(self, args: dict[str, Any]) -> None:
        """Keep on the current code step what the worker says fed its final answer.

        The report comes from model-run code, so only spans this run handed to the worker and
        steps of this run are kept; the credit is computed from it later (`trace.credit`).
        """
        span = self.step_span
        step = _int(args.get("step"))
        if span is None or step is None:
            return
        results: list[dict[str, Any]] = []
        for entry in _entries(args.get("results")):
            if (len(entry) == 3 and entry[0] in self.result_spans
                    and entry[1] in ("value", "text") and _float(entry[2], None) is not None):
                results.append({"span_id": entry[0], "method": entry[1],
                                "chars": max(0.0, float(entry[2]))})
        steps: set[int] = set()
        last = len(self.code_spans) - 1
        for entry in _entries(args.get("vars")):
            assigned = _int(entry[1]) if len(entry) == 2 else None
            if assigned is not None and assigned <= step and last - (step - assigned) >= 0:
                steps.add(self.code_spans[last - (step - assigned)].span_id)
        span.attrs["flow"] = {
            "hash": str(args.get("hash", ""))[:16], "chars": _int(args.get("chars")) or 0,
            "results": results, "steps": sorted(steps),
        }


def _schema(value: Any) -> OutputSchema | None:
    """The JSON schema a worker asked its sub-calls to follow, checked."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ValueError("schema must be a JSON schema dict or a dict of field types")
    try:
        return OutputSchema.of(value)
    except ConfigError as exc:
        raise ValueError(str(exc)) from None


def _entries(value: Any) -> list[list[Any]]:
    """The list entries of a `flow` report field, bounded."""
    if not isinstance(value, list):
        return []
    return [e for e in value[:MAX_FLOW_ENTRIES] if isinstance(e, list)]


def _texts(value: Any) -> list[str]:
    if not isinstance(value, list):
        raise ValueError("expected a list of prompts")
    return [v if isinstance(v, str) else str(v) for v in value]


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, EncodedContext):
        return value.data.decode("utf-8", "replace")
    return json.dumps(value, ensure_ascii=False, default=str)


def _int(value: Any) -> int | None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    return int(value) if ok and math.isfinite(value) and value > 0 else None


def _float(value: Any, default: float | None) -> float | None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    return float(value) if ok and math.isfinite(value) else default

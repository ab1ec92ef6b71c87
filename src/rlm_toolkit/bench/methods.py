"""The methods compared: RLM at a given depth, the model reading the text directly (cut to its
window), and a plain map-reduce over chunks. Each turns a task into an answer plus counts."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ..errors import ConfigError, ContextTooLong
from ..providers.base import Completion, CompletionOptions, Message, Provider, estimate_tokens
from .task import Task

ANSWER_SYSTEM = (
    "You answer questions about a document. Reply with the answer only, in the format the "
    "question asks for."
)
DEFAULT_WINDOW = 32_768
# Characters per token used to fit text into a window. 4 matches `estimate_tokens` and
# English prose; tokenizers that split digits one by one need about 3 on the OOLONG records.
CHARS_PER_TOKEN = 4.0
#: Cuts tried when the provider counts more tokens than estimated.
CUT_TRIES = 3


@dataclass
class MethodOutput:
    """What one method produced for one task. `cost` is None when a price was unknown."""

    answer: str
    status: str = "ok"
    input_tokens: int = 0
    output_tokens: int = 0
    cost: float | None = 0.0
    iterations: int = 0
    subcalls: int = 0
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def add(self, completion: Completion) -> None:
        """Count one provider call."""
        self.input_tokens += completion.usage.input_tokens
        self.output_tokens += completion.usage.output_tokens
        if self.cost is not None:
            self.cost = None if completion.cost is None else self.cost + completion.cost


class Method(Protocol):
    """A way to answer a task."""

    name: str

    async def run(self, task: Task) -> MethodOutput: ...


def _count(value: Any) -> int:
    """A count that an engine may report as an int or as a list of records."""
    if value is None:
        return 0
    if isinstance(value, int):
        return value
    try:
        return len(value)
    except TypeError:
        return 0


class RLMMethod:
    """A recursive run through the public API: `RLM(...).arun(context=..., query=...)`."""

    def __init__(self, root: Provider, sub: Provider | None = None, *, depth: int = 1,
                 max_iterations: int = 20, trace_dir: str | os.PathLike[str] | None = None,
                 **config: Any) -> None:
        self.name = f"rlm{depth}" + ("+verify" if config.get("verify") else "")
        self.root, self.sub, self.depth = root, sub, depth
        self.max_iterations = max_iterations
        self.trace_dir = None if trace_dir is None else Path(trace_dir)
        self.config = config

    async def run(self, task: Task) -> MethodOutput:
        from .. import RLM, RLMConfig  # the engine; imported late so generation needs none of it

        config = RLMConfig(max_depth=self.depth, max_iterations=self.max_iterations,
                           **self.config)
        rlm = RLM(root=self.root, sub=self.sub or self.root, config=config)
        result = await rlm.arun(context=task.context, query=task.question)
        if self.trace_dir is not None:
            self.trace_dir.mkdir(parents=True, exist_ok=True)
            result.trace.save(self.trace_dir / f"{task.id}-{self.name}.jsonl")
        usage = result.usage
        status = getattr(result.status, "value", result.status)
        return MethodOutput(
            answer="" if result.answer is None else str(result.answer),
            status=str(status),
            input_tokens=int(getattr(usage, "input_tokens", 0) or 0),
            output_tokens=int(getattr(usage, "output_tokens", 0) or 0),
            cost=result.cost,
            iterations=_count(result.iterations),
            subcalls=_count(result.subcalls),
            error=getattr(result, "error", None),
            extra=grounding_extra(result),
        )


def grounding_extra(result: Any) -> dict[str, Any]:
    """What a result says about its grounding, for the record (citations, verdict, cost)."""
    cites = list(getattr(result, "citations", []) or [])
    verdict = getattr(result, "verdict", None)
    verify = (getattr(result, "extra", None) or {}).get("verify", {})
    return {
        "grounded": getattr(result, "grounded", None),
        "found": getattr(result, "found", True),
        "citations": len(cites),
        "citations_valid": sum(1 for c in cites if c.valid),
        "verdict": None if verdict is None else verdict.support,
        "verify_calls": verify.get("calls", 0),
        "verify_tokens": verify.get("total_tokens", 0),
        "verify_s": verify.get("elapsed_s", 0.0),
    }


def window_of(provider: Provider, window: int | None) -> int:
    """The window to fit: the flag, else the provider's own, else DEFAULT_WINDOW."""
    return window or provider.context_window or DEFAULT_WINDOW


def cut_middle(text: str, max_chars: int) -> tuple[str, bool]:
    """`text` cut to `max_chars` by dropping its middle (as LongBench does); and whether cut."""
    if len(text) <= max_chars:
        return text, False
    marker = "\n[... {} characters cut to fit the window ...]\n"
    keep = max(0, max_chars - len(marker.format(len(text))))
    head = keep // 2
    tail = keep - head
    cut = len(text) - keep
    return text[:head] + marker.format(cut) + (text[-tail:] if tail else ""), True


class DirectMethod:
    """The model given the whole text in one prompt, cut in the middle when it is too long."""

    name = "direct"

    def __init__(self, provider: Provider, *, window: int | None = None,
                 reserve_tokens: int = 2_048, max_tokens: int | None = None,
                 timeout_s: float | None = None,
                 chars_per_token: float = CHARS_PER_TOKEN) -> None:
        self.provider = provider
        self.timeout_s = timeout_s
        self.chars_per_token = chars_per_token
        self.window = window_of(provider, window)
        self.reserve = reserve_tokens
        self.max_tokens = max_tokens
        if self.window <= self.reserve + 256:
            raise ConfigError(
                f"window of {self.window} tokens leaves no room for the text; pass a larger "
                "--window"
            )

    async def run(self, task: Task) -> MethodOutput:
        room = self.window - self.reserve - estimate_tokens(task.question) - 64
        chars = int(room * self.chars_per_token)
        for _ in range(CUT_TRIES):
            context, cut = cut_middle(task.context, chars)
            messages: list[Message] = [
                {"role": "system", "content": ANSWER_SYSTEM},
                {"role": "user", "content": f"Document:\n{context}\n\nQuestion: {task.question}"},
            ]
            try:
                completion = await self.provider.complete(
                    messages, CompletionOptions(temperature=0.0, max_tokens=self.max_tokens,
                                                timeout_s=self.timeout_s)
                )
            except ContextTooLong as exc:  # denser text than the estimate: cut by the count
                chars = int(chars * (exc.window - self.reserve) / exc.prompt_tokens)
                continue
            out = MethodOutput(answer=completion.text, iterations=1,
                               extra={"truncated": cut, "kept_chars": len(context)})
            out.add(completion)
            return out
        raise ConfigError(f"the text of {task.id} does not fit a window of {self.window} "
                          f"tokens even cut to {chars:,} characters")


def chunk_text(text: str, size: int) -> list[str]:
    """`text` in chunks of at most about `size` characters, broken at line ends when possible."""
    chunks: list[str] = []
    start = 0
    while start < len(text):
        end = min(start + size, len(text))
        if end < len(text):
            cut = text.rfind("\n", start + size // 2, end)
            if cut == -1:
                cut = text.rfind(" ", start + size // 2, end)
            if cut != -1:
                end = cut + 1
        chunks.append(text[start:end])
        start = end
    return chunks


MAP_PROMPT = (
    "Below is part {i} of {n} of a long document.\n\n<part>\n{chunk}\n</part>\n\n"
    "Question about the whole document: {question}\n\n"
    "From this part alone, write down everything needed to answer the question: the relevant "
    "lines, facts or items, and counts where the question counts things. Be complete but "
    "brief. If this part holds nothing relevant, reply NONE."
)
MERGE_PROMPT = (
    "Here are notes taken from consecutive parts of a long document.\n\n{notes}\n\n"
    "Question about the document: {question}\n\nMerge these notes into one set, keeping every "
    "fact, item and count needed to answer the question. Do not answer yet."
)
REDUCE_PROMPT = (
    "Here are notes taken from every part of a long document, in order.\n\n{notes}\n\n"
    "Question about the document: {question}\n\nUsing the notes, answer the question."
)


class MapReduceMethod:
    """Ask `sub` about each chunk, then `root` to answer from the notes (merging them first
    in rounds when they do not fit the root's window)."""

    name = "mapreduce"

    def __init__(self, root: Provider, sub: Provider | None = None, *,
                 window: int | None = None, chunk_tokens: int | None = None,
                 concurrency: int = 4, max_tokens: int | None = None,
                 timeout_s: float | None = None,
                 chars_per_token: float = CHARS_PER_TOKEN) -> None:
        self.root = root
        self.timeout_s = timeout_s
        self.chars_per_token = chars_per_token
        self.sub = sub or root
        self.window = window_of(root, window)
        sub_window = window_of(self.sub, window)
        self.chunk_tokens = chunk_tokens or max(512, min(sub_window // 2, 32_768))
        self.concurrency = concurrency
        self.max_tokens = max_tokens

    async def _ask(self, provider: Provider, prompt: str, out: MethodOutput,
                   system: str | None = None) -> str:
        messages: list[Message] = []
        if system:
            messages.append({"role": "system", "content": system})
        messages.append({"role": "user", "content": prompt})
        completion = await provider.complete(
            messages, CompletionOptions(temperature=0.0, max_tokens=self.max_tokens,
                                        timeout_s=self.timeout_s)
        )
        out.add(completion)
        return completion.text

    async def _map(self, prompts: Sequence[str], out: MethodOutput) -> list[str]:
        gate = asyncio.Semaphore(self.concurrency)

        async def one(prompt: str) -> str:
            async with gate:
                return await self._ask(self.sub, prompt, out)

        results = await asyncio.gather(*(one(p) for p in prompts))
        out.subcalls += len(prompts)
        return list(results)

    async def run(self, task: Task) -> MethodOutput:
        out = MethodOutput(answer="")
        chunks = chunk_text(task.context, int(self.chunk_tokens * self.chars_per_token))
        notes = await self._map(
            [MAP_PROMPT.format(i=i + 1, n=len(chunks), chunk=c, question=task.question)
             for i, c in enumerate(chunks)], out)
        kept = [f"[Part {i + 1}] {n.strip()}" for i, n in enumerate(notes)
                if n.strip() and n.strip().upper() != "NONE"]
        room = int((self.window - 2_048) * self.chars_per_token)
        rounds = 0
        while len(kept) > 1 and sum(len(k) + 2 for k in kept) > room and rounds < 4:
            groups: list[list[str]] = [[]]
            for note in kept:
                if groups[-1] and sum(len(x) + 2 for x in groups[-1]) + len(note) > room:
                    groups.append([])
                groups[-1].append(note)
            if len(groups) == len(kept):  # every note alone is too big: merging cannot help
                break
            kept = await self._map(
                [MERGE_PROMPT.format(notes="\n\n".join(g), question=task.question)
                 for g in groups], out)
            rounds += 1
        joined, cut = cut_middle("\n\n".join(kept) or "(no part held anything relevant)", room)
        out.answer = await self._ask(
            self.root, REDUCE_PROMPT.format(notes=joined, question=task.question), out,
            system=ANSWER_SYSTEM)
        out.iterations = 1 + rounds
        out.extra = {"chunks": len(chunks), "merge_rounds": rounds, "notes_cut": cut}
        return out


def parse_method(name: str) -> tuple[str, int | None]:
    """ "rlm1" -> ("rlm", 1); "direct" -> ("direct", None); "mapreduce" likewise."""
    raw = name.strip().lower().replace("-", "").replace(":", "").removesuffix("+verify")
    if raw.startswith("rlm") and raw[3:].isdigit():
        return "rlm", int(raw[3:])
    if raw in ("direct", "mapreduce"):
        return raw, None
    raise ConfigError(
        f"unknown method {name!r}; use rlm0, rlm1, rlm2 (RLM at that depth; add +verify to "
        "check answers against their citations), direct or mapreduce"
    )


def wants_verify(name: str) -> bool:
    """True for "rlm1+verify": an RLM whose answers are verified (RLMConfig(verify=True))."""
    return name.strip().lower().endswith("+verify")

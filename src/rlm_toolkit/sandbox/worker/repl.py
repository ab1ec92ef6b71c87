"""The persistent REPL namespace the model's code runs in. Standard library only."""

from __future__ import annotations

import ast
import io
import linecache
import sys
import time
import traceback
from collections.abc import Sequence
from typing import Any, Protocol

from .channel import encode_value
from .flow import FlowTracker, split_reply
from .frames import ResultFrame, ValueFrame
from .helpers import (
    Match,
    Source,
    describe,
    find_items,
    grep,
    item_patterns,
    source_of,
    split_document,
)
from .mapping import MAP_BATCH, Mapped, classify, llm_map
from .structured import ToolError, ToolStub, as_record, json_schema, solve

PROTECTED = (
    "context", "llm", "llm_query", "llm_batch", "rlm_query", "rlm_batch",
    "FINAL", "FINAL_VAR", "SHOW_VARS", "split_document", "grep", "NOT_FOUND", "solve",
    "ToolError", "llm_map", "classify", "find_items", "item_patterns",
)
#: The answer that says the data does not hold what was asked (an honest "not found").
NOT_FOUND = "The data does not say."
#: At most this many citations a final answer; each cited text is sent up to CITE_TEXT_CHARS.
MAX_CITES = 50
CITE_TEXT_CHARS = 20_000


class Answer(str):
    """A child run's answer; `.cite` holds its citations, placed in this run's context."""

    cite: list[Match]

    def __new__(cls, text: str, cite: list[Match]) -> Answer:
        obj = super().__new__(cls, text)
        obj.cite = cite
        return obj


class BudgetExhausted(BaseException):
    """The run's budget is spent: no more LLM calls. Not an Exception, so it is not swallowed."""


class LLMFailed(str):
    """The text of a failed sub-call inside llm_batch: the batch goes on, this item says why."""

    failed = True


class CappedWriter(io.TextIOBase):
    """A stdout stand-in that keeps the first `limit` characters and counts the rest."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.parts: list[str] = []
        self.kept = 0
        self.dropped = 0

    def write(self, s: str) -> int:
        if not isinstance(s, str):
            raise TypeError(f"write() argument must be str, not {type(s).__name__}")
        room = self.limit - self.kept
        if room > 0:
            piece = s[:room]
            self.parts.append(piece)
            self.kept += len(piece)
            self.dropped += len(s) - len(piece)
        else:
            self.dropped += len(s)
        return len(s)

    def writable(self) -> bool:
        return True

    def getvalue(self) -> str:
        return "".join(self.parts)


class Caller(Protocol):
    """Sends one request to the host and returns its value; big contexts go as attachments."""

    def __call__(self, method: str, args: dict[str, Any],
                 attachments: Sequence[tuple[str, bytes]] = ...) -> Any: ...


class MemoryProxy:
    """The run's long-term memory, kept by the host: search it and add to it from code."""

    def __init__(self, call_host: Caller) -> None:
        self._call = call_host

    def search(self, query: str, k: int = 5) -> str:
        """The `k` memories most relevant to `query`, as a text block."""
        return str(self._call("memory.search", {"query": str(query), "k": int(k)}))

    def add(self, text: str) -> str:
        """Store `text` as a new memory episode; returns its id."""
        return str(self._call("memory.add", {"text": str(text)}))

    def __repr__(self) -> str:
        return "<memory: use memory.search(query, k=5) and memory.add(text)>"


class Repl:
    """Runs code steps in one namespace that persists between steps."""

    def __init__(self, context: Any, call_host: Caller, capture_limit: int = 1_000_000,
                 memory: bool = False) -> None:
        self._call = call_host
        self.capture_limit = capture_limit
        self.steps = 0
        self._final: dict[str, str] | None = None
        self._final_obj: Any = None  # the object given to FINAL (see flow)
        self.flow = FlowTracker()
        self._cite: list[dict[str, Any]] | None = None
        self._source: Source | None = None
        self.ns: dict[str, Any] = {"__name__": "__repl__", "__builtins__": __builtins__}
        self.originals: dict[str, Any] = {
            "context": context,
            "llm": self.llm,
            "llm_query": self.llm,
            "llm_batch": self.llm_batch,
            "rlm_query": self.rlm_query,
            "rlm_batch": self.rlm_batch,
            "FINAL": self.final,
            "FINAL_VAR": self.final_var,
            "SHOW_VARS": self.show_vars,
            "split_document": split_document,
            "grep": self.grep,
            "NOT_FOUND": NOT_FOUND,
            "solve": self.solve,
            "ToolError": ToolError,
            "llm_map": self.llm_map,
            "classify": self.classify,
            "find_items": self.find_items,
            "item_patterns": self.item_patterns,
            "__rlm_tools__": self.install_tools,
        }
        if memory:
            self.originals["memory"] = MemoryProxy(call_host)
        self.ns.update(self.originals)
        self._hidden = frozenset(self.originals) | {"__name__", "__builtins__", "answer"}
        self.ns["answer"] = {"content": "", "ready": False}

    # --- helpers visible to the model -------------------------------------------------
    def llm(self, prompt: Any, schema: Any = None, **options: Any) -> Any:
        """Ask a sub-LLM one question; returns its text, or with `schema` a checked Record."""
        if schema is not None:
            options["schema"] = json_schema(schema)
        reply = self._call("llm", {"prompts": [_text(prompt)], "options": options})
        items, spans = split_reply(reply)
        item = items[0]
        if isinstance(item, dict) and "error" in item:
            raise RuntimeError(f"llm() failed: {item['error']}")
        if isinstance(item, dict) and "json" in item:
            return as_record(item["json"])
        return self.flow.tag(str(item), spans[0])

    def llm_batch(self, prompts: list[Any], schema: Any = None, **options: Any) -> list[Any]:
        """Ask many prompts concurrently; results in input order, failures as LLMFailed text."""
        if isinstance(prompts, (str, bytes)) or not hasattr(prompts, "__iter__"):
            raise TypeError("llm_batch needs a list of prompts; for one prompt use llm(prompt)")
        texts = [_text(p) for p in prompts]
        if not texts:
            return []
        if schema is not None:
            options["schema"] = json_schema(schema)
        reply = self._call("llm", {"prompts": texts, "options": options})
        items, spans = split_reply(reply)
        return [as_record(r["json"]) if isinstance(r, dict) and "json" in r
                else self.flow.tag(_item(r), s) for r, s in zip(items, spans, strict=True)]

    def llm_map(self, items: Any, instruction: Any, schema: Any = None,
                batch: int = MAP_BATCH) -> Mapped:
        """Ask `instruction` about every item (one sub-call each, `batch` at a time).

        Returns one result per item, in order (a checked Record with `schema`, else text);
        an item whose call failed is None and its index is in `.failed` with the reason.
        """
        return llm_map(self.llm_batch, items, instruction, schema, batch)

    def classify(self, items: Any, labels: Any, instruction: Any = "",
                 batch: int = MAP_BATCH) -> Mapped:
        """One of `labels` for every item (grammar-constrained); failed items are None."""
        return classify(self.llm_batch, items, labels, instruction, batch)

    def find_items(self, text: Any = None, pattern: str | None = None,
                   max_chars: int = 4_000) -> list[Match]:
        """The repeated items of `text` (default: context), e.g. every "Review N:" entry."""
        return find_items(text, pattern, _default=self.originals["context"],
                          max_chars=max_chars)

    def item_patterns(self, text: Any = None) -> list[Any]:
        """The line heads that repeat in `text` (default: context), with counts and samples."""
        return item_patterns(text, _default=self.originals["context"])

    def solve(self, goal: Any, steps: list[Any] | None = None) -> str:
        """Plan, run each step as a fresh sub-call carrying the goal, then synthesise."""
        return solve(self.llm, goal, steps)

    def install_tools(self, names: list[str]) -> None:
        """Make each host tool callable by its name (done by the host when a run starts)."""
        for name in names:
            if isinstance(name, str) and name.isidentifier() and name not in self.originals:
                self.originals[name] = self.ns[name] = ToolStub(name, self._call)
        self._hidden = frozenset(self.originals) | {"__name__", "__builtins__", "answer"}

    def rlm_query(self, prompt: Any, context: Any = None) -> str:
        """Run a child RLM (one level deeper) on `context`, or on the prompt itself."""
        return self.rlm_batch([prompt], None if context is None else [context])[0]

    def rlm_batch(self, prompts: list[Any], contexts: list[Any] | None = None) -> list[str]:
        """Child RLM runs, concurrently; results in input order."""
        texts = [_text(p) for p in prompts]
        if contexts is not None and len(contexts) != len(texts):
            raise ValueError("rlm_batch: give one context per prompt, or none")
        # Each context crosses as an attachment (raw bytes in frames), never inside the JSON.
        attachments: list[tuple[str, bytes]] = []
        refs: list[int | None] | None = None
        if contexts is not None:
            refs = []
            for ctx in contexts:
                if ctx is None:
                    refs.append(None)
                else:
                    refs.append(len(attachments))
                    attachments.append(encode_value(ctx))
        bases = None if contexts is None else [_base(c) for c in contexts]
        reply = self._call("rlm", {"prompts": texts, "contexts": refs, "bases": bases},
                           attachments)
        items, spans = split_reply(reply)
        return [self.flow.tag(_child_item(r), s) for r, s in zip(items, spans, strict=True)]

    def final(self, value: Any, cite: Any = None) -> Any:
        """Give the final answer: the value as it is now, citing `cite` (matches from grep or
        split_document, (start, end) pairs, or exact quotes of the context)."""
        if cite is None:
            cite = getattr(value, "cite", None)
            if cite is None and isinstance(value, Match) and value.start is not None:
                cite = [value]
        self._cite = None if cite is None else cite_specs(cite)
        self._final = {"value": _text(value)}
        self._final_obj = value
        return value

    def final_var(self, name: Any) -> None:
        """Give the final answer: the variable called `name`, read when this step ends."""
        self._final = {"var": str(name).strip().strip("'\"")}

    def show_vars(self) -> dict[str, str]:
        """Your variables, each with its type and size."""
        return self.user_vars()

    def grep(self, pattern: str, text: Any = None, context_lines: int = 0,
             **kw: Any) -> list[Match]:
        """Matching lines of `text` (default: context) as "L<n>: line", each a `Match`."""
        return grep(pattern, text, context_lines, _default=self.originals["context"],
                    _source=self.source(), **kw)

    def source(self) -> Source:
        """The context as the text offsets count in (made once)."""
        if self._source is None:
            self._source = source_of(self.originals["context"])
        return self._source

    # --- stepping ---------------------------------------------------------------------
    def _names(self) -> dict[str, Any]:
        """The model's own variables (no helpers, modules, `answer` or `_private` names)."""
        hidden = self._hidden
        return {n: v for n, v in self.ns.items() if n not in hidden and not n.startswith("_")
                and type(v).__name__ != "module"}

    def user_vars(self, names: dict[str, Any] | None = None) -> dict[str, str]:
        """A description of each of the model's variables (at most 50)."""
        out: dict[str, str] = {}
        for name, value in (self._names() if names is None else names).items():
            out[name] = describe(value)
            if len(out) >= 50:
                break
        return out

    def run(self, code: str, step_id: Any = None) -> ResultFrame:
        """Run step `step_id`; report its output, error, final answer and state."""
        self.steps += 1
        self._final = None
        self._final_obj = None
        self._cite = None
        filename = f"<repl-{self.steps}>"
        out = CappedWriter(self.capture_limit)
        err = CappedWriter(self.capture_limit)
        error: str | None = None
        started = time.perf_counter()
        saved = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = out, err
        try:
            self._exec(code, filename)
        except BudgetExhausted as exc:
            error = f"BudgetExhausted: {exc}"
        except BaseException as exc:  # the model's code may raise anything, SystemExit too
            error = _trimmed_traceback(exc)
        finally:
            sys.stdout, sys.stderr = saved
        final = self._resolve_final()
        restored = self._restore()
        answer = self.ns.get("answer")
        if not isinstance(answer, dict):
            answer = {"content": "", "ready": False}
        names = self._names()
        self._track_flow(final, answer, names)
        cite = self._cite
        if cite is None and answer.get("cite") is not None and (final or answer.get("ready")):
            try:
                cite = cite_specs(answer["cite"])
            except (TypeError, ValueError) as exc:
                error = (error or "") + f"\nanswer['cite'] was not used: {exc}"
        frame: ResultFrame = {
            "op": "result",
            "id": step_id,
            "stdout": out.getvalue(),
            "stderr": err.getvalue(),
            "dropped_chars": out.dropped + err.dropped,
            "error": error,
            "final": final,
            "answer": {"content": _text(answer.get("content", "")), "ready": bool(answer.get("ready"))},
            "restored": restored,
            "vars": self.user_vars(names),
            "elapsed": time.perf_counter() - started,
        }
        if cite is not None:
            frame["cite"] = cite
        return frame

    def _track_flow(self, final: dict[str, str] | None, answer: dict[str, Any],
                    names: dict[str, Any]) -> None:
        """Note the step's assignments; at a final, tell the host what fed it (see flow)."""
        self.flow.after_step(names, self.steps)
        if final is not None and "value" in final:
            var = (self._final or {}).get("var")
            value = self.ns.get(var) if var is not None else self._final_obj
            self.flow.send(self._call, value, final["value"], names, self.steps)
        elif answer.get("ready"):
            content = answer.get("content", "")
            self.flow.send(self._call, content, _text(content), names, self.steps)

    def _exec(self, code: str, filename: str) -> None:
        linecache.cache[filename] = (len(code), None, code.splitlines(True), filename)
        tree = ast.parse(code, filename, "exec")
        last = tree.body[-1] if tree.body else None
        if isinstance(last, ast.Expr):
            body = ast.Module(body=tree.body[:-1], type_ignores=[])
            exec(compile(body, filename, "exec"), self.ns)
            value = eval(compile(ast.Expression(last.value), filename, "eval"), self.ns)
            if value is not None:
                print(repr(value))
        else:
            exec(compile(tree, filename, "exec"), self.ns)

    def _resolve_final(self) -> dict[str, str] | None:
        if self._final is None or "var" not in self._final:
            return self._final
        name = self._final["var"]
        if name in self.ns and name not in self.originals:
            return {"value": _text(self.ns[name])}
        return {"missing": name}

    def _restore(self) -> list[str]:
        restored = [n for n, v in self.originals.items() if self.ns.get(n) is not v]
        for name in restored:
            self.ns[name] = self.originals[name]
        return restored

    def resolve(self, name: str) -> ValueFrame:
        """The value of a variable as text, for FINAL_VAR written outside code."""
        name = name.strip().strip("'\"")
        if name in self.ns and name not in self.originals and not name.startswith("__"):
            return {"op": "value", "found": True, "value": _text(self.ns[name])}
        return {"op": "value", "found": False, "value": None}


def cite_specs(items: Any) -> list[dict[str, Any]]:
    """Citations as plain data for the host: {"start", "end", "text"} or {"quote"}."""
    if isinstance(items, str) or _is_pair(items):
        items = [items]
    if not isinstance(items, (list, tuple)):
        raise TypeError("cite must be a list of matches (from grep or split_document), "
                        "(start, end) pairs or exact quotes of the context")
    specs: list[dict[str, Any]] = []
    for item in list(items)[:MAX_CITES]:
        if isinstance(item, Match):
            text = item.text[:CITE_TEXT_CHARS]
            if item.start is None:
                specs.append({"quote": text})
            else:
                specs.append({"start": item.start, "end": item.end, "text": text})
        elif _is_pair(item):
            specs.append({"start": int(item[0]), "end": int(item[1])})
        elif isinstance(item, str):
            specs.append({"quote": item[:CITE_TEXT_CHARS]})
        elif isinstance(item, (list, dict)):
            specs.append({"quote": source_of(item).text[:CITE_TEXT_CHARS]})
        else:
            raise TypeError(f"cannot cite a {type(item).__name__}: cite matches from grep or "
                            "split_document, (start, end) pairs or exact quotes of the context")
    return specs


def _is_pair(value: Any) -> bool:
    return (isinstance(value, (tuple, list)) and len(value) == 2
            and all(isinstance(v, int) and not isinstance(v, bool) for v in value))


def _base(ctx: Any) -> int | None:
    """Where a child's context starts in this run's context, when it is a located chunk."""
    if isinstance(ctx, Match) and ctx.start is not None and ctx.text == str(ctx):
        return ctx.start
    return None


def _child_item(reply: Any) -> str:
    if isinstance(reply, dict) and "answer" in reply:
        cites = []
        for c in reply.get("cite") or []:
            if isinstance(c, dict) and isinstance(c.get("text"), str):
                cites.append(Match(c["text"], start=c.get("start"), end=c.get("end"),
                                   line=c.get("line")))
        return Answer(_text(reply["answer"]), cites)
    return _item(reply)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


def _item(reply: Any) -> str:
    if isinstance(reply, dict) and "error" in reply:
        return LLMFailed(f"[LLM call failed: {reply['error']}]")
    return str(reply)


def _trimmed_traceback(exc: BaseException) -> str:
    """The traceback of the model's own code only: our frames are left out."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename.startswith("<repl-")]
    lines = traceback.format_list(frames)
    lines += traceback.format_exception_only(type(exc), exc)
    head = "Traceback (most recent call last):\n" if frames else ""
    return head + "".join(lines)

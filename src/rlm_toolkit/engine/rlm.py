"""The RLM class: the public entry point.

    rlm = RLM.from_ollama("llama3")
    result = rlm.run(context=open("huge.txt").read(), query="Find the main conclusions")
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError
from ..folders import FolderContext
from ..privacy import Egress, ScrubbedListener
from ..providers import resolve
from ..providers.base import Completion, CompletionOptions, Message, Provider
from ..providers.resilience import for_purpose
from ..tools import ToolBox, ToolsSpec
from ..trace.otel import OTelExporter
from .config import RLMConfig
from .context import check_memory_limit, prepare_context_async
from .direct import DirectRun, route_for
from .events import Event, EventHandler
from .grounding import SubCallJudge
from .kept import KeptRepl
from .loop import Run
from .ports import Memory, Verifier
from .program import ProgramRun
from .result import RLMResult
from .schema import OutputSchema
from .tree import RunTree

if TYPE_CHECKING:
    from ..sessions import Session

ProviderSpec = str | Provider | list[str | Provider]


class RLM:
    """A Recursive Language Model: `root` writes code over the context, `sub` reads slices.

    `root` and `sub` are provider objects or "provider/model" strings; `sub` defaults to
    `root`. `base_url` and `api_key` apply to providers named by string. `tools`: the user's
    functions (`{"lookup": fn}`), an `MCPServer`, or a list of them, callable by name from
    model code; they run on the host (see `rlm_toolkit.tools`).
    """

    def __init__(
        self,
        root: ProviderSpec,
        sub: ProviderSpec | None = None,
        config: RLMConfig | None = None,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        memory: Memory | None = None,
        remember: bool = False,
        verifier: Verifier | None = None,
        tools: ToolsSpec | None = None,
        **provider_options: Any,
    ) -> None:
        if config is not None and not isinstance(config, RLMConfig):
            raise ConfigError(f"config must be an RLMConfig, got {type(config).__name__}")
        self.config = config or RLMConfig()
        opts = {"base_url": base_url, "api_key": api_key, **provider_options}
        self.root: Provider = resolve(root, **opts)
        # The sub-calls get breakers of their own (also when the root object is passed as
        # the sub): a failing sub model must not shut the root out.
        self.sub: Provider = (for_purpose(self.root, "sub") if sub is None or sub is root
                              else resolve(sub, **opts))
        self.memory = memory
        self.remember = remember
        self.verifier: Verifier = verifier or SubCallJudge()
        self.tools = ToolBox(tools) if tools else None
        self._provider_opts = opts
        self._judges: dict[str, Provider] = {}
        # The gate of calls made outside a run (memory summaries, a plain chat): its audit.
        self.direct_egress: Egress | None = None
        if remember and memory is None:
            raise ConfigError("remember=True needs a memory: RLM(..., memory=HierarchicalMemory())")

    # --- factories ----------------------------------------------------------------------
    @classmethod
    def from_provider(cls, spec: ProviderSpec, **kwargs: Any) -> RLM:
        """An RLM on any provider: "groq/llama-3.3-70b-versatile", a provider object, a list."""
        return cls(spec, **kwargs)

    @classmethod
    def from_openai(cls, model: str = "gpt-4o-mini", **kwargs: Any) -> RLM:
        """OpenAI or any OpenAI-compatible server (pass base_url=...). Key: OPENAI_API_KEY."""
        return cls(f"openai/{model}", **kwargs)

    @classmethod
    def from_ollama(cls, model: str = "llama3", **kwargs: Any) -> RLM:
        """A model served by Ollama at OLLAMA_HOST (default 127.0.0.1:11434)."""
        return cls(f"ollama/{model}", **kwargs)

    @classmethod
    def from_anthropic(cls, model: str = "claude-sonnet-5-5", **kwargs: Any) -> RLM:
        """Anthropic's Messages API. Key: ANTHROPIC_API_KEY."""
        return cls(f"anthropic/{model}", **kwargs)

    @classmethod
    def from_gemini(cls, model: str = "gemini-2.5-flash", **kwargs: Any) -> RLM:
        """Google Gemini. Key: GEMINI_API_KEY or GOOGLE_API_KEY."""
        return cls(f"gemini/{model}", **kwargs)

    @classmethod
    def local(cls, model: str = "qwen2.5-coder-1.5b", **kwargs: Any) -> RLM:
        """The embedded local model: no server, no API key (`pip install rlm-toolkit[local]`)."""
        return cls(f"local/{model}", **kwargs)

    # --- running ------------------------------------------------------------------------
    async def arun(
        self,
        context: str | bytes | list[Any] | dict[str, Any] | Path | FolderContext,
        query: str | None = None,
        *,
        code: str | None = None,
        program_name: str = "<program>",
        on_event: EventHandler | None = None,
        config: RLMConfig | None = None,
        output: Any = None,
        keep: KeptRepl | None = None,
    ) -> RLMResult:
        """Run over `context` to answer `query`. Never raises for a limit: see `result.status`.

        `output`: a Pydantic model, a dataclass or a JSON schema dict the final answer must
        match; the model is told the schema, a mismatch goes back to it once, and
        `result.output` is the validated value (status "invalid_output" if it never matched).

        Program mode: with `code` instead of `query`, that code (yours, not a model's) runs
        once in the jail with `llm()` and friends; the result's answer is what it gives with
        FINAL(x) or sets in `answer`. Errors name `program_name` and your own line numbers.

        `keep`: a session's REPL kept between runs (see `RLM.session`).
        """
        if code is not None:
            if query is not None:
                raise ConfigError("give query (a model writes the code) or code (your own "
                                  "program), not both")
            if not isinstance(code, str) or not code.strip():
                raise ConfigError("code must be a non-empty string of Python: your program")
        elif not isinstance(query, str) or not query.strip():
            raise ConfigError("query must be a non-empty string: what should the model find?")
        if config is not None and not isinstance(config, RLMConfig):
            raise ConfigError(f"config must be an RLMConfig, got {type(config).__name__}")
        cfg = config or self.config
        schema = None if output is None else OutputSchema.of(output)
        prepared = (keep.prepared if keep is not None and keep.prepared is not None
                    else await prepare_context_async(context))  # ConfigError before any call
        if keep is not None:
            keep.prepared = prepared
        check_memory_limit(prepared.encoded, cfg.memory_limit_mb)
        # Every prompt of the run leaves through this one gate (redaction, policy, audit).
        # A folder's files are read on demand; "local-only" must know them all to hold them back.
        known = (prepared.files.joined_text() if prepared.files is not None
                 and cfg.egress == "local-only" else prepared.text())
        egress = Egress(cfg.egress, cfg.redact, known, cfg.egress_max_verbatim)
        judge = egress.gate(self._judge(cfg.verify_model), "verify") if cfg.verify else None
        exporter = OTelExporter(code_chars=cfg.otel_code_chars) if cfg.otel else None
        handler = on_event
        if on_event is not None and egress.redacting:
            def handler(event: Event) -> None:
                on_event(Event(event.kind, event.depth, event.iteration,
                               egress.scrub(event.data)))
        tree = RunTree.create(cfg, egress.gate(self.root, "root"), egress.gate(self.sub, "sub"),
                              on_event=handler, memory=self.memory,
                              verifier=self.verifier if cfg.verify else None, judge=judge)
        tree.trace.metadata.update(
            root_model=self.root.name, sub_model=self.sub.name, max_depth=cfg.max_depth,
            max_iterations=cfg.max_iterations, backend=self.root.name.split("/")[0],
            backend_kwargs={"model_name": self.root.name}, other_backends=[self.sub.name],
            environment_kwargs={"sandbox": cfg.sandbox},
        )
        tree.trace.listener = (ScrubbedListener(exporter, egress)
                               if exporter is not None and egress.redacting else exporter)
        direct = code is None and schema is None and keep is None and \
            route_for(cfg, prepared.text(), self.root.context_window) == "direct"
        run = (ProgramRun(tree, prepared, code, program_name) if code is not None
               else DirectRun(tree, prepared, query or "") if direct
               else Run(tree, prepared, query or "", output=schema))
        tree.trace.metadata["route"] = "direct" if direct else "rlm"
        tree.goal = query or ""
        tree.kept = keep
        try:
            if self.tools is not None:
                tree.tools, tree.tool_specs = self.tools, await self.tools.start()
            result = await run.execute()
        finally:
            if self.tools is not None:
                await self.tools.close()
            if exporter is not None:
                exporter.close()  # the last spans go out in the background
            audit = egress.audit.to_dict()
            if egress.redacting:  # the trace keeps placeholders only, never the values
                tree.trace.metadata = egress.scrub(tree.trace.metadata)
                for span in tree.trace.spans():
                    span.attrs = egress.scrub(span.attrs)
                    span.error = egress.scrub(span.error)
            if tree.trace.root is not None:
                tree.trace.root.attrs["egress"] = audit
        result.answer = egress.restore(result.answer)
        result.egress = audit
        if self.remember and self.memory is not None and result.answer:
            await asyncio.to_thread(
                self.memory.add_episode, f"Q: {query or program_name}\nA: {result.answer}",
                {"source": "rlm", "status": result.status},
            )
        return result

    def session(self, context: Any, **options: Any) -> Session:
        """Many questions over `context`, the REPL kept between them (`sessions.Session`).

        Options: config, history, question_max_tokens, question_max_cost, max_tokens,
        max_cost. Use it as a context manager, or call `close()`.
        """
        from ..sessions import Session  # the layer above, reached only when asked for

        return Session(self, context, **options)

    def _direct(self) -> Egress:
        if self.direct_egress is None:
            cfg = self.config
            self.direct_egress = Egress(cfg.egress, cfg.redact, "", cfg.egress_max_verbatim)
        return self.direct_egress

    @property
    def summary_model(self) -> Provider:
        """The sub model behind an egress gate of this RLM's config, for a memory's summaries
        (`HierarchicalMemory(llm=rlm)`); what it sent is audited in `direct_egress`."""
        return self._direct().gate(self.sub, "sub")

    async def complete(self, messages: list[Message], options: CompletionOptions) -> Completion:
        """One plain call to the root model (no REPL, no context) through this RLM's egress
        gate: redacted as a run's prompts are, replies restored, audited in `direct_egress`."""
        return await self._direct().gate(self.root, "root").complete(messages, options)

    def run(
        self,
        context: str | bytes | list[Any] | dict[str, Any] | Path | FolderContext,
        query: str | None = None,
        **kwargs: Any,
    ) -> RLMResult:
        """The synchronous `arun` (also program mode: `run(context=..., code=...)`). Works
        inside a running event loop too (Jupyter)."""

        async def once() -> RLMResult:
            try:
                return await self.arun(context, query, **kwargs)
            finally:
                await self._close_clients()

        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(once())
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            # The caller's context goes along (its current OpenTelemetry span, for one).
            caller = contextvars.copy_context()
            return pool.submit(caller.run, asyncio.run, once()).result()

    def _judge(self, spec: str | None) -> Provider:
        """The verifier's model: `verify_model` (resolved once), else the sub model."""
        if spec is None:
            return self.sub
        if spec not in self._judges:
            self._judges[spec] = resolve(spec, **self._provider_opts)
        return self._judges[spec]

    async def aclose(self) -> None:
        """Close the providers' connections (`run` does this itself after each run)."""
        await self._close_clients()

    async def _close_clients(self) -> None:
        providers = (self.root, self.sub, *self._judges.values())
        for provider in {id(p): p for p in providers}.values():
            await provider.aclose()

    def __repr__(self) -> str:
        return f"RLM(root={self.root.name!r}, sub={self.sub.name!r})"

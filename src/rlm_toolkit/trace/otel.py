"""Live OpenTelemetry export of a run's spans (extra `[otel]`).

`RLMConfig(otel=True)` (or `rlm run --otel`) hangs an `OTelExporter` on the run's trace: each
span is started in OpenTelemetry when the run starts it and ended when the run ends it, with
the same parent/child links (run -> iteration -> root call / code step -> sub-call / child
run). Model calls carry the GenAI semantic conventions (`gen_ai.operation.name`,
`gen_ai.request.model`, `gen_ai.provider.name`, `gen_ai.usage.input_tokens`, ...); a code step
carries its code, cut to `code_chars`.

Where the spans go: an application that already set a tracer provider gets them there, under
its current span. Otherwise the run makes its own provider and sends over OTLP
(http/protobuf) to the standard `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` /
`OTEL_EXPORTER_OTLP_ENDPOINT` (default http://localhost:4318), in the background: a collector
that is down or slow never blocks or fails the run (the spans are then dropped).

Prompts and replies are not sent unless `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`
is `true` (the GenAI instrumentations' own switch): they may hold the user's data.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from typing import Any

from ..errors import ConfigError
from .spans import Span

INSTALL_HINT = ("OpenTelemetry export needs the [otel] extra: pip install 'rlm-toolkit[otel]' "
                "(opentelemetry-sdk and opentelemetry-exporter-otlp-proto-http)")
CAPTURE_CONTENT_ENV = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
#: How often the run's own provider sends what has ended (milliseconds).
SCHEDULE_DELAY_MS = 1_000
#: One export request's limit when OTEL_EXPORTER_OTLP_TIMEOUT does not say (seconds).
EXPORT_TIMEOUT_S = 5.0
DEFAULT_CODE_CHARS = 4_000
_SPAN_NAMES = {"run": "rlm.run", "iteration": "rlm.iteration", "code": "rlm.code",
               "child_run": "rlm.child_run", "final": "rlm.answer_now"}
_OPENINFERENCE_KINDS = {"run": "CHAIN", "iteration": "CHAIN", "code": "TOOL", "llm": "LLM",
                        "root_llm": "LLM", "child_run": "AGENT", "final": "CHAIN"}


class OTelExporter:
    """A `SpanListener` that mirrors the run's spans into OpenTelemetry as they happen.

    `tracer_provider`: where to send (None: the application's global provider if it set one,
    else a provider of our own sending over OTLP). Every hook swallows its own errors: export
    never changes a run.
    """

    def __init__(self, tracer_provider: Any = None, *, code_chars: int = DEFAULT_CODE_CHARS,
                 service_name: str = "rlm-toolkit") -> None:
        try:
            from opentelemetry import context as otel_context
            from opentelemetry import trace as otel_trace
        except ImportError:
            raise ConfigError(INSTALL_HINT) from None
        self._trace = otel_trace
        self._context = otel_context
        self.code_chars = code_chars
        self.capture_content = os.environ.get(CAPTURE_CONTENT_ENV, "").lower() == "true"
        self.own_provider: Any = None
        if tracer_provider is None:
            current = otel_trace.get_tracer_provider()
            if _is_configured(current):
                tracer_provider = current
            else:
                tracer_provider = self.own_provider = _own_provider(service_name)
        self.tracer = tracer_provider.get_tracer("rlm_toolkit")
        self._live: dict[int, Any] = {}
        self._parent_context = otel_context.get_current()  # the app's current span, if any
        self._lock = threading.Lock()

    # --- SpanListener ---------------------------------------------------------------------
    def on_start(self, span: Span) -> None:
        with contextlib.suppress(Exception):
            with self._lock:
                parent = self._live.get(span.parent_id) if span.parent_id is not None else None
            ctx = (self._trace.set_span_in_context(parent) if parent is not None
                   else self._parent_context)
            kind = (self._trace.SpanKind.CLIENT if span.kind in ("llm", "root_llm")
                    else self._trace.SpanKind.INTERNAL)
            otel_span = self.tracer.start_span(
                _name(span), context=ctx, kind=kind, start_time=int(span.start * 1e9),
                attributes={"rlm.span_id": span.span_id, "rlm.kind": span.kind,
                            "openinference.span.kind": _OPENINFERENCE_KINDS.get(span.kind,
                                                                                "CHAIN")},
            )
            with self._lock:
                self._live[span.span_id] = otel_span

    def on_end(self, span: Span) -> None:
        with contextlib.suppress(Exception):
            with self._lock:
                otel_span = self._live.pop(span.span_id, None)
            if otel_span is None:
                return
            otel_span.set_attributes(self.attributes(span))
            if span.error:
                otel_span.set_status(self._trace.Status(self._trace.StatusCode.ERROR,
                                                        span.error[:1_000]))
            otel_span.end(end_time=int((span.end or span.start) * 1e9))

    # --- what each span carries -----------------------------------------------------------
    def attributes(self, span: Span) -> dict[str, Any]:
        """The OpenTelemetry attributes of a finished span."""
        a = span.attrs
        out: dict[str, Any] = {}
        if span.kind in ("llm", "root_llm"):
            out.update(_genai(a))
            if self.capture_content:
                prompt = a.get("prompt")
                if prompt is not None:
                    out["gen_ai.input.messages"] = _messages(prompt)
                    out["input.value"] = _cut(_as_text(prompt), self.code_chars)
                if a.get("response") is not None:
                    out["output.value"] = _cut(str(a["response"]), self.code_chars)
        elif span.kind == "code":
            out["rlm.code"] = _cut(str(a.get("code", "")), self.code_chars)
            out["input.value"] = out["rlm.code"]
            out["rlm.code.chars"] = len(str(a.get("code", "")))
            if self.capture_content:
                out["output.value"] = _cut(str(a.get("stdout", "")), self.code_chars)
        elif span.kind in ("run", "child_run"):
            for key in ("depth", "iterations", "subcalls", "status"):
                if isinstance(a.get(key), (int, str)) and not isinstance(a.get(key), bool):
                    out[f"rlm.{key}"] = a[key]
            usage = a.get("usage")
            if isinstance(usage, dict):
                # rlm.*, not gen_ai.*: backends add up gen_ai usage, and the calls carry it
                out.update({f"rlm.usage.{k}": v for k, v in usage.items()
                            if isinstance(v, int) and not isinstance(v, bool)})
            if self.capture_content and a.get("answer") is not None:
                out["output.value"] = _cut(str(a["answer"]), self.code_chars)
        if isinstance(a.get("cost"), (int, float)) and not isinstance(a.get("cost"), bool):
            out["rlm.cost"] = float(a["cost"])
        return out

    def close(self) -> threading.Thread | None:
        """Send what is left and stop our own provider, in the background (never blocks).

        Returns the thread doing it (join it to wait), or None when the spans went to the
        application's provider, which the application flushes itself.
        """
        provider, self.own_provider = self.own_provider, None
        if provider is None:
            return None
        thread = threading.Thread(target=_shutdown, args=(provider,), name="rlm-otel-flush")
        thread.start()  # not a daemon: the process waits for the last spans at exit
        return thread


def _shutdown(provider: Any) -> None:
    with contextlib.suppress(Exception):
        provider.shutdown()


def _is_configured(provider: Any) -> bool:
    """True for a provider the application set (not the API's no-op or proxy default)."""
    name = type(provider).__name__
    return name not in ("ProxyTracerProvider", "NoOpTracerProvider")


def _own_provider(service_name: str) -> Any:
    """A provider sending over OTLP http/protobuf, configured by the standard variables."""
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError:
        raise ConfigError(INSTALL_HINT) from None
    protocol = (os.environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
                or os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL") or "http/protobuf")
    if protocol != "http/protobuf":
        raise ConfigError(f"OTLP protocol {protocol!r} is not supported: rlm-toolkit sends "
                          "http/protobuf; unset OTEL_EXPORTER_OTLP_PROTOCOL or set it to "
                          "http/protobuf (collectors listen for it on port 4318)")
    timeout = None if os.environ.get("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT") or os.environ.get(
        "OTEL_EXPORTER_OTLP_TIMEOUT") else EXPORT_TIMEOUT_S
    name = os.environ.get("OTEL_SERVICE_NAME") or service_name
    # Shut down by `close` (no atexit hook that would keep every run's provider alive).
    provider = TracerProvider(resource=Resource.create({"service.name": name}),
                              shutdown_on_exit=False)
    provider.add_span_processor(BatchSpanProcessor(
        OTLPSpanExporter(timeout=timeout), schedule_delay_millis=SCHEDULE_DELAY_MS))
    return provider


def _name(span: Span) -> str:
    if span.kind in ("llm", "root_llm"):
        return f"chat {span.attrs.get('model', '')}".strip()
    return _SPAN_NAMES.get(span.kind, f"rlm.{span.kind}")


def _genai(a: dict[str, Any]) -> dict[str, Any]:
    """GenAI semantic-convention attributes of a model call."""
    model = str(a.get("model", ""))
    provider = model.split("/", 1)[0] if "/" in model else model
    out: dict[str, Any] = {
        "gen_ai.operation.name": "chat",
        "gen_ai.request.model": model,
        "gen_ai.provider.name": provider,
        "gen_ai.system": provider,
        "llm.model_name": model,
    }
    usage = a.get("usage")
    if isinstance(usage, dict):
        for ours, theirs in (("input_tokens", "gen_ai.usage.input_tokens"),
                             ("output_tokens", "gen_ai.usage.output_tokens")):
            if isinstance(usage.get(ours), int):
                out[theirs] = usage[ours]
        if isinstance(usage.get("input_tokens"), int):
            out["llm.token_count.prompt"] = usage["input_tokens"]
        if isinstance(usage.get("output_tokens"), int):
            out["llm.token_count.completion"] = usage["output_tokens"]
    if isinstance(a.get("finish_reason"), str):
        out["gen_ai.response.finish_reasons"] = [a["finish_reason"]]
    return out


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + f"... [+{len(text) - limit:,} chars]"


def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)


def _messages(prompt: Any) -> str:
    if isinstance(prompt, str):
        prompt = [{"role": "user", "content": prompt}]
    return json.dumps(prompt, ensure_ascii=False, default=str)

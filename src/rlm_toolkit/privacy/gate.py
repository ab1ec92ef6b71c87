"""The egress gate: the one provider wrapper every prompt of a run passes on its way out.

For each request it redacts (remote providers), applies the egress policy, records the audit,
and restores placeholders in the reply. One `Egress` per run holds the state; `gate(...)`
wraps each of the run's providers (root, sub, verifier) around it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any, Literal

from ..errors import ConfigError, ProviderError
from ..providers._support import Wrapper
from ..providers.base import Completion, CompletionOptions, Message, Provider
from .audit import EgressAudit
from .detectors import DEFAULT, Finder, build
from .redactor import Redactor
from .verbatim import ContextIndex, K

Policy = Literal["allow", "redact", "local-only"]
POLICIES: tuple[str, ...] = ("allow", "redact", "local-only")
#: Verbatim context longer than this may not go to a remote provider under "local-only".
DEFAULT_MAX_VERBATIM = 200
Purpose = Literal["root", "sub", "verify"]
#: Past this many characters of context, the audit does not measure coverage (its index would
#: cost about 4 bytes of memory per character) unless the policy needs it ("local-only").
MEASURE_LIMIT = 20_000_000


class EgressRefused(ProviderError):
    """A prompt to a remote provider carried raw context under `egress="local-only"`."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=False)


def is_local(provider: Provider) -> bool:
    """True for a provider whose prompts stay on this machine: the embedded `local/...` model,
    or one the user marked `local=True`. A loopback address alone does not count: it may be a
    proxy to a cloud API."""
    if provider.name.startswith("local/"):
        return True
    return getattr(provider, "local", False) is True


class Egress:
    """One run's gate: its redactor (placeholders stable for the run), policy, context index
    and audit. Never shared between runs."""

    def __init__(self, policy: str = "allow", redact: Sequence[Any] | None = None,
                 context: str = "", max_verbatim: int = DEFAULT_MAX_VERBATIM) -> None:
        if policy not in POLICIES:
            raise ConfigError(f"egress must be one of {', '.join(POLICIES)}; got {policy!r}")
        specs = list(redact) if redact is not None else (
            list(DEFAULT) if policy == "redact" else [])
        self.policy = policy
        self.detectors: list[Finder] = build(specs)
        self.redactor = Redactor(self.detectors)
        self.max_verbatim = max_verbatim
        self.index = ContextIndex(context)
        self.measure = policy == "local-only" or len(context) <= MEASURE_LIMIT
        self.audit = EgressAudit(policy, len(context), measured=self.measure)

    @property
    def redacting(self) -> bool:
        return self.redactor.active

    def gate(self, provider: Provider, purpose: Purpose) -> EgressGate:
        """`provider` behind this run's gate, for `purpose` (root, sub or verify)."""
        inner = provider.inner if isinstance(provider, EgressGate) else provider
        return EgressGate(inner, self, purpose)

    def outbound(self, provider: Provider, purpose: Purpose,
                 messages: list[Message]) -> list[Message]:
        """The messages as they may leave for `provider`; records them in the audit.

        Raises EgressRefused for a sub-call (or verifier call) to a remote provider that
        carries more than `max_verbatim` characters of the context under "local-only"; a root
        prompt has such pieces withheld instead, so the run can go on.
        """
        local = is_local(provider)
        entry = self.audit.provider(provider.name, local)
        counts: Counter[str] = Counter()
        out: list[Message] = []
        withheld = 0
        for message in messages:
            text = message["content"]
            if self.redacting and not local:
                text, found = self.redactor.redact(text)
                counts.update(found)
            pieces = self.index.pieces(text, K) if self.measure else []
            big = [p for p in pieces if p.length > self.max_verbatim]
            if big and self.policy == "local-only" and not local:
                if purpose != "root":
                    entry.refused += 1
                    longest = max(p.length for p in big)
                    raise EgressRefused(
                        f"egress=local-only refused this prompt to {provider.name}, a remote "
                        f"provider: it carries {longest:,} characters of the context word for "
                        f"word (at most {self.max_verbatim:,} may leave). Send an aggregate "
                        "(counts, a short summary, the few lines that matter), or use a local "
                        "sub model (local/..., or a provider marked local=True)"
                    )
                text, cut = _withhold(text, big)
                withheld += cut
                pieces = [p for p in self.index.pieces(text, K)]
            entry.ranges.extend(p.ctx_range for p in pieces)
            out.append({"role": message["role"], "content": text})
        entry.requests += 1
        entry.purposes[purpose] += 1
        entry.chars_sent += sum(len(m["content"]) for m in out)
        entry.redactions.update(counts)
        entry.withheld_chars += withheld
        return out

    def restore(self, text: str) -> str:
        """Placeholders in `text` turned back into the values (on the host only)."""
        return self.redactor.restore(text)

    def scrub(self, value: Any) -> Any:
        """`value` (text, or lists and dicts of it) with every detected value redacted."""
        if not self.redacting:
            return value
        if isinstance(value, str):
            return self.redactor.scrub(value)
        if isinstance(value, list):
            return [self.scrub(v) for v in value]
        if isinstance(value, tuple):
            return tuple(self.scrub(v) for v in value)
        if isinstance(value, dict):
            return {k: self.scrub(v) for k, v in value.items()}
        return value


def _withhold(text: str, pieces: list[Any]) -> tuple[str, int]:
    """`text` with each piece replaced by a note saying what was withheld, and how much."""
    parts: list[str] = []
    at, cut = 0, 0
    for p in sorted(pieces, key=lambda x: x.start):
        if p.start < at:
            continue
        parts.append(text[at:p.start])
        parts.append(f"[withheld: {p.length:,} characters of the context (egress=local-only); "
                     "print an aggregate, or read it with a local sub model]")
        cut += p.length
        at = p.end
    parts.append(text[at:])
    return "".join(parts), cut


class EgressGate(Wrapper):
    """A provider behind the run's gate: what it is sent is redacted, checked and audited;
    what it answers has the placeholders restored."""

    def __init__(self, inner: Provider, egress: Egress, purpose: Purpose) -> None:
        super().__init__(inner)
        self.egress = egress
        self.purpose: Purpose = purpose

    async def complete(self, messages: list[Message], options: CompletionOptions) -> Completion:
        sent = self.egress.outbound(self.inner, self.purpose, messages)
        completion = await self.inner.complete(sent, options)
        completion.text = self.egress.restore(completion.text)
        return completion


class ScrubbedListener:
    """A trace listener (live export) that is handed each span with its values redacted."""

    def __init__(self, inner: Any, egress: Egress) -> None:
        self.inner = inner
        self.egress = egress

    def on_start(self, span: Any) -> None:
        self._scrub(span)
        self.inner.on_start(span)

    def on_end(self, span: Any) -> None:
        self._scrub(span)
        self.inner.on_end(span)

    def _scrub(self, span: Any) -> None:
        span.attrs = self.egress.scrub(span.attrs)
        span.error = self.egress.scrub(span.error)

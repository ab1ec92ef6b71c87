"""The shape of every frame on the host-worker channel, used by both sides.

Standard library only: the worker imports it as `worker.frames` from its own folder, the host
as `rlm_toolkit.sandbox.worker.frames`, so there is one definition of each frame.
"""

# No `from __future__ import annotations`: TypedDict reads NotRequired at runtime.
from typing import Any, Literal, NotRequired, TypedDict

ContextKind = Literal["str", "bytes", "json"]


# --- host -> worker -------------------------------------------------------------------
class InitFrame(TypedDict):
    """Sent once after start: where the context is, the limits, the lockdown to apply."""

    op: Literal["init"]
    context_kind: ContextKind
    context_size: int
    context_fd: NotRequired[int]
    context_path: NotRequired[str]  # Windows: a read-only file by name
    capture_limit: int
    lockdown: dict[str, Any] | None
    memory: bool
    max_frame_bytes: int
    max_message_bytes: int


class ExecFrame(TypedDict):
    """Run one code step."""

    op: Literal["exec"]
    id: int
    code: str


class ResolveFrame(TypedDict):
    """Read a variable's text value (FINAL_VAR written outside code)."""

    op: Literal["resolve"]
    name: str


class ShutdownFrame(TypedDict):
    op: Literal["shutdown"]


class ReplyFrame(TypedDict):
    """The host's answer to a `call`: a value, or an error."""

    op: Literal["reply"]
    id: Any
    value: NotRequired[Any]
    error: NotRequired[str]
    budget_exhausted: NotRequired[bool]


# --- worker -> host -------------------------------------------------------------------
class ReadyFrame(TypedDict):
    op: Literal["ready"]
    pid: int
    context_len: int


class CallFrame(TypedDict):
    """An LLM call, child runs or a memory request; big contexts travel as attachments.

    For `rlm`, `args["contexts"]` holds, per prompt, None or the index of an attachment;
    `attachments` gives each attachment's kind, in the order the blobs were sent.
    """

    op: Literal["call"]
    id: int
    method: str
    args: dict[str, Any]
    attachments: NotRequired[list[ContextKind]]


class AnswerField(TypedDict):
    content: str
    ready: bool


class ResultFrame(TypedDict):
    """What one step produced."""

    op: Literal["result"]
    id: Any
    stdout: str
    stderr: str
    dropped_chars: int
    error: str | None
    final: dict[str, str] | None  # {"value": text} or {"missing": name}
    answer: AnswerField
    restored: list[str]
    vars: dict[str, str]
    elapsed: float
    cite: NotRequired[list[dict[str, Any]]]  # the final's citations: {start, end, text} or {quote}


class ValueFrame(TypedDict):
    op: Literal["value"]
    found: bool
    value: str | None


class ErrorFrame(TypedDict):
    op: Literal["error"]
    error: str

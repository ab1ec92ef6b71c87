"""Exceptions raised by rlm_toolkit. Each message says what was wrong and what to do.

Everything the library raises to a user derives from `RLMError`, so one `except RLMError`
catches them all. The tree:

    RLMError
    ├── ConfigError              (also a ValueError) a setting, argument or input is invalid
    ├── MissingDependency        (also an ImportError) an optional extra is not installed
    ├── ProviderError            an LLM call failed; `retryable`, `status`, `retry_after`
    │   ├── ProviderUnreachable  the server could not be reached (refused, DNS, TLS)
    │   ├── ProviderResponseError  the server answered, but the reply was cut or unreadable
    │   ├── AuthenticationError  the provider rejected the credentials
    │   └── CircuitOpen          (providers.resilience) too many failures; calls paused
    ├── BudgetExceeded           a call would go over a run's budget; `limit` names which
    ├── SandboxError             the REPL worker could not be started, kept or trusted
    │   ├── SandboxUnavailable   no isolation tier works on this machine
    │   ├── LockdownError        the worker could not lock itself down (fails closed)
    │   └── FrameError           a malformed or oversized frame on the worker's channel
    ├── MemoryStoreError         the memory store cannot be opened or read (names the path)
    └── ModelNotInstalled        (local.models) the local model's file is not downloaded

A run that stops on a limit does not raise: it returns an `RLMResult` whose `status` is the
limit and whose `answer` is the partial answer.
"""

from __future__ import annotations

from typing import Literal

Limit = Literal["max_tokens", "max_cost", "max_subcalls"]
"""A budget limit of the whole run tree; also a run's status when it stopped on one."""

LIMITS: tuple[Limit, ...] = ("max_tokens", "max_cost", "max_subcalls")


class RLMError(Exception):
    """Base class of every error the toolkit raises on purpose."""


class ConfigError(RLMError, ValueError):
    """A setting, argument or input is invalid; the message names it and the fix."""


class MissingDependency(RLMError, ImportError):
    """An optional dependency is not installed; the message names the extra to install."""

    def __init__(self, package: str, extra: str, what: str = "") -> None:
        hint = f"pip install 'rlm-toolkit[{extra}]'"
        super().__init__(f"{what or package} needs the '{package}' package: {hint}")
        self.package = package
        self.extra = extra


class ProviderError(RLMError):
    """An LLM call failed. `retryable` tells whether trying again may help.

    `status` is the HTTP status when there was one; `retry_after` is the server's Retry-After
    hint in seconds, when it sent one.
    """

    def __init__(
        self,
        message: str,
        *,
        retryable: bool = False,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.status = status
        self.retry_after = retry_after


class ProviderUnreachable(ProviderError):
    """The provider's server could not be reached (connection refused, DNS, TLS)."""


class ProviderResponseError(ProviderError):
    """The server answered, but its reply was cut off mid-body or could not be read."""


class ContextTooLong(ProviderError):
    """The prompt does not fit the model's window: `prompt_tokens` against `window` tokens."""

    def __init__(self, message: str, *, prompt_tokens: int, window: int) -> None:
        super().__init__(message)
        self.prompt_tokens = prompt_tokens
        self.window = window


class AuthenticationError(ProviderError):
    """The provider rejected the credentials."""


class BudgetExceeded(RLMError):
    """A call would go over one of the run's budgets. `limit` is the status it maps to."""

    def __init__(self, limit: Limit, message: str) -> None:
        super().__init__(message)
        self.limit: Limit = limit


class SandboxError(RLMError):
    """The REPL worker could not be started, was lost, or broke the channel's protocol."""


class SandboxUnavailable(SandboxError):
    """No isolation tier is available on this machine; the message says how to get one."""


class LockdownError(SandboxError):
    """The worker could not put every requested restriction in force, so it did not start."""


class FrameError(SandboxError):
    """A frame on the host-worker channel was malformed, too large, or cut off."""


class MemoryStoreError(RLMError):
    """The memory store could not be opened or read; the message names the path and the fix."""


class OutputInvalid(RLMError, ValueError):
    """A reply did not match the output schema; the message names the exact problem."""


class ToolError(RLMError):
    """A host tool could not be set up or called (a bad name, non-JSON arguments, a failed
    MCP server); the message says which and what to do."""

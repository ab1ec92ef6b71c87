"""Exceptions raised by rlm_toolkit. Each message says what was wrong and what to do."""

from __future__ import annotations


class RLMError(Exception):
    """Base class of every error the toolkit raises on purpose."""


class ConfigError(RLMError, ValueError):
    """A setting or argument is invalid; the message names the fix."""


class ProviderError(RLMError):
    """An LLM call failed. `retryable` tells whether trying again may help.

    `retry_after` is the server's Retry-After hint in seconds, when it sent one.
    """

    def __init__(
        self,
        message: str,
        *,
        retryable: bool = False,
        status: int | None = None,
        retry_after: float | None = None,
    ):
        super().__init__(message)
        self.retryable = retryable
        self.status = status
        self.retry_after = retry_after


class ProviderUnreachable(ProviderError):
    """The provider's server could not be reached (connection refused, DNS, TLS)."""


class AuthenticationError(ProviderError):
    """The provider rejected the credentials."""


class BudgetExceeded(RLMError):
    """A call would go over one of the run's budgets. `limit` is the status it maps to."""

    def __init__(self, limit: str, message: str):
        super().__init__(message)
        self.limit = limit


class SandboxError(RLMError):
    """The REPL worker could not be started or was lost."""


class SandboxUnavailable(SandboxError):
    """No isolation tier is available on this machine; the message says how to get one."""


class MissingDependency(RLMError, ImportError):
    """An optional dependency is not installed; the message names the extra to install."""

    def __init__(self, package: str, extra: str, what: str = ""):
        hint = f"pip install 'rlm-toolkit[{extra}]'"
        super().__init__(f"{what or package} needs the '{package}' package: {hint}")
        self.package = package
        self.extra = extra

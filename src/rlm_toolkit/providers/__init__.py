"""LLM providers: one async protocol, many backends."""

from .base import Completion, CompletionOptions, Message, Provider, Usage, estimate_tokens
from .registry import known_providers, resolve

__all__ = [
    "Completion",
    "CompletionOptions",
    "Message",
    "Provider",
    "Usage",
    "estimate_tokens",
    "known_providers",
    "resolve",
]

"""Loopback servers that speak real provider wire formats, for tests and benchmarks."""

from .openai import OpenAIServer

__all__ = ["OpenAIServer"]

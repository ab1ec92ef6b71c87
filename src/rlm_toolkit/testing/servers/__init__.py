"""Loopback servers that speak real provider wire formats, for tests and benchmarks.

Each takes scripted replies and `faults=[Fault.http(429, retry_after=1), Fault.reset(), ...]`.
"""

from ._base import Fault, WireServer
from .anthropic import AnthropicServer
from .gemini import GeminiServer
from .ollama import OllamaServer
from .openai import OpenAIServer

__all__ = ["AnthropicServer", "Fault", "GeminiServer", "OllamaServer", "OpenAIServer", "WireServer"]

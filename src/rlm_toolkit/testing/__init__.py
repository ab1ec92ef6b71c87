"""Test helpers: a scripted model and loopback servers speaking real wire formats."""

from .scripted import ScriptedLLM, any_text

__all__ = ["ScriptedLLM", "any_text"]

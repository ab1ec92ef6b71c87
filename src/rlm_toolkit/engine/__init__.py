"""The engine: the RLM loop, its budget, final-answer protocol and result."""

from .config import RLMConfig
from .events import Event
from .result import RLMResult
from .rlm import RLM

__all__ = ["RLM", "Event", "RLMConfig", "RLMResult"]

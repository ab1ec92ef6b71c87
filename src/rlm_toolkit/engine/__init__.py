"""The engine: the RLM loop, its budget, final-answer protocol and result."""

from .config import RLMConfig
from .events import Event
from .ports import Memory
from .result import RLMResult, Status
from .rlm import RLM

__all__ = ["RLM", "Event", "Memory", "RLMConfig", "RLMResult", "Status"]

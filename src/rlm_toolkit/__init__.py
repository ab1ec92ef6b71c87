"""rlm_toolkit: Recursive Language Models for inputs far larger than any model's window.

    from rlm_toolkit import RLM
    rlm = RLM.from_ollama("llama3")
    result = rlm.run(context=open("huge.txt").read(), query="Find the main conclusions")
    print(result.answer)

Every error the library raises derives from `RLMError` (see `rlm_toolkit.errors`).
"""

from .engine import RLM, Event, RLMConfig, RLMResult
from .errors import ConfigError, RLMError

__version__ = "0.1.0"
__all__ = ["RLM", "ConfigError", "Event", "RLMConfig", "RLMError", "RLMResult", "__version__"]

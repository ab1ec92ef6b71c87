"""An RLM factory from plain settings: picklable, so Ray can ship it to every worker."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..engine import RLM, RLMConfig
from .tasks import BatchTask


@dataclass(frozen=True)
class ModelFactory:
    """Builds each task's RLM: the task's own model / sub_model / base_url, else these."""

    model: str
    sub_model: str | None = None
    base_url: str | None = None
    config: dict[str, Any] = field(default_factory=dict)

    def __call__(self, task: BatchTask) -> RLM:
        return RLM(task.model or self.model, task.sub_model or self.sub_model,
                   RLMConfig(**self.config), base_url=task.base_url or self.base_url)

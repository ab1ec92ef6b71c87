"""Names and places through Microsoft Presidio's analyzer (`pip install rlm-toolkit[privacy]`).

Optional: the six built-in detectors need nothing. Presidio needs a spaCy English model
(`python -m spacy download en_core_web_sm`, or `_lg` for better recall); the smallest one found
is used.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from typing import Any

from ..errors import ConfigError, MissingDependency

#: Our detector names -> Presidio's entity types.
ENTITIES = {"person": "PERSON", "location": "LOCATION"}
SPACY_MODELS = ("en_core_web_sm", "en_core_web_md", "en_core_web_lg", "en_core_web_trf")
#: Presidio's scores below this are not redacted.
MIN_SCORE = 0.5


class PresidioDetector:
    """One Presidio entity type (PERSON, LOCATION) as a detector."""

    def __init__(self, name: str, analyzer: Any) -> None:
        self.name = name
        self.kind = ENTITIES[name]
        self._analyzer = analyzer

    def find(self, text: str) -> Iterator[tuple[int, int]]:
        if not text.strip():
            return
        for hit in self._analyzer.analyze(text=text, entities=[self.kind], language="en"):
            if hit.score >= MIN_SCORE:
                yield hit.start, hit.end


def presidio_detector(name: str) -> PresidioDetector:
    """The NER detector `name` ("person", "location"); a one-line hint when not installed."""
    try:
        from presidio_analyzer import AnalyzerEngine
        from presidio_analyzer.nlp_engine import NlpEngineProvider
    except ImportError as exc:
        raise MissingDependency("presidio-analyzer", "privacy",
                                f"the {name!r} detector (names and places)") from exc
    model = next((m for m in SPACY_MODELS if importlib.util.find_spec(m) is not None), None)
    if model is None:
        raise ConfigError(
            f"the {name!r} detector needs a spaCy English model: "
            "python -m spacy download en_core_web_sm"
        )
    nlp = NlpEngineProvider(nlp_configuration={
        "nlp_engine_name": "spacy", "models": [{"lang_code": "en", "model_name": model}],
    }).create_engine()
    return PresidioDetector(name, AnalyzerEngine(nlp_engine=nlp, supported_languages=["en"]))


def available() -> str | None:
    """None when the NER detectors can run here, else why not (for tests and `rlm doctor`)."""
    if importlib.util.find_spec("presidio_analyzer") is None:
        return "presidio-analyzer is not installed (pip install 'rlm-toolkit[privacy]')"
    if not any(importlib.util.find_spec(m) is not None for m in SPACY_MODELS):
        return "no spaCy English model (python -m spacy download en_core_web_sm)"
    return None

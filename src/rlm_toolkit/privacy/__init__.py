"""Privacy: what leaves the machine passes one gate (redaction, egress policy, audit).

    RLM(..., config=RLMConfig(redact=["email", "card"], egress="local-only"))
    result.egress   # per provider: requests, chars, context coverage, redactions by kind

Sits beside `providers` (it wraps providers and knows nothing of the engine); the engine
composes the gate around every provider of a run.
"""

from .audit import EgressAudit, render
from .detectors import BUILTIN, DEFAULT, Detector, Finder, build
from .gate import (
    DEFAULT_MAX_VERBATIM,
    POLICIES,
    Egress,
    EgressGate,
    EgressRefused,
    Policy,
    ScrubbedListener,
    is_local,
)
from .redactor import Redactor

__all__ = [
    "BUILTIN", "DEFAULT", "DEFAULT_MAX_VERBATIM", "POLICIES", "Detector", "Egress", "EgressAudit",
    "EgressGate", "EgressRefused", "Finder", "Policy", "Redactor", "ScrubbedListener", "build", "is_local", "render",
]

"""Sessions: many questions over one context, the REPL and a bounded history kept between them."""

from .history import History, Turn
from .session import Session, SessionBudgetSpent, SessionError

__all__ = ["History", "Session", "SessionBudgetSpent", "SessionError", "Turn"]

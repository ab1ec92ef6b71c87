"""Routing: answering with the whole text in one call when it fits, instead of the RLM.

When the context fits well inside the root model's window (`RLMConfig.route_share` of it),
reading it directly can beat writing code over it. `RLMConfig.route` forces either way:
"rlm", "direct", or "auto" (direct when it fits).
"""

from __future__ import annotations

from ..errors import AuthenticationError, BudgetExceeded, ProviderError, ProviderUnreachable
from ..providers.base import Message, estimate_tokens
from ..sandbox import Worker
from ..trace import Span
from .config import RLMConfig
from .loop import Ending, Run
from .parsing import find_text_final, parse_reply

DIRECT_SYSTEM = ("Answer the question from the document. Reply with the answer only, as "
                 "short as possible. If the document does not say, reply: The data does not say.")


def choose_route(config: RLMConfig, context_tokens: int, window: int | None) -> str:
    """"direct" or "rlm" for a context of `context_tokens` and a root window of `window`."""
    if config.route != "auto":
        return config.route
    if not window:
        return "rlm"
    return "direct" if context_tokens <= config.route_share * window else "rlm"


def route_for(config: RLMConfig, text: str, window: int | None) -> str:
    """`choose_route` for a context's text."""
    return choose_route(config, estimate_tokens(text), window)


class DirectRun(Run):
    """One root call with the whole text and the question; its reply is the answer."""

    async def _loop(self, worker: Worker, run_span: Span, task: str) -> Ending:
        span = self.tree.trace.start("iteration", "direct answer", run_span, route="direct")
        self.state.iterations = 1
        messages: list[Message] = [
            {"role": "system", "content": DIRECT_SYSTEM},
            {"role": "user",
             "content": f"Document:\n{self.source_text}\n\nQuestion: {self.query}"},
        ]
        span.attrs["prompt"] = messages
        try:
            completion = await self._root_call(messages, span)
        except BudgetExceeded as exc:
            span.finish(error=str(exc))
            return Ending(exc.limit, error=str(exc))
        except ProviderError as exc:
            if isinstance(exc, (ProviderUnreachable, AuthenticationError)):
                raise
            span.finish(error=str(exc))
            return Ending("error", error=f"the direct call failed: {exc}; a context this "
                          "large needs route='rlm'")
        parsed = parse_reply(completion.text)
        final = find_text_final(parsed.prose)
        answer = (final.value if final is not None else completion.text).strip()
        span.finish(response=completion.text, final_answer=answer)
        return Ending("success", answer)

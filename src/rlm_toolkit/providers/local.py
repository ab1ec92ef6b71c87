"""The embedded local model as a provider: llama.cpp in this process, no server, no key.

`local/qwen2.5-coder-1.5b` names a registered model (assembled on first use when its
packages are installed); `local/path/to/model.gguf` runs any GGUF file. Work runs on the
runtime's own thread; a cancelled call stops between tokens.
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..local import models
from ..local.runtime import DEFAULT_N_CTX, Generation, LocalRuntime
from ._support import timed_out
from .base import Completion, CompletionOptions, Message, Usage
from .base_provider import BaseProvider


def model_file(model: str) -> Path:
    """The GGUF file for a registered model name or a path; installs a registered model."""
    if model.endswith(".gguf") or "/" in model or Path(model).expanduser().is_file():
        path = Path(model).expanduser()
        if not path.is_file():
            raise ConfigError(f"no GGUF file at {path}: give an existing '.gguf' path or one of "
                              f"the registered models ({', '.join(models.MODELS)})")
        return path
    registered = models.get(model)
    found = models.installed_path(registered)
    return found if found is not None else models.install(model)


class LocalProvider(BaseProvider):
    """A llama.cpp model in this process. Temperature 0 unless asked otherwise. Free, no key;
    its window is the runtime's `n_ctx`."""

    provider = "local"
    key_env = ()

    def __init__(self, model: str = models.DEFAULT_MODEL, *, n_ctx: int = DEFAULT_N_CTX,
                 n_threads: int | None = None, slots: int = 2, seed: int = 0,
                 max_tokens: int | None = None, context_window: int | None = None,
                 **ignored: Any) -> None:
        unknown = set(ignored) - {"timeout_s", "base_url", "api_key"}
        if unknown:
            raise ConfigError(f"the local provider does not take {', '.join(sorted(unknown))}; "
                              "it takes n_ctx, n_threads, slots, seed and max_tokens")
        super().__init__(model, free=True)
        self.path = model_file(model)
        self.runtime = LocalRuntime(self.path, n_ctx=n_ctx, n_threads=n_threads, slots=slots,
                                    seed=seed)
        self.max_tokens = max_tokens
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rlm-local")

    @property
    def context_window(self) -> int:
        return self.runtime.n_ctx

    async def complete(self, messages: list[Message], options: CompletionOptions) -> Completion:
        loop = asyncio.get_running_loop()
        cancel = threading.Event()
        on_token = options.on_token

        def on_text(piece: str) -> None:
            if on_token is not None:
                loop.call_soon_threadsafe(on_token, piece)

        def work() -> Generation:
            return self.runtime.chat(
                [{"role": m["role"], "content": m["content"]} for m in messages], max_tokens=options.max_tokens or self.max_tokens,
                temperature=options.temperature or 0.0, stop=options.stop,
                on_text=on_text if on_token is not None else None, cancel=cancel,
                json_schema=options.json_schema,
            )

        future = loop.run_in_executor(self._executor, work)
        # A call given up on still ends in the thread (raising Cancelled): collect that quietly.
        future.add_done_callback(lambda f: f.cancelled() or f.exception())
        try:
            if options.timeout_s is not None:
                gen = await asyncio.wait_for(asyncio.shield(future), options.timeout_s)
            else:
                gen = await asyncio.shield(future)
        except asyncio.CancelledError:
            cancel.set()  # the thread stops at its next token
            raise
        except TimeoutError as exc:
            cancel.set()
            raise timed_out(self.name, exc) from None
        usage = Usage(input_tokens=gen.prompt_tokens, output_tokens=gen.completion_tokens,
                      cached_tokens=gen.cached_tokens)
        return Completion(text=gen.text, usage=usage, model=self.name,
                          finish_reason=gen.finish_reason, cost=0.0)

    async def aclose(self) -> None:
        """Nothing to release per event loop: the model stays loaded for the next run."""

    def close(self) -> None:
        """Unload the model and stop its thread."""
        self._executor.submit(self.runtime.close).result()
        self._executor.shutdown(wait=True)

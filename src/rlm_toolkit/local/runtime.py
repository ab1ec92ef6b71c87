"""An in-process llama.cpp runtime for one GGUF model, shared by the provider and the server.

Each model keeps a few *slots* (llama.cpp contexts over the same memory-mapped weights). A
request goes to the slot whose cached tokens share the longest prefix with its prompt, so the
root conversation and the sub-calls do not evict each other's KV cache: a later root turn
pays only for its new tokens. All work runs on one thread (the machine's cores serve one
decode at a time best), and a request can be cancelled between tokens.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError, ContextTooLong, MissingDependency, ProviderError

#: Default window per slot. Prompt processing runs at tens of tokens a second on a CPU, so
#: RLM prompts stay far below this; raise it with n_ctx for direct long-prompt use.
DEFAULT_N_CTX = 8_192
DEFAULT_MAX_TOKENS = 1_024
#: Tokens kept free for the reply when a prompt nearly fills the window.
MIN_REPLY_TOKENS = 16


@dataclass
class Generation:
    """What one request produced, with the token counts llama.cpp reported."""

    text: str
    prompt_tokens: int
    cached_tokens: int
    completion_tokens: int
    finish_reason: str
    seconds: float


class Cancelled(Exception):
    """The caller gave up on a request (its cancel event was set)."""


def load_llama() -> Any:
    """The llama_cpp module, or a clear error saying which extra installs it."""
    try:
        import llama_cpp
    except ImportError as exc:
        raise MissingDependency(
            "llama-cpp-python", "local",
            "the local model (a first install compiles llama.cpp: about 6 minutes on 2 cores)",
        ) from exc
    return llama_cpp


class _Slot:
    """One llama.cpp context and the tokens its KV cache holds."""

    def __init__(self, llm: Any) -> None:
        self.llm = llm
        self.last_used = 0.0

    def shared_prefix(self, tokens: Sequence[int]) -> int:
        """How many leading tokens of `tokens` this slot's KV cache already holds."""
        import numpy as np  # comes with llama-cpp-python; the core install has no numpy

        n = min(int(self.llm.n_tokens), len(tokens))
        if n == 0:
            return 0
        same = self.llm.input_ids[:n] == np.asarray(tokens[:n])
        return n if bool(same.all()) else int(same.argmin())


#: The smallest window a slot may have: the chat template and a short prompt need this much.
MIN_N_CTX = 256


def check_settings(*, n_ctx: int, slots: int, names: tuple[str, str] = ("n_ctx", "slots"),
                   ) -> None:
    """Refuse a window or a slot count the runtime cannot work with (before any load);
    `names` are the two settings as the caller's user knows them (e.g. CLI options)."""
    if isinstance(n_ctx, bool) or not isinstance(n_ctx, int) or n_ctx < MIN_N_CTX:
        raise ConfigError(f"{names[0]} {n_ctx!r} is too small: give the window per slot in "
                          f"tokens, at least {MIN_N_CTX} (default {DEFAULT_N_CTX})")
    if isinstance(slots, bool) or not isinstance(slots, int) or slots < 1:
        raise ConfigError(f"{names[1]} {slots!r}: give the number of KV caches to keep, at "
                          "least 1 (default 2)")


class LocalRuntime:
    """A GGUF model loaded in this process. Thread-safe: requests are serialised."""

    def __init__(self, model_path: Path | str, *, n_ctx: int = DEFAULT_N_CTX,
                 n_threads: int | None = None, slots: int = 2, seed: int = 0) -> None:
        check_settings(n_ctx=n_ctx, slots=slots)
        self.model_path = Path(model_path)
        if not self.model_path.is_file():
            raise ProviderError(f"no model file at {self.model_path}: give the path of a .gguf "
                                "file, or install a registered model with `rlm models install`")
        self.n_ctx = n_ctx
        self.n_threads = n_threads or max(1, os.cpu_count() or 1)
        self.max_slots = slots
        self.seed = seed
        self._llama = load_llama()
        self._slots: list[_Slot] = []
        self._lock = threading.Lock()
        self._formatter: Any = None
        self._grammars: dict[str, Any] = {}  # JSON schema text -> its llama.cpp grammar

    # --- loading ---------------------------------------------------------------------
    def _new_slot(self) -> _Slot:
        llm = self._llama.Llama(
            model_path=str(self.model_path), n_ctx=self.n_ctx, n_threads=self.n_threads,
            n_threads_batch=self.n_threads, seed=self.seed, verbose=False,
        )
        if self._formatter is None:
            self._formatter = self._chat_formatter(llm)
        return _Slot(llm)

    def _chat_formatter(self, llm: Any) -> Any:
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        template = llm.metadata.get("tokenizer.chat_template")
        if not template:
            raise ProviderError(f"{self.model_path.name} has no chat template in its metadata; "
                                "use an instruct (chat) GGUF model")
        eos, bos = llm.token_eos(), llm.token_bos()
        return Jinja2ChatFormatter(
            template=template,
            eos_token=llm._model.token_get_text(eos) if eos != -1 else "",
            bos_token=llm._model.token_get_text(bos) if bos != -1 else "",
        )

    def warm(self) -> None:
        """Load the weights now rather than on the first request."""
        with self._lock:
            if not self._slots:
                self._slots.append(self._new_slot())

    @property
    def metadata(self) -> dict[str, str]:
        """The GGUF metadata (architecture, context length, chat template, ...)."""
        self.warm()
        return dict(self._slots[0].llm.metadata)

    # --- generation ------------------------------------------------------------------
    def chat(self, messages: list[dict[str, str]], *, max_tokens: int | None = None,
             temperature: float = 0.0, stop: list[str] | None = None,
             on_text: Callable[[str], None] | None = None,
             cancel: threading.Event | None = None,
             json_schema: dict[str, Any] | None = None) -> Generation:
        """Generate a reply to chat `messages`, streaming text pieces to `on_text`.

        With `json_schema`, decoding is constrained by a grammar built from it, so the reply
        is JSON of that shape (unless cut off by `max_tokens`).
        """
        with self._lock:
            started = time.perf_counter()
            if not self._slots:
                self._slots.append(self._new_slot())
            formatted = self._formatter(messages=messages)
            tokens = self._slots[0].llm.tokenize(formatted.prompt.encode("utf-8"),
                                                 add_bos=True, special=True)
            room = self.n_ctx - len(tokens)
            if room < MIN_REPLY_TOKENS:
                raise ContextTooLong(
                    f"the prompt has {len(tokens):,} tokens and does not fit the local model's "
                    f"window of {self.n_ctx:,} (about 4 characters a token): pass a smaller "
                    "piece of text, or create the provider with a larger n_ctx",
                    prompt_tokens=len(tokens), window=self.n_ctx,
                )
            slot, cached = self._pick_slot(tokens)
            slot.last_used = time.monotonic()
            limit = min(max_tokens or DEFAULT_MAX_TOKENS, room)
            pieces: list[str] = []
            finish = "stop"
            stream = slot.llm.create_completion(
                tokens, max_tokens=limit, temperature=temperature, top_k=1 if temperature == 0
                else 40, repeat_penalty=1.0, stop=[*formatted.stop, *(stop or [])],
                stream=True, seed=self.seed, grammar=self._grammar(json_schema),
            )
            try:
                for chunk in stream:
                    if cancel is not None and cancel.is_set():
                        raise Cancelled()
                    choice = chunk["choices"][0]
                    if piece := choice.get("text"):
                        pieces.append(piece)
                        if on_text is not None:
                            on_text(piece)
                    finish = choice.get("finish_reason") or finish
            finally:
                stream.close()
            text = "".join(pieces)
            generated = len(slot.llm.tokenize(text.encode("utf-8"), add_bos=False,
                                              special=True)) if text else 0
            return Generation(text=text, prompt_tokens=len(tokens), cached_tokens=cached,
                              completion_tokens=generated, finish_reason=finish,
                              seconds=time.perf_counter() - started)

    def _grammar(self, json_schema: dict[str, Any] | None) -> Any:
        """The llama.cpp grammar for `json_schema` (None: free text), made once per schema."""
        if json_schema is None:
            return None
        key = json.dumps(json_schema, sort_keys=True)
        grammar = self._grammars.get(key)
        if grammar is None:
            from llama_cpp import LlamaGrammar

            try:
                grammar = LlamaGrammar.from_json_schema(key, verbose=False)
            except Exception as exc:  # a schema feature the converter does not know
                raise ProviderError(f"the local model cannot decode to this JSON schema: {exc}",
                                    retryable=False) from None
            self._grammars[key] = grammar
        return grammar

    def _pick_slot(self, tokens: Sequence[int]) -> tuple[_Slot, int]:
        """A slot whose cache this prompt mostly continues; else a new one, else the LRU one.
        Returns the slot and how many of the prompt's tokens it already holds.

        Reusing a slot whose cache the prompt does not continue would evict it (say the root
        conversation, when a sub-call comes in), so that takes a fresh slot while any is left.
        """
        shared = [(slot, slot.shared_prefix(tokens)) for slot in self._slots]
        continuing = [(slot, n) for slot, n in shared if n * 2 >= slot.llm.n_tokens]
        if continuing:
            return max(continuing, key=lambda sn: (sn[1], sn[0].last_used))
        if len(self._slots) < self.max_slots:
            slot = self._new_slot()
            self._slots.append(slot)
            return slot, 0
        return min(shared, key=lambda sn: sn[0].last_used)

    def close(self) -> None:
        """Free the contexts and the weights."""
        with self._lock:
            for slot in self._slots:
                close = getattr(slot.llm, "close", None)
                if close is not None:
                    close()
            self._slots.clear()

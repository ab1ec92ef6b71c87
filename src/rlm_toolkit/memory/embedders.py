"""Embedders turn texts into vectors for dense retrieval.

- `None`: BM25 only (the default; nothing to install or download).
- `WordLlamaEmbedder`: a static embedding model whose weights ship inside the `wordllama`
  wheel (`pip install 'rlm-toolkit[embeddings]'`); loaded from the installed package, never
  from a hub.
- any callable `list[str] -> array-like (n, dim)`, wrapped by `CallableEmbedder`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from ..errors import ConfigError, MissingDependency


@runtime_checkable
class Embedder(Protocol):
    """Maps texts to vectors of one fixed dimension. `name` identifies the model."""

    @property
    def name(self) -> str: ...

    def embed(self, texts: Sequence[str]) -> Any:
        """An (n, dim) array-like, one row per text."""
        ...


class CallableEmbedder:
    """Wraps a plain function `list[str] -> array-like`."""

    def __init__(self, fn: Callable[[list[str]], Any], name: str | None = None):
        self._fn = fn
        self._name = name or f"callable:{getattr(fn, '__qualname__', type(fn).__name__)}"

    @property
    def name(self) -> str:
        return self._name

    def embed(self, texts: Sequence[str]) -> Any:
        out = self._fn(list(texts))
        rows = len(out)
        if rows != len(texts):
            raise ConfigError(
                f"embedder {self._name} returned {rows} vectors for {len(texts)} texts; it must "
                "return one vector per text"
            )
        return out


class WordLlamaEmbedder:
    """WordLlama static embeddings (256 dimensions by default) from the installed wheel."""

    def __init__(self, config: str = "l2_supercat", dim: int = 256):
        try:
            import wordllama
            from wordllama import WordLlama
        except ImportError as exc:
            raise MissingDependency("wordllama", "embeddings", "the wordllama embedder") from exc
        package_dir = Path(wordllama.__file__).parent
        try:
            # The wheel ships weights/ and tokenizers/; pointing the cache at the package makes
            # the loader find them there and never reach for the network.
            self._model = WordLlama.load(
                config=config, dim=dim, cache_dir=package_dir, disable_download=True
            )
        except (FileNotFoundError, ValueError) as exc:
            raise ConfigError(
                f"wordllama model {config!r} with dim {dim} is not shipped in the installed "
                f"wordllama package ({package_dir}); use config='l2_supercat', dim=256"
            ) from exc
        self._name = f"wordllama:{config}:{dim}"

    @property
    def name(self) -> str:
        return self._name

    def embed(self, texts: Sequence[str]) -> Any:
        return self._model.embed(list(texts), norm=True)


def resolve_embedder(embedder: Embedder | Callable[[list[str]], Any] | str | None) -> Embedder | None:
    """Turn the `embedder=` argument into an `Embedder` (or None for BM25 only)."""
    if embedder is None or embedder == "none":
        return None
    if isinstance(embedder, str):
        if embedder == "wordllama":
            return WordLlamaEmbedder()
        raise ConfigError(
            f"unknown embedder {embedder!r}: use None, 'wordllama', an Embedder or a callable "
            "list[str] -> array"
        )
    if isinstance(embedder, Embedder):
        return embedder
    if callable(embedder):
        return CallableEmbedder(embedder)
    raise ConfigError(f"embedder must be None, 'wordllama', an Embedder or a callable, not {embedder!r}")

"""A folder context inside the worker: a lazy mapping of relative path -> text.

The worker holds only the listing (paths and sizes); each file's text is asked of the host
when the code reads it (`context["src/b.py"]`), so a folder larger than memory works.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

#: The one key of the JSON object that carries a folder's listing to the worker.
FOLDER_KEY = "__rlm_folder__"
READ_METHOD = "folder.read"


def is_folder_listing(value: Any) -> bool:
    """Whether a decoded JSON context is a folder's listing."""
    return isinstance(value, dict) and len(value) == 1 and isinstance(value.get(FOLDER_KEY), dict)


class FolderView(Mapping[str, str]):
    """`context` for a folder: `list(context)`, `context[path]`, `context.read(path, start,
    size)` for part of a big file, `context.sizes`, `context.skipped`."""

    def __init__(self, listing: dict[str, Any],
                 read: Callable[[str, int, int | None], Any]) -> None:
        files = listing.get("files", [])
        self.sizes: dict[str, int] = {str(p): int(n) for p, n in files}
        self.skipped: list[str] = [str(p) for p in listing.get("skipped", [])]
        self._read = read

    def __getitem__(self, path: str) -> str:
        if path not in self.sizes:
            raise KeyError(path)
        return str(self._read(path, 0, None))

    def read(self, path: str, start: int = 0, size: int | None = None) -> str:
        """`size` bytes of the file from byte `start` (None: to the end), as text."""
        if path not in self.sizes:
            raise KeyError(path)
        return str(self._read(path, int(start), None if size is None else int(size)))

    def __iter__(self) -> Iterator[str]:
        return iter(self.sizes)

    def __len__(self) -> int:
        return len(self.sizes)

    def __repr__(self) -> str:
        total = sum(self.sizes.values())
        return (f"<folder context: {len(self.sizes):,} text files, {total:,} bytes; give "
                "rlm_query a file's text or a dict {path: context[path]}>")


def folder_view(value: Any, call_host: Callable[..., Any]) -> Any:
    """The context the REPL holds: a `FolderView` for a folder's listing, else `value`."""
    if not is_folder_listing(value):
        return value
    def read(path: str, start: int, size: int | None) -> Any:
        return call_host(READ_METHOD, {"path": path, "start": start, "size": size})

    return FolderView(value[FOLDER_KEY], read)

"""A folder (or several paths, or a glob) as a lazy `Mapping` of relative path -> text.

Only the listing is made up front (paths, sizes, and the first bytes of each file to tell
text from binary); a file's text is read when it is asked for, so a folder larger than
memory works. `.gitignore` files are respected (git's own rules, through `pathspec`); `.git`
is never listed; binary files are skipped and listed in `skipped`.
"""

from __future__ import annotations

import glob
import os
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pathspec

from ..errors import ConfigError
from ..sandbox.worker.folder_view import FOLDER_KEY

SNIFF_BYTES = 8_192
#: The most one read brings into the REPL (a reply frame must hold it with room to spare).
MAX_READ_BYTES = 128 * 1024 * 1024
TOP_FOLDERS = 10
SHOWN_PATHS = 30


def _is_binary(path: Path) -> bool:
    """A NUL byte or invalid UTF-8 in the first bytes: binary (an unreadable file too)."""
    try:
        with path.open("rb") as handle:
            head = handle.read(SNIFF_BYTES)
    except OSError:
        return True
    if b"\0" in head:
        return True
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start < len(head) - 4  # a character cut at the sniff's end is fine
    return False


def _ignore_spec(folder: Path, spec: pathspec.GitIgnoreSpec | None,
                 base: Path) -> pathspec.GitIgnoreSpec | None:
    """`spec` extended by `folder/.gitignore` (its patterns made relative to `base`)."""
    ignore = folder / ".gitignore"
    if not ignore.is_file():
        return spec
    prefix = folder.relative_to(base).as_posix()
    lines = []
    for raw in ignore.read_text("utf-8", "replace").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negate, line = (line.startswith("!"), line[1:] if line.startswith("!") else line)
        anchored = "/" in line.rstrip("/")
        line = line.lstrip("/")
        if prefix != ".":
            line = f"{prefix}/{line}" if anchored else f"{prefix}/**/{line}"
        lines.append(("!" if negate else "") + line)
    extra = pathspec.GitIgnoreSpec.from_lines(lines)
    return extra if spec is None else spec + extra


class FolderContext(Mapping[str, str]):
    """Relative path ("src/b.py") -> text, read from disk on each access.

    `sizes` maps each text file to its size in bytes; `skipped` lists the binary files.
    """

    def __init__(self, files: dict[str, Path], skipped: list[str]) -> None:
        self._files = files
        self.sizes = {key: path.stat().st_size for key, path in files.items()}
        self.skipped = skipped

    def __getitem__(self, key: str) -> str:
        path = self._files[key]
        try:
            return path.read_text("utf-8", "replace")
        except OSError as exc:
            raise KeyError(f"{key}: cannot be read ({exc.strerror or exc})") from None

    def read(self, key: str, start: int = 0, size: int | None = None) -> str:
        """Part of a file: `size` bytes from byte `start` (None: to the end), as text.

        ValueError for a whole file over MAX_READ_BYTES (what one read may carry to the
        REPL): such a file is read in parts.
        """
        path = self._files[key]
        if start < 0 or (size is not None and size < 0):
            raise ValueError("start and size must be 0 or more")
        total = self.sizes[key]
        wanted = max(0, total - start) if size is None else size
        if wanted > MAX_READ_BYTES:
            raise ValueError(
                f"{key} is {total:,} bytes; one read returns at most {MAX_READ_BYTES:,}: read "
                f"it in parts with context.read({key!r}, start, size)")
        try:
            with path.open("rb") as handle:
                handle.seek(start)
                return handle.read(wanted).decode("utf-8", "replace")
        except OSError as exc:
            raise KeyError(f"{key}: cannot be read ({exc.strerror or exc})") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._files)

    def __len__(self) -> int:
        return len(self._files)

    def __repr__(self) -> str:
        return f"FolderContext({len(self):,} files, {self.total_bytes:,} bytes)"

    @property
    def total_bytes(self) -> int:
        return sum(self.sizes.values())

    def joined_text(self) -> str:
        """Every file's text, joined (read now: for checks that must know all of it)."""
        return "\n".join(self[key] for key in self)

    def listing(self) -> dict[str, Any]:
        """What the worker receives: the paths and sizes, never the contents."""
        return {FOLDER_KEY: {"files": [[k, n] for k, n in self.sizes.items()],
                             "skipped": self.skipped}}

    def describe(self) -> str:
        """The tree for the root prompt: counts, sizes, top folders and kinds, not content."""
        tops: Counter[str] = Counter()
        top_bytes: Counter[str] = Counter()
        kinds: Counter[str] = Counter()
        for key, size in self.sizes.items():
            parts = key.split("/")
            top = "/".join(parts[:2]) + "/" if len(parts) > 2 else (parts[0] + "/" if
                                                                     len(parts) > 1 else ".")
            tops[top] += 1
            top_bytes[top] += size
            kinds[Path(key).suffix or "(none)"] += 1
        lines = [f"{len(self):,} text files, {self.total_bytes:,} bytes; "
                 f"{len(self.skipped):,} binary files skipped"]
        lines.append("top folders: " + ", ".join(
            f"{name} ({n} files, {top_bytes[name]:,} bytes)"
            for name, n in tops.most_common(TOP_FOLDERS)))
        lines.append("file kinds: " + ", ".join(f"{k} {n}" for k, n in kinds.most_common(8)))
        shown = list(self.sizes)[:SHOWN_PATHS]
        more = f" and {len(self) - SHOWN_PATHS:,} more" if len(self) > SHOWN_PATHS else ""
        lines.append("paths: " + ", ".join(shown) + more)
        if self.skipped:
            lines.append("binary (skipped): " + ", ".join(self.skipped[:10])
                         + (" ..." if len(self.skipped) > 10 else ""))
        return "\n".join(lines)


def _walk(root: Path, name: str, files: dict[str, Path], skipped: list[str]) -> None:
    """Add the text files under `root` as `name/relative` keys, respecting .gitignore."""
    specs: dict[Path, pathspec.GitIgnoreSpec | None] = {}
    for folder, dirs, names in os.walk(root):
        here = Path(folder)
        spec = _ignore_spec(here, specs.get(here.parent) if here != root else None, root)
        specs[here] = spec
        rel_dir = here.relative_to(root)
        kept = []
        for d in sorted(dirs):
            rel = (rel_dir / d).as_posix() + "/"
            if d == ".git" or (spec is not None and spec.match_file(rel)):
                continue
            kept.append(d)
        dirs[:] = kept
        for f in sorted(names):
            rel = (rel_dir / f).as_posix()
            path = here / f
            if (spec is not None and spec.match_file(rel)) or not path.is_file():
                continue
            key = f"{name}/{rel}" if name else rel
            if _is_binary(path):
                skipped.append(key)
            else:
                files[key] = path


def open_folder(paths: Path | str | Iterable[Path | str]) -> FolderContext:
    """A `FolderContext` over one folder, several files and folders, or glob patterns.

    A folder's files are keyed by the folder's name and their path inside it ("src/b.py").
    """
    items = [paths] if isinstance(paths, (str, Path)) else list(paths)
    files: dict[str, Path] = {}
    skipped: list[str] = []
    for item in items:
        text = str(item)
        matches = sorted(glob.glob(text, recursive=True)) if glob.has_magic(text) else [text]
        if not matches:
            raise ConfigError(f"context {text!r} matches no file: check the path or pattern")
        for match in matches:
            path = Path(match)
            if path.is_dir():
                name = path.as_posix().rstrip("/")
                if path.is_absolute() or name in (".", "") or name.startswith("../"):
                    name = path.resolve().name
                _walk(path, name.removeprefix("./"), files, skipped)
            elif path.is_file():
                key = path.name if path.is_absolute() else path.as_posix().removeprefix("./")
                (skipped.append(key) if _is_binary(path) else files.__setitem__(key, path))
            else:
                raise ConfigError(f"context {match!r} not found: give existing files or folders")
    if not files:
        named = ", ".join(str(i) for i in items[:3])
        raise ConfigError(f"context {named} has no text files"
                          + (f" (only binary ones: {', '.join(skipped[:3])})" if skipped else "")
                          + ": give a folder with text in it, or check its .gitignore")
    return FolderContext(files, skipped)

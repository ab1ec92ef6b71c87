"""Render a run as one self-contained HTML page: inline CSS and JS, the data as inline JSON.

The page fetches nothing (a Content-Security-Policy forbids every fetch, and it needs none),
so it opens from disk, offline, in any browser. Every text from the trace is hostile (the
model wrote it): it travels only inside the JSON blob, escaped so that no `</script>`, HTML or
lone surrogate can leave it, and the page puts it into the DOM as text, never as markup.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
from importlib import resources
from typing import Any

from .model import ViewData

#: Characters that must not appear raw inside a <script> element's JSON.
_UNSAFE = re.compile("[<>&\u2028\u2029\ud800-\udfff]")


def script_json(value: Any) -> str:
    """`value` as JSON that is safe inside `<script type="application/json">`.

    `<`, `>` and `&` become `\\u003c`-style escapes (no `</script>` or `<!--` can close or
    change the element), as do U+2028/U+2029 and lone surrogates (which UTF-8 cannot hold;
    the page reads them back as the same JSON string).
    """
    text = json.dumps(value, ensure_ascii=False, allow_nan=False, default=str)
    return _UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _asset(name: str) -> str:
    return resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


def render_html(view: ViewData) -> str:
    """The whole page for `view`, as one string."""
    nonce = secrets.token_urlsafe(18)
    page = _asset("page.html")
    parts = {
        "{{NONCE}}": nonce,
        "{{STYLE}}": _asset("viewer.css"),
        "{{SCRIPT}}": _asset("viewer.js"),
        "{{DATA}}": script_json(view.to_json()),
    }
    return re.sub("|".join(re.escape(k) for k in parts), lambda m: parts[m.group()], page)


def write_html(view: ViewData, path: str | os.PathLike[str]) -> None:
    """Write the page to `path` atomically: the whole file or, on any error, nothing."""
    text = render_html(view)
    tmp = f"{os.fspath(path)}.tmp"
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise

"""`rlm run --stream`: the root model's tokens as they come, each code step's output."""

from __future__ import annotations

from typing import TextIO

from ..engine import Event

OUTPUT_LINES = 20


class StreamView:
    """Writes a run's events to `out` as plain text (the answer itself goes to stdout)."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.at_line_start = True

    def _write(self, text: str) -> None:
        if text:
            self.out.write(text)
            self.out.flush()
            self.at_line_start = text.endswith("\n")

    def _line(self, text: str) -> None:
        if not self.at_line_start:
            self._write("\n")
        self._write(text + "\n")

    def __call__(self, event: Event) -> None:
        pad = "  " * event.depth
        if event.kind == "iteration" and event.depth == 0:
            self._line(f"--- iteration {event.iteration} ---")
        elif event.kind == "token" and event.depth == 0:
            self._write(str(event.data.get("text", "")))
        elif event.kind == "code" and event.depth == 0:
            output = str(event.data.get("output", "")).rstrip("\n") or "(no output)"
            lines = output.splitlines()
            shown = lines[:OUTPUT_LINES] + ([f"... (+{len(lines) - OUTPUT_LINES} lines)"]
                                            if len(lines) > OUTPUT_LINES else [])
            self._line("[output]\n" + "\n".join(shown))
            if event.data.get("error"):
                self._line(f"[error] {str(event.data['error']).splitlines()[-1][:300]}")
        elif event.kind == "child_start":
            self._line(f"{pad}[child run at depth {event.depth}]")
        elif event.kind == "run_end" and event.depth == 0:
            self._line(f"--- {event.data.get('status', 'done')} ---")

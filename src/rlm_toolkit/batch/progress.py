"""The live bar of a batch: done / running / failed, dollars spent so far, and the ETA."""

from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


class BatchProgress:
    """A rich progress bar on stderr; does nothing when disabled."""

    def __init__(self, total: int | None, *, enabled: bool = True,
                 console: Console | None = None) -> None:
        self.enabled = enabled
        self._bar = Progress(
            TextColumn("[bold]batch"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[counts]}"), TimeElapsedColumn(),
            TextColumn("ETA"), TimeRemainingColumn(),
            console=console or Console(stderr=True), transient=False, disable=not enabled,
        )
        self._id = self._bar.add_task("batch", total=total, counts="")

    def __enter__(self) -> BatchProgress:
        self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._bar.stop()

    @staticmethod
    def counts(done: int, running: int, failed: int, skipped: int, cost: float) -> str:
        text = f"done {done} · running {running} · failed {failed}"
        if skipped:
            text += f" · skipped {skipped}"
        return f"{text} · ${cost:.4f}"

    def update(self, *, done: int, running: int, failed: int, skipped: int,
               cost: float, resumed: int = 0) -> None:
        """`resumed`: tasks finished by an earlier run, counted in the bar's progress."""
        self._bar.update(self._id, completed=done + failed + skipped + resumed,
                         counts=self.counts(done, running, failed, skipped, cost))

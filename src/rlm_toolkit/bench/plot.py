"""The PNG plot: score against context size, one line per method, one panel per task kind.
Needs matplotlib (`pip install rlm-toolkit[bench]`); without it the plot is skipped."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from .stats import SummaryRow

MISSING_HINT = "plot skipped: matplotlib is not installed (pip install 'rlm-toolkit[bench]')"


def have_matplotlib() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def plot_summary(rows: Sequence[SummaryRow], path: str | Path) -> bool:
    """Write the plot to `path`; False (and nothing written) when matplotlib is missing."""
    if not have_matplotlib():
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    kinds = [k for k in dict.fromkeys(r.kind for r in rows) if k != "all"] or ["all"]
    fig, axes = plt.subplots(1, len(kinds), figsize=(4.2 * len(kinds), 3.6), squeeze=False)
    for ax, kind in zip(axes[0], kinds, strict=True):
        mine = [r for r in rows if r.kind == kind]
        for method in dict.fromkeys(r.method for r in mine):
            pts = sorted((r for r in mine if r.method == method), key=lambda r: r.tokens)
            xs = [r.tokens for r in pts]
            ax.plot(xs, [r.mean for r in pts], marker="o", label=method)
            ax.fill_between(xs, [r.ci_low for r in pts], [r.ci_high for r in pts], alpha=0.15)
        ax.set_xscale("log", base=2)
        ax.set_ylim(-0.02, 1.02)
        ax.set_title(kind)
        ax.set_xlabel("context size (tokens)")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("score (mean, 95% CI)")
    axes[0][-1].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return True

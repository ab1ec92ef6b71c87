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


MARKERS = ("o", "s", "^", "D", "v", "P", "X")
LINESTYLES = ("-", "--", "-.", ":")
# Methods at the same size are drawn side by side, this far apart on the log2 axis, so
# lines with equal scores (all at 1.0, say) stay visible.
DODGE = 0.06


def plot_summary(rows: Sequence[SummaryRow], path: str | Path, *, title: str = "") -> bool:
    """Write the plot to `path`; False (and nothing written) when matplotlib is missing."""
    if not have_matplotlib():
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    kinds = [k for k in dict.fromkeys(r.kind for r in rows) if k != "all"] or ["all"]
    methods = list(dict.fromkeys(r.method for r in rows))
    fig, axes = plt.subplots(1, len(kinds), figsize=(4.2 * len(kinds), 3.9), squeeze=False)
    for ax, kind in zip(axes[0], kinds, strict=True):
        mine = [r for r in rows if r.kind == kind]
        for i, method in enumerate(methods):
            pts = sorted((r for r in mine if r.method == method), key=lambda r: r.tokens)
            if not pts:
                continue
            shift = 2 ** (DODGE * (i - (len(methods) - 1) / 2))
            xs = [r.tokens * shift for r in pts]
            color = f"C{i % 10}"
            ax.plot(xs, [r.mean for r in pts], marker=MARKERS[i % len(MARKERS)],
                    linestyle=LINESTYLES[i % len(LINESTYLES)], color=color, label=method)
            ax.fill_between(xs, [r.ci_low for r in pts], [r.ci_high for r in pts],
                            color=color, alpha=0.12)
        ax.set_xscale("log", base=2)
        ax.set_ylim(-0.04, 1.04)
        ax.set_title(kind)
        ax.set_xlabel("context size (tokens)")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("score (mean, 95% CI)")
    handles, labels = axes[0][0].get_legend_handles_labels()
    for ax in axes[0][1:]:
        for h, label in zip(*ax.get_legend_handles_labels(), strict=True):
            if label not in labels:
                handles.append(h)
                labels.append(label)
    fig.legend(handles, labels, loc="lower center", ncol=min(len(labels), 6), fontsize=8,
               frameon=False)
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return True

"""`rlm trace show`: a run's span tree in the terminal (rich), with the same credit badges."""

from __future__ import annotations

import re

from rich.console import Console
from rich.markup import escape
from rich.tree import Tree

from .viewer.model import KIND_LABELS, Node, ViewData

#: Children of one node drawn before the rest are summarised in one line.
MAX_CHILDREN = 50
KIND_STYLES = {"run": "magenta", "iteration": "bright_black", "root_llm": "blue",
               "code": "yellow", "llm": "green", "child_run": "bright_magenta", "final": "white"}


def _dur(s: float | None) -> str:
    if s is None:
        return ""
    return f"{s * 1000:.0f} ms" if s < 1 else f"{s:.2f} s"


#: Terminal control characters (C0, DEL, C1), bidi overrides and lone surrogates: a trace
#: holds text the model wrote, which must not move the cursor, retitle the window, reorder
#: what is shown or break the output's encoding.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def safe(text: str) -> str:
    """`text` with every control character shown as its escape (`\\x1b`), markup escaped."""
    return escape(_UNSAFE.sub(lambda m: ascii(m.group())[1:-1], text))


def _one_line(text: str, limit: int = 80) -> str:
    """`text` on one line, at most `limit` characters, safe to print (see `safe`)."""
    flat = " ".join(text.split())
    return safe(flat if len(flat) <= limit else flat[: limit - 1] + "…")


def badge(node: Node) -> str:
    """The credit badge as rich markup ('' when the trace has no credit for this node)."""
    if node.credit is None:
        return ""
    if node.credit.contributed:
        return f" [bold green]✓ fed answer {node.credit.share:.0%}[/]"
    return " [dim red]✗ wasted[/]"


def node_line(node: Node, detail: bool = True) -> str:
    """One node as rich markup: kind, label, duration, tokens, cost, badge, error."""
    kind = KIND_LABELS.get(node.kind, node.kind)
    parts = [f"[{KIND_STYLES.get(node.kind, 'white')} bold]{kind}[/]"]
    if node.label:
        parts.append(_one_line(node.label))
    metrics = [_dur(node.duration)]
    if node.tokens is not None:
        metrics.append(f"{node.tokens:,} tok")
    if node.cost:
        metrics.append(f"${node.cost:.4f}")
    parts.append(f"[dim]{' · '.join(m for m in metrics if m)}[/]")
    line = " ".join(parts) + badge(node)
    if node.error:
        line += f" [red]⚠ {_one_line(node.error, 120)}[/]"
    if detail:
        texts = dict(node.sections)
        key = {"llm": "reply", "root_llm": "reply", "code": "output", "child_run": "answer"}
        shown = texts.get(key.get(node.kind, ""), "")
        if shown.strip():
            line += f"\n[dim]→ {_one_line(shown, 100)}[/]"
    return line


def render_tree(view: ViewData, max_children: int = MAX_CHILDREN) -> Tree:
    """The whole run as a rich `Tree`, headed by its status and answer."""
    status = view.status or "unknown"
    colour = "green" if status == "success" else "yellow"
    head = f"[bold]RLM run[/] [{colour}]{safe(status)}[/]"
    if view.answer is not None:
        head += f"  answer: [bold]{_one_line(view.answer, 120)}[/]"
    tree = Tree(head)
    if not view.nodes:
        return tree
    stack: list[tuple[Tree, int]] = [(tree, 0)]
    while stack:
        parent, i = stack.pop()
        node = view.nodes[i]
        branch = parent.add(node_line(node))
        for c in reversed(node.children[:max_children]):
            stack.append((branch, c))
        hidden = node.children[max_children:]
        if hidden:
            wasted = sum(1 for c in hidden if _wasted(view.nodes[c]))
            note = f"… {len(hidden):,} more" + (f" ({wasted:,} wasted)" if wasted else "")
            branch.add(f"[dim]{note} (the HTML view shows them all: rlm trace view)[/]")
    return tree


def _wasted(node: Node) -> bool:
    return node.credit is not None and not node.credit.contributed


def summary_line(view: ViewData) -> str:
    """Totals under the tree: tokens, cost, and the wasted tokens when credit is recorded."""
    bits = [f"{sum(1 for n in view.nodes if n.kind == 'llm'):,} sub-calls"]
    if view.tokens is not None:
        bits.append(f"{view.tokens:,} tokens")
    if view.cost is not None:
        bits.append(f"cost ${view.cost:.4f}")
    if view.has_credit:
        bits.append(f"wasted {view.wasted_tokens:,} tokens (${view.wasted_cost:.4f}) on steps "
                    "that did not feed the answer")
    else:
        bits.append("credit: not recorded in this trace")
    return " · ".join(bits)


def show(view: ViewData, console: Console | None = None) -> None:
    """Print the tree and its totals."""
    out = console or Console()
    out.print(render_tree(view), highlight=False)
    if view.error:
        out.print(f"[yellow]stopped early: {_one_line(view.error, 300)}[/]", highlight=False)
    out.print(f"[dim]{summary_line(view)}[/]", highlight=False)

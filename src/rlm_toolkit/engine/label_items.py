"""Questions about the labels of a text's items: the host labels every item and counts.

A text that declares a label set ("Every instance belongs to exactly one of these labels:
a, b, c.") and a question about those labels ("How many ... with the label 'b'?", "Which
label is the most common ...?") can only be answered by labelling every item. A small model
does not write that program, so in small-model mode the host writes it: `label_plan` builds
it (with the filters the question names: an ID such as a user's, a date range), the loop runs
it as the run's first step (in the trace, its sub-calls in the budget) and the model answers
from the printed table, with `items` and `labels` left in the REPL.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from ..sandbox.worker.helpers import item_patterns
from .choices import phrases_in
from .context import ITEM_SCAN_CHARS

#: Where a text declares its labels: "... one of these labels: a, b, c." (first 4,000 chars).
_DECLARED = re.compile(r"\b(?:labels?|categories|classes)\b[^:.\n]{0,60}:\s*(?P<list>[^.\n]{3,600})",
                       re.IGNORECASE)
_HEAD_CHARS = 4_000
MAX_LABELS = 20
MAX_LABEL_WORDS = 6
#: Items a label question needs before the host labels them all.
MIN_ITEMS = 10
#: Sub-calls of the budget kept for the model when the host labels items.
SUBCALLS_FOR_MODEL = 20
_ASKS_LABEL = re.compile(r"\b(labels?|labell?ed|categor(?:y|ies|ised|ized)|class(?:es|ified)?)\b",
                         re.IGNORECASE)
#: A token with a digit (a user or ticket ID) that the question filters by.
_ID = re.compile(r"\b[A-Za-z]*\d[\w-]*\b")
#: Date formats a question may name a range in: (regex, strptime format).
DATE_FORMATS = (
    (r"\b[A-Z][a-z]{2} \d{1,2}, \d{4}\b", "%b %d, %Y"),
    (r"\b[A-Z][a-z]{3,8} \d{1,2}, \d{4}\b", "%B %d, %Y"),
    (r"\b\d{4}-\d{2}-\d{2}\b", "%Y-%m-%d"),
    (r"\b\d{1,2} [A-Z][a-z]{2} \d{4}\b", "%d %b %Y"),
    (r"\b\d{1,2} [A-Z][a-z]{3,8} \d{4}\b", "%d %B %Y"),
)


def declared_labels(text: str) -> tuple[list[str], str] | None:
    """The labels a text declares near its start and the sentence that declares them."""
    head = text[:_HEAD_CHARS]
    for m in _DECLARED.finditer(head):
        raw = m.group("list")
        quoted = re.findall(r"'([^']+)'|\"([^\"]+)\"", raw)
        names = [a or b for a, b in quoted] if len(quoted) >= 2 else \
            [re.sub(r"^(?:and|or)\s+", "", p.strip()) for p in raw.split(",")]
        names = [n.strip() for n in names if n.strip()]
        if 2 <= len(names) <= MAX_LABELS and \
                all(len(n.split()) <= MAX_LABEL_WORDS for n in names):
            start = max(head.rfind(".", 0, m.start()), head.rfind("\n", 0, m.start())) + 1
            end = head.find(".", m.end())
            sentence = head[start:end + 1 if end != -1 else m.end()].strip()
            return names, sentence
    return None


def date_range(query: str) -> tuple[dt.date, dt.date, str, str] | None:
    """The first and last day of a range the question names (two dates, both included), with
    the regex and format its dates are written in; None without two dates."""
    for regex, fmt in DATE_FORMATS:
        days = []
        for found in re.findall(regex, query):
            try:
                days.append(dt.datetime.strptime(found, fmt).date())
            except ValueError:
                continue
        if len(days) == 2:
            return min(days), max(days), regex, fmt
    return None


def id_filters(query: str, items_text: str, labels: list[str]) -> list[str]:
    """The IDs the question names (tokens with a digit, not part of a date) that the items
    hold as whole words, e.g. the '14875' of "for user 14875"."""
    masked = query
    for regex, _ in DATE_FORMATS:
        masked = re.sub(regex, " ", masked)
    label_text = " ".join(labels).lower()
    found = []
    for token in _ID.findall(masked):
        if token.lower() in label_text or token in found:
            continue
        if re.search(rf"(?<![\w-]){re.escape(token)}(?![\w-])", items_text):
            found.append(token)
    return found


@dataclass(frozen=True)
class LabelPlan:
    """The host's program that labels every item and prints the label counts."""

    program: str
    labels: tuple[str, ...]
    items: int
    item_label: str
    hint: str

    def message(self, output: str) -> str:
        """What the model is told: what the host ran and why, its output, what to do next."""
        return LABELLED.format(items=self.items, item=self.item_label,
                               output=output.strip() or "(nothing printed)", hint=self.hint)


def asks_about_labels(query: str, labels: list[str]) -> bool:
    """Whether the question is about the declared labels (names one, or asks for a label)."""
    low = query.lower()
    return bool(_ASKS_LABEL.search(query)) or any(label.lower() in low for label in labels)


def label_plan(query: str, source: str, max_labelled: int | None = None) -> LabelPlan | None:
    """The plan for a question about the labels a text declares for its repeated items.

    The items the question names (an ID, a date range) are picked first; when more are left
    than `max_labelled` (what the sub-call budget allows), a seeded random sample of that many
    is labelled and the counts are scaled up, marked as estimates."""
    declared = declared_labels(source)
    if declared is None:
        return None
    labels, sentence = declared
    if not asks_about_labels(query, labels):
        return None
    patterns = item_patterns(source[:ITEM_SCAN_CHARS])
    if not patterns or patterns[0].count < MIN_ITEMS:
        return None
    lines = ["items = find_items()", f"names = {labels!r}", "keep = list(range(len(items)))"]
    shown = []
    for token in id_filters(query, source[:ITEM_SCAN_CHARS], labels):
        pattern = rf"(?<![\w-]){re.escape(token)}(?![\w-])"
        lines.append(f"keep = [i for i in keep if re.search({pattern!r}, items[i])]")
        shown.append(f"with {token}")
    if (window := date_range(query)) is not None:
        first, last, regex, fmt = window
        lines += ["def day(item):",
                  f"    m = re.search({regex!r}, item)",
                  f"    return datetime.datetime.strptime(m.group(), {fmt!r}).date() "
                  "if m else None",
                  f"first, last = datetime.date({first.year}, {first.month}, {first.day}), "
                  f"datetime.date({last.year}, {last.month}, {last.day})",
                  "keep = [i for i in keep if day(items[i]) and first <= day(items[i]) <= last]"]
        shown.append(f"dated {first.isoformat()} to {last.isoformat()}")
    where = (" " + " and ".join(shown)) if shown else ""
    lines += ["sample = keep" if max_labelled is None else
              f"sample = keep if len(keep) <= {max_labelled} else "
              f"sorted(random.Random(0).sample(keep, {max_labelled}))",
              f"labels = classify([items[i] for i in sample], names, {sentence!r})",
              "counts = {name: 0 for name in names}",
              "for label in labels:",
              "    if label in counts:",
              "        counts[label] += 1",
              f"print(f'{{len(keep)}} items{where} of {{len(items)}}; labelled {{len(sample)}} "
              "({len(labels.failed)} could not be labelled):')",
              "scale = len(keep) / len(sample) if sample else 0",
              "def shown(name):",
              "    n = counts[name]",
              "    return str(n) if scale == 1 else "
              "f'about {round(n * scale)} (estimated from {n} in the sample)'",
              "ranked = sorted(names, key=lambda name: -counts[name])",
              "for name in ranked:",
              "    print(f'{name}: {shown(name)}')",
              "top = [name for name in names if counts[name] == counts[ranked[0]]]",
              "low = [name for name in names if counts[name] == counts[ranked[-1]]]",
              "print(f\"Most common: {' and '.join(top)}. Least common: {' and '.join(low)}.\")"]
    named = phrases_in(query, labels)  # the labels the question names, in its order
    for name in named:
        lines.append(f"print('The question names ' + repr({name!r}) + ': ' + shown({name!r}))")
    if len(named) == 2:
        lines += [f"a, b = {named[0]!r}, {named[1]!r}",
                  "relation = 'more common than' if counts[a] > counts[b] else "
                  "'less common than' if counts[a] < counts[b] else 'the same frequency as'",
                  "print(f'So {a!r} is {relation} {b!r}.')"]
    program = "import datetime, random, re\n" + "\n".join(lines)
    return LabelPlan(program, tuple(labels), patterns[0].count, patterns[0].label,
                     answer_hint(query, named))


def answer_hint(query: str, named: list[str]) -> str:
    """Which printed line answers the question: the comparison for two named labels, the
    most/least common line for an extreme, the named label's count, else all three."""
    if len(named) == 2:
        return ANSWER_COMPARE
    if extreme := _EXTREME.search(query):
        return ANSWER_EXTREME.format(which=extreme.group(1).capitalize())
    return ANSWER_COUNT if len(named) == 1 else ANSWER_ANY


_EXTREME = re.compile(r"\b(most|least)\b", re.IGNORECASE)
ANSWER_ANY = (
    "for a count, the number of the label the question names; for the most or least common "
    "label, that label's name; for a comparison of two labels, the words that compare them."
)
ANSWER_COMPARE = (
    "the question compares two labels, so answer with the words that compare them in the "
    "line that starts 'So', not a count."
)
ANSWER_EXTREME = "answer with the label's name from the line '{which} common: ...'."
ANSWER_COUNT = "answer with the number from the line 'The question names ...'."


LABELLED = (
    "The question is about the labels of the text's {items} items (like {item!r}), so the host "
    "ran the code above: it labelled the items the question is about and counted the labels "
    "(its variables `items`, `sample` and `labels` stay in the REPL). Its output:\n{output}\n"
    "Answer the question from this output with FINAL(...): {hint}"
)

#: Sent back once when the model answers NOT_FOUND after the host printed the label counts.
TABLE_ANSWERS = (
    "NOT_FOUND is not the answer: the host labelled the items and its counts answer the "
    "question:\n{output}\nAnswer with FINAL(...) from these lines (a label's name, a number, "
    "or the words that compare two labels)."
)

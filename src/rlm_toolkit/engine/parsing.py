"""Reading the model's reply: code blocks to run and a final answer written as text.

Forgiving by design (small models): ```repl, ```python, ```py and bare ``` fences are code; an
unclosed last fence still counts, and a reply with no fence that is all Python code (with a
call or an assignment) runs as code. FINAL(...) written as text counts only at the start of a
line outside code, so a FINAL mentioned in prose or in a plan does not end the run.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

CODE_LANGS = {"repl", "python", "py", "python3", ""}
_FENCE = re.compile(r"^[ \t]*```[ \t]*([A-Za-z0-9_+-]*)[ \t]*$", re.MULTILINE)
_FINAL = re.compile(r"^[ \t]*(?:\*\*)?(FINAL_VAR|FINAL)\((.*)\)(?:\*\*)?[ \t]*$", re.MULTILINE | re.DOTALL)


@dataclass(frozen=True)
class ParsedReply:
    """Code blocks in order, and the reply's text with code removed."""

    code_blocks: list[str]
    prose: str


def parse_reply(text: str) -> ParsedReply:
    """Split a reply into runnable code blocks and the prose around them."""
    blocks: list[str] = []
    prose: list[str] = []
    pos = 0
    fences = list(_FENCE.finditer(text))
    i = 0
    while i < len(fences):
        opening = fences[i]
        lang = opening.group(1).lower()
        closing = fences[i + 1] if i + 1 < len(fences) else None
        prose.append(text[pos : opening.start()])
        body_end = closing.start() if closing else len(text)
        body = text[opening.end() : body_end].strip("\n")
        if lang in CODE_LANGS and body.strip() and _looks_like_code(body, lang):
            blocks.append(body)
        pos = closing.end() if closing else len(text)
        i += 2
    prose.append(text[pos:])
    if not fences and _is_bare_code(text):
        return ParsedReply([text.strip("\n")], "")
    return ParsedReply(blocks, "".join(prose))


def _is_bare_code(text: str) -> bool:
    """A reply with no fence at all that is Python doing something (a call or assignment).

    Small models often drop the fence; prose rarely parses as Python, and a lone name or
    string (which would) does nothing, so it is not taken as code.
    """
    if not text.strip():
        return False
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return False
    if len(tree.body) == 1 and _is_final_call(tree.body[0]):
        return False  # a lone FINAL(...) is a text answer, judged as one
    return any(isinstance(node, (ast.Call, ast.Assign, ast.AugAssign, ast.For, ast.Import,
                                 ast.ImportFrom)) for node in ast.walk(tree))


def _looks_like_code(body: str, lang: str) -> bool:
    if lang:
        return True
    try:  # a bare fence: only if it parses as Python
        ast.parse(body)
    except SyntaxError:
        return False
    return True


def _is_final_call(node: ast.stmt) -> bool:
    return (isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)
            and isinstance(node.value.func, ast.Name)
            and node.value.func.id in ("FINAL", "FINAL_VAR"))


@dataclass(frozen=True)
class TextFinal:
    """A FINAL(...) or FINAL_VAR(...) written as text. `value` is unquoted when it was a literal."""

    kind: str  # "FINAL" or "FINAL_VAR"
    raw: str
    value: str

    @property
    def name(self) -> str | None:
        """The variable it names, when it is an identifier."""
        candidate = self.value.strip().strip("'\"") if self.kind == "FINAL_VAR" else self.raw.strip()
        return candidate if candidate.isidentifier() else None

    @property
    def is_expression(self) -> bool:
        """True for FINAL(expr) where expr is Python that computes something (not a literal),
        or for a FINAL with keyword arguments (`cite=`), which the REPL must read."""
        if self.kind != "FINAL":
            return False
        if _keywords(self.raw):  # FINAL(value, cite=[...]): the REPL reads the citations
            return True
        try:
            node = ast.parse(self.raw.strip(), mode="eval").body
        except SyntaxError:
            return False
        return isinstance(node, (ast.Subscript, ast.Call, ast.Attribute, ast.BinOp,
                                 ast.JoinedStr))


def find_text_final(prose: str) -> TextFinal | None:
    """The FINAL written at the start of a line in `prose`, if any."""
    match = _FINAL.search(prose)
    if match is None:
        return None
    kind, raw = match.group(1), match.group(2).strip()
    first = _first_argument(raw) if _keywords(raw) else None
    if first is None:  # not Python (FINAL(Torbran Treasury, cite=[1])): drop the citations
        first = _TRAILING_CITE.sub("", raw)
    return TextFinal(kind, raw, _unquote(first))


_TRAILING_CITE = re.compile(r",\s*cite\s*=.*\Z", re.DOTALL)


def _call(raw: str) -> ast.Call | None:
    """`raw` read as the arguments of a call, or None when it is not Python."""
    try:
        node = ast.parse(f"FINAL({raw})", mode="eval").body
    except SyntaxError:
        return None
    return node if isinstance(node, ast.Call) else None


def _keywords(raw: str) -> list[str]:
    """The keyword arguments written in `raw` (FINAL(value, cite=[...]) as text)."""
    call = _call(raw)
    return [k.arg for k in call.keywords if k.arg] if call is not None else []


def _first_argument(raw: str) -> str | None:
    """The source of the first positional argument in `raw`."""
    call = _call(raw)
    if call is None or not call.args:
        return None
    return ast.get_source_segment(f"FINAL({raw})", call.args[0])


def _unquote(raw: str) -> str:
    if (len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "'\"") or raw[:3] in ('"""', "'''"):
        try:
            value = ast.literal_eval(raw)
        except (ValueError, SyntaxError):
            return raw
        return value if isinstance(value, str) else str(value)
    return raw

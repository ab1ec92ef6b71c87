"""Typed output: a schema from a Pydantic model, a dataclass or a JSON schema, and validation.

`OutputSchema.of(spec)` takes any of the three. `.json_schema` is what the model is told (and
what a provider's structured-output mode or a grammar is built from); `.validate(text)` finds
the JSON in a reply, checks it and returns the typed value (the model instance, the dataclass
instance, or the plain JSON value), or raises `OutputInvalid` naming the exact problem.
"""

from __future__ import annotations

import ast
import dataclasses
import json
import re
from collections.abc import Mapping
from typing import Any

from ..errors import ConfigError, OutputInvalid

#: Replies longer than this are not read as Python literals (only as JSON).
LITERAL_LIMIT = 1_000_000
_FENCE = re.compile(r"```(?:json)?\s*\n(.*?)\n?```", re.S)


class OutputSchema:
    """One output type: its JSON schema and a validator that returns the typed value."""

    def __init__(self, spec: Any) -> None:
        self.spec = spec
        self.kind, self.json_schema = _schema_of(spec)
        self._adapter: Any = None
        self._validator: Any = None
        if self.kind == "json_schema":
            import jsonschema

            cls = jsonschema.validators.validator_for(self.json_schema)
            try:
                cls.check_schema(self.json_schema)
            except jsonschema.SchemaError as exc:
                raise ConfigError(f"the output JSON schema is not valid: {exc.message}") from None
            self._validator = cls(self.json_schema)
        else:
            from pydantic import TypeAdapter

            self._adapter = TypeAdapter(spec)

    @classmethod
    def of(cls, spec: Any) -> OutputSchema:
        """`spec` as an OutputSchema (returned as is when it already is one)."""
        return spec if isinstance(spec, OutputSchema) else cls(spec)

    @property
    def name(self) -> str:
        """The type's name, for prompts and errors."""
        if self.kind == "json_schema":
            return str(self.json_schema.get("title") or "the JSON schema")
        return str(getattr(self.spec, "__name__", "the output type"))

    def describe(self) -> str:
        """The schema as compact JSON, for a prompt."""
        return json.dumps(self.json_schema, ensure_ascii=False, separators=(",", ":"))

    def validate(self, text: str) -> Any:
        """The typed value of `text` (JSON, possibly fenced or inside prose), else OutputInvalid."""
        data = extract_json(text)
        return self.validate_value(data)

    def validate_value(self, data: Any) -> Any:
        """The typed value of already parsed JSON `data`, else OutputInvalid."""
        if self._validator is not None:
            errors = sorted(self._validator.iter_errors(data), key=lambda e: list(e.path))
            if errors:
                raise OutputInvalid("; ".join(_jsonschema_problem(e) for e in errors[:5]))
            return data
        from pydantic import ValidationError

        try:
            return self._adapter.validate_python(data)
        except ValidationError as exc:
            raise OutputInvalid(_pydantic_problem(exc)) from None

    def plain(self, value: Any) -> Any:
        """A validated value as plain JSON data (to send across the channel)."""
        if self._adapter is not None:
            return self._adapter.dump_python(value, mode="json")
        return value


def extract_json(text: str) -> Any:
    """The JSON value in a reply: the whole text, a ```json fence, or the first {...}/[...]."""
    stripped = text.strip()
    candidates = [stripped]
    candidates += [m.group(1).strip() for m in _FENCE.finditer(text)]
    for opener in "{[":
        start = stripped.find(opener)
        if start != -1:
            candidates.append(stripped[start:])
    decoder = json.JSONDecoder()
    first_error = ""
    for candidate in candidates:
        try:
            value, _end = decoder.raw_decode(candidate)
            return value
        except json.JSONDecodeError as exc:
            first_error = first_error or f"{exc.msg} at line {exc.lineno} column {exc.colno}"
    if stripped[:1] in ("{", "[") and len(stripped) <= LITERAL_LIMIT:
        try:  # FINAL(a_dict) arrives as Python's repr of it: read it as a literal
            return ast.literal_eval(stripped)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            pass
    raise OutputInvalid(f"the reply is not JSON ({first_error or 'empty reply'}): "
                        "reply with one JSON value only")


def _schema_of(spec: Any) -> tuple[str, dict[str, Any]]:
    if isinstance(spec, Mapping):
        return "json_schema", dict(spec)
    if isinstance(spec, type) and dataclasses.is_dataclass(spec):
        from pydantic import TypeAdapter

        return "dataclass", TypeAdapter(spec).json_schema()
    model_schema = getattr(spec, "model_json_schema", None)
    if isinstance(spec, type) and callable(model_schema):
        return "pydantic", dict(model_schema())
    raise ConfigError(
        f"output must be a Pydantic model class, a dataclass or a JSON schema dict, got "
        f"{spec!r}"
    )


def _jsonschema_problem(error: Any) -> str:
    where = "/".join(str(p) for p in error.absolute_path) or "the top level"
    return f"at {where}: {error.message}"


def _pydantic_problem(exc: Any) -> str:
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err.get("loc", ())) or "the top level"
        parts.append(f"at {where}: {err.get('msg')} (got {err.get('input')!r})"[:300])
    return "; ".join(parts)

"""The REPL side of structured results: the short schema form and Records."""

from __future__ import annotations

import pytest

from rlm_toolkit import RLMConfig
from rlm_toolkit.errors import ConfigError
from rlm_toolkit.sandbox.worker.structured import Record, as_record, json_schema


def test_the_short_form_becomes_a_json_schema() -> None:
    assert json_schema({"summary": str, "tags": [str], "where": {"city": str, "year": int},
                        "ok": bool, "note": None}) == {
        "type": "object",
        "properties": {
            "summary": {"type": "string"},
            "tags": {"type": "array", "items": {"type": "string"}},
            "where": {"type": "object", "properties": {"city": {"type": "string"},
                                                       "year": {"type": "integer"}},
                      "required": ["city", "year"]},
            "ok": {"type": "boolean"},
            "note": {"type": "null"},
        },
        "required": ["summary", "tags", "where", "ok", "note"],
    }
    full = {"type": "object", "properties": {"type": {"type": "string"}}}
    assert json_schema(full) is full  # a JSON schema is kept as it is


def test_a_short_form_that_cannot_be_read_says_how_to_write_one() -> None:
    with pytest.raises(TypeError, match=r"e.g. \{'summary': str"):
        json_schema({"when": "yesterday"})


def test_records_read_fields_as_attributes_at_every_depth() -> None:
    r = as_record({"a": {"b": [{"c": 1}]}, "n": 2})
    assert isinstance(r, Record) and r.a.b[0].c == 1 and r["n"] == 2
    assert str(r) == '{"a": {"b": [{"c": 1}]}, "n": 2}'
    with pytest.raises(AttributeError, match="no field 'x'; the fields are: a, n"):
        _ = r.x


def test_pin_goal_must_be_a_bool() -> None:
    assert RLMConfig().pin_goal is True
    with pytest.raises(ConfigError, match="pin_goal must be True or False"):
        RLMConfig(pin_goal="yes")  # type: ignore[arg-type]

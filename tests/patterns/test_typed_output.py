"""Typed final output: rlm.run(..., output=Model) and `rlm run --schema`."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from pydantic import BaseModel

from rlm_toolkit.engine.schema import OutputSchema
from rlm_toolkit.errors import ConfigError, OutputInvalid
from rlm_toolkit.testing import ScriptedLLM
from rlm_toolkit.testing.servers import OpenAIServer
from tests.helpers import make_rlm, repl

DOC = "Ada Lovelace was 36 when she died. Alan Turing was 41."
LOOK = repl("print(grep('Ada'))")


class Person(BaseModel):
    name: str
    age: int


@dataclass
class PersonDC:
    name: str
    age: int


PERSON_SCHEMA = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
    "required": ["name", "age"],
}


def test_a_valid_answer_the_first_time_is_the_typed_output() -> None:
    root = ScriptedLLM([LOOK, repl("FINAL({'name': 'Ada Lovelace', 'age': 36})")])
    result = make_rlm(root).run(context=DOC, query="Who died at 36?", output=Person)
    assert result.status == "success"
    assert result.output == Person(name="Ada Lovelace", age=36)
    assert "Ada Lovelace" in result.answer  # the text stays the text
    task = root.requests[0][1]["content"]
    assert "must be JSON matching this schema" in task and '"age"' in task
    assert result.summary()["output"] == {"name": "Ada Lovelace", "age": 36}


def test_an_invalid_answer_goes_back_once_with_the_exact_problem_then_is_fixed() -> None:
    root = ScriptedLLM([
        LOOK,
        repl("FINAL({'name': 'Ada Lovelace', 'age': 'thirty-six'})"),
        repl("FINAL({'name': 'Ada Lovelace', 'age': 36})"),
    ])
    result = make_rlm(root).run(context=DOC, query="Who died at 36?", output=Person)
    assert result.status == "success"
    assert result.output == Person(name="Ada Lovelace", age=36)
    feedback = root.requests[2][-1]["content"]
    assert "does not match the required output schema" in feedback
    assert "at age" in feedback and "thirty-six" in feedback


def test_invalid_twice_ends_with_a_status_a_clear_error_and_the_raw_text() -> None:
    root = ScriptedLLM([
        LOOK,
        repl("FINAL('Ada, 36 years')"),
        repl("FINAL({'name': 'Ada'})"),
    ])
    result = make_rlm(root).run(context=DOC, query="Who died at 36?", output=Person)
    assert result.status == "invalid_output"
    assert result.output is None
    assert result.answer == "{'name': 'Ada'}"  # the raw text is kept
    error = result.error or ""
    assert "does not match the output schema (Person) after one retry" in error
    assert "at age: Field required" in error


def test_a_dataclass_is_an_output_type() -> None:
    root = ScriptedLLM([LOOK, repl("FINAL('{\"name\": \"Alan Turing\", \"age\": 41}')")])
    result = make_rlm(root).run(context=DOC, query="Who died at 41?", output=PersonDC)
    assert result.status == "success"
    assert result.output == PersonDC("Alan Turing", 41)
    assert result.summary()["output"] == {"name": "Alan Turing", "age": 41}


def test_a_json_schema_dict_is_an_output_type() -> None:
    root = ScriptedLLM([LOOK, repl("FINAL({'name': 'Alan Turing', 'age': 41.5})"),
                        repl("FINAL({'name': 'Alan Turing', 'age': 41})")])
    result = make_rlm(root).run(context=DOC, query="Who died at 41?", output=PERSON_SCHEMA)
    assert result.status == "success"
    assert result.output == {"name": "Alan Turing", "age": 41}
    assert "at age: 41.5 is not of type 'integer'" in root.requests[2][-1]["content"]


def test_the_json_is_found_in_a_fenced_reply_and_prose() -> None:
    schema = OutputSchema.of(Person)
    assert schema.validate('Here:\n```json\n{"name": "A", "age": 1}\n```') == Person(name="A",
                                                                                    age=1)
    assert schema.validate('The answer is {"name": "B", "age": 2} as found.') == Person(
        name="B", age=2)
    with pytest.raises(OutputInvalid, match="the reply is not JSON"):
        schema.validate("no json here")


def test_an_output_that_is_not_a_type_or_schema_is_refused_up_front() -> None:
    with pytest.raises(ConfigError, match="Pydantic model class, a dataclass or a JSON schema"):
        make_rlm(ScriptedLLM([])).run(context=DOC, query="q", output=int)
    with pytest.raises(ConfigError, match="not valid"):
        OutputSchema.of({"type": "no-such-type"})


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "rlm_toolkit.cli.main", *args],
                          capture_output=True, text=True, timeout=120)


def _root(body: dict) -> str:
    return LOOK if len(body["messages"]) == 2 else repl(
        "FINAL({'name': 'Ada Lovelace', 'age': 36})")


def test_the_cli_checks_the_answer_against_a_schema_file(tmp_path: Path) -> None:
    doc, schema = tmp_path / "doc.txt", tmp_path / "person.json"
    doc.write_text(DOC)
    schema.write_text(json.dumps(PERSON_SCHEMA))
    with OpenAIServer(_root) as server:
        done = _cli("run", "--context", str(doc), "-q", "Who died at 36?", "--model",
                    "openai/m", "--base-url", server.base_url, "--schema", str(schema),
                    "--quiet")
        sent = [json.dumps(r) for r in server.requests]
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"name": "Ada Lovelace", "age": 36}
    assert '\\"required\\":[\\"name\\",\\"age\\"]' in sent[0]  # the model was told the schema


def test_the_cli_exits_3_when_the_answer_never_matches(tmp_path: Path) -> None:
    doc, schema = tmp_path / "doc.txt", tmp_path / "person.json"
    doc.write_text(DOC)
    schema.write_text(json.dumps(PERSON_SCHEMA))
    with OpenAIServer(lambda body: LOOK if len(body["messages"]) == 2
                      else repl("FINAL('Ada')")) as server:
        done = _cli("run", "--context", str(doc), "-q", "Who?", "--model", "openai/m",
                    "--base-url", server.base_url, "--schema", str(schema), "--quiet")
    assert done.returncode == 3
    assert done.stdout.strip() == "Ada"
    assert "does not match the output schema" in done.stderr


def test_the_cli_refuses_a_schema_file_that_is_not_json(tmp_path: Path) -> None:
    doc, schema = tmp_path / "doc.txt", tmp_path / "bad.json"
    doc.write_text(DOC)
    schema.write_text("{not json")
    done = _cli("run", "--context", str(doc), "-q", "q", "--model", "openai/m", "--base-url",
                "http://127.0.0.1:9/v1", "--schema", str(schema), "--quiet")
    assert done.returncode == 1
    assert f"--schema {str(schema)!r} is not JSON" in done.stderr

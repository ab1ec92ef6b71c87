"""OpenTelemetry export: spans read back from a real Arize Phoenix, an application's own tracer
provider, a collector that is down or hangs, and the missing extra."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rlm_toolkit.errors import ConfigError
from rlm_toolkit.testing import ScriptedLLM
from rlm_toolkit.trace.otel import INSTALL_HINT
from tests.helpers import make_rlm, repl

pytest.importorskip("opentelemetry.sdk", reason="the [otel] extra is not installed")

REPO = Path(__file__).resolve().parents[2]
PHOENIX = REPO / ".venv-phoenix" / "bin" / "phoenix"
PHOENIX_START_S = 240  # a cold start migrates its SQLite database: a bound, not a measure
SCRIPTS = {
    "Query: top task": repl("rs = llm_batch(['part one', 'part two'])\n"
                            "kid = rlm_query('child task')\nFINAL(kid)"),
    "Query: child task": repl("c = llm('child question')\nFINAL(c)"),
}


def root_reply(messages: list[dict[str, Any]]) -> str:
    return SCRIPTS[str(messages[1]["content"]).split("\n")[0]]


def sub_reply(messages: list[dict[str, Any]]) -> str:
    return "the answer is 4417" if messages[-1]["content"] == "child question" else "nothing"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as resp:
        return json.load(resp)


@pytest.fixture(scope="module")
def phoenix(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Phoenix on a free loopback port, SQLite in a temp folder, killed at the end."""
    exe = os.environ.get("RLM_PHOENIX") or (str(PHOENIX) if PHOENIX.exists() else None) \
        or shutil.which("phoenix")
    if exe is None:
        pytest.skip("Arize Phoenix is not installed (scripts/setup.sh puts it in .venv-phoenix)")
    work = tmp_path_factory.mktemp("phoenix")
    port = free_port()
    env = {**os.environ, "PHOENIX_WORKING_DIR": str(work), "PHOENIX_HOST": "127.0.0.1",
           "PHOENIX_PORT": str(port), "PHOENIX_GRPC_PORT": str(free_port()),
           "PHOENIX_TELEMETRY_ENABLED": "false"}
    log = open(work / "phoenix.log", "wb")  # noqa: SIM115 (closed below)
    proc = subprocess.Popen([exe, "serve"], env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + PHOENIX_START_S
        while True:
            if proc.poll() is not None:
                pytest.fail(f"phoenix serve exited ({proc.returncode}): "
                            f"{(work / 'phoenix.log').read_text(errors='replace')[-2000:]}")
            with contextlib.suppress(OSError), \
                    urllib.request.urlopen(f"{url}/healthz", timeout=2):
                break
            if time.monotonic() > deadline:
                pytest.fail(f"phoenix serve did not answer within {PHOENIX_START_S}s")
            time.sleep(0.5)
        yield url
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(30)
        log.close()


def phoenix_spans(url: str, count: int) -> list[dict[str, Any]]:
    """The project's spans, once `count` have arrived (bounded wait)."""
    deadline = time.monotonic() + 60
    spans: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        spans = get_json(f"{url}/v1/projects/default/spans?limit=1000")["data"]
        if len(spans) >= count:
            return spans
        time.sleep(0.5)
    pytest.fail(f"Phoenix holds {len(spans)} spans, expected {count}")


def test_spans_reach_phoenix_as_the_run_tree_with_genai_attributes(
        phoenix: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", phoenix)
    monkeypatch.setenv("OTEL_SERVICE_NAME", "rlm-test")
    root = ScriptedLLM(root_reply, name="scripted/root")
    sub = ScriptedLLM(sub_reply, name="scripted/sub")
    result = make_rlm(root, sub, otel=True, max_depth=1).run(context="data", query="top task")
    assert result.status == "success" and result.answer == "the answer is 4417"
    ours = result.trace.spans()
    got = phoenix_spans(phoenix, len(ours))
    by_rlm_id = {s["attributes"]["rlm.span_id"]: s for s in got}
    assert set(by_rlm_id) == {s.span_id for s in ours}
    assert len({s["context"]["trace_id"] for s in got}) == 1
    for span in ours:  # the same tree: each span's parent is its parent's span
        theirs = by_rlm_id[span.span_id]
        if span.parent_id is None:
            assert theirs["parent_id"] is None and theirs["name"] == "rlm.run"
        else:
            assert theirs["parent_id"] == by_rlm_id[span.parent_id]["context"]["span_id"]
    kinds = {s.kind for s in ours}
    assert {"run", "iteration", "root_llm", "code", "llm", "child_run"} <= kinds
    for span in result.trace.spans("llm") + result.trace.spans("root_llm"):
        attrs = by_rlm_id[span.span_id]["attributes"]
        assert attrs["gen_ai.operation.name"] == "chat"
        assert attrs["gen_ai.request.model"] == span.attrs["model"]
        assert attrs["gen_ai.provider.name"] == "scripted"
        assert attrs["gen_ai.usage.input_tokens"] == span.attrs["usage"]["input_tokens"]
        assert attrs["gen_ai.usage.output_tokens"] == span.attrs["usage"]["output_tokens"]
        assert by_rlm_id[span.span_id]["span_kind"] == "LLM"
    sub_models = {by_rlm_id[s.span_id]["attributes"]["gen_ai.request.model"]
                  for s in result.trace.spans("llm")}
    assert sub_models == {"scripted/sub"}
    for span in result.trace.spans("code"):
        assert by_rlm_id[span.span_id]["attributes"]["rlm.code"] == span.attrs["code"]
    child = result.trace.spans("child_run")[0]
    inner_run = next(c for c in child.children if c.kind == "run")
    assert by_rlm_id[inner_run.span_id]["parent_id"] == by_rlm_id[child.span_id]["context"]["span_id"]
    # Prompts stay home unless asked for.
    assert not any("input.value" in s["attributes"] for s in got if s["span_kind"] == "LLM")


APP_SCRIPT = """
import json
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from rlm_toolkit.testing import ScriptedLLM
from tests.helpers import make_rlm, repl

memory = InMemorySpanExporter()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(memory))
trace.set_tracer_provider(provider)
code = "x = llm('q')\\n" + "# padding " * 20 + "\\nFINAL(x)"
root = ScriptedLLM([repl(code)])
with trace.get_tracer("app").start_as_current_span("app request") as app:
    result = make_rlm(root, ScriptedLLM(["fine"]), otel=True, otel_code_chars=30).run(
        context="data", query="q")

async def in_a_loop():  # a notebook: run() called where an event loop already runs
    with trace.get_tracer("app").start_as_current_span("notebook cell") as cell:
        make_rlm(ScriptedLLM([repl("FINAL('ok')")]), otel=True).run(context="d", query="q")
    return cell.get_span_context().span_id

import asyncio
cell = asyncio.run(in_a_loop())
spans = memory.get_finished_spans()
print(json.dumps({"cell": cell,
    "answer": result.answer, "ours": len(result.trace.spans()),
    "app": {"trace": app.get_span_context().trace_id, "span": app.get_span_context().span_id},
    "spans": [{"name": s.name, "trace": s.context.trace_id, "span": s.context.span_id,
               "parent": s.parent.span_id if s.parent else None,
               "attrs": dict(s.attributes)} for s in spans],
}))
"""


def test_an_app_with_its_own_tracer_provider_gets_the_spans_under_its_current_span() -> None:
    # A fresh process: the global tracer provider can be set once per process.
    env = {**os.environ, "PYTHONPATH": str(REPO),
           "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{free_port()}"}
    out = subprocess.run([sys.executable, "-c", APP_SCRIPT], cwd=REPO, env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    data = json.loads(out.stdout.strip().splitlines()[-1])
    assert data["answer"] == "fine"
    runs = [s for s in data["spans"] if s["name"] == "rlm.run"]
    assert len(runs) == 2 and runs[1]["parent"] == data["cell"]  # also from inside a loop
    first = {s["span"] for s in data["spans"] if s["trace"] == data["app"]["trace"]}
    ours = [s for s in data["spans"] if "rlm.span_id" in s["attrs"] and s["span"] in first]
    assert len(ours) == data["ours"]  # every span went to the app's provider
    assert all(s["trace"] == data["app"]["trace"] for s in ours)
    run = next(s for s in ours if s["name"] == "rlm.run")
    assert run["parent"] == data["app"]["span"]
    code = next(s for s in ours if s["name"] == "rlm.code")["attrs"]["rlm.code"]
    assert code.startswith("x = llm('q')\n# padding") and "chars]" in code
    assert len(code) < 60  # cut to otel_code_chars=30 plus the note of what was cut


def exporter_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "rlm-otel-flush"]


def test_a_collector_that_is_down_or_hangs_never_blocks_or_fails_the_run(
        monkeypatch: pytest.MonkeyPatch) -> None:
    script = [repl("x = llm('q')\nFINAL('got ' + x)")]
    # Down: nothing listens on the port.
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{free_port()}")
    result = make_rlm(ScriptedLLM(list(script)), ScriptedLLM(["it"]), otel=True).run(
        context="data", query="q")
    assert result.status == "success" and result.answer == "got it"
    # Hangs: a collector that takes the connection and never answers, until we let go.
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []
    release = threading.Event()

    def hold() -> None:
        server.settimeout(0.2)
        while not release.is_set():
            with contextlib.suppress(OSError):
                held.append(server.accept()[0])

    holder = threading.Thread(target=hold, daemon=True)
    holder.start()
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{server.getsockname()[1]}")
    try:
        result = make_rlm(ScriptedLLM(list(script)), ScriptedLLM(["it"]), otel=True).run(
            context="data", query="q")
        assert result.status == "success" and result.answer == "got it"
        # The run is back while its last spans are still on their way, in the background.
        assert any(t.is_alive() for t in exporter_threads())
    finally:
        release.set()
        holder.join(10)
        for conn in held:
            conn.close()
        server.close()
    for thread in exporter_threads():
        thread.join(120)
        assert not thread.is_alive()  # the exporter gives up; nothing is left hanging


def test_without_the_extra_a_one_line_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "opentelemetry", None)  # import fails as if not installed
    rlm = make_rlm(ScriptedLLM([repl("FINAL('x')")]), otel=True)
    with pytest.raises(ConfigError) as info:
        rlm.run(context="data", query="q")
    assert str(info.value) == INSTALL_HINT and "\n" not in str(info.value)
    assert "pip install 'rlm-toolkit[otel]'" in str(info.value)


def test_rlm_run_otel_without_the_extra_says_so_in_one_line(tmp_path: Path) -> None:
    """`rlm run --otel` with the extra hidden fails with the hint, not a traceback."""
    ctx = tmp_path / "ctx.txt"
    ctx.write_text("data")
    hide = tmp_path / "hide"
    hide.mkdir()
    (hide / "opentelemetry.py").write_text("raise ImportError('hidden for the test')\n")
    env = {**os.environ, "PYTHONPATH": f"{hide}{os.pathsep}{REPO}"}
    out = subprocess.run(
        [sys.executable, "-m", "rlm_toolkit.cli.main", "run", "--context", str(ctx), "-q", "q",
         "--model", "openai/x", "--base-url", "http://127.0.0.1:9", "--otel", "--quiet"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode != 0
    assert "rlm-toolkit[otel]" in out.stderr and "Traceback" not in out.stderr


class OtlpSink:
    """A loopback OTLP/HTTP endpoint that keeps every export request it is sent."""

    def __init__(self) -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.bodies: list[tuple[str, str, bytes]] = []
        bodies = self.bodies

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                bodies.append((self.path, str(self.headers.get("Content-Type")), body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def spans(self) -> list[Any]:
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
            ExportTraceServiceRequest,
        )

        out = []
        for _, _, body in self.bodies:
            request = ExportTraceServiceRequest()
            request.ParseFromString(body)
            out += [s for rs in request.resource_spans for ss in rs.scope_spans for s in ss.spans]
        return out


def test_rlm_run_otel_sends_the_runs_spans_over_otlp_http(tmp_path: Path) -> None:
    from rlm_toolkit.testing.servers import OpenAIServer

    doc = tmp_path / "doc.txt"
    doc.write_text("some text")

    def answering(body: dict[str, Any]) -> str:
        if len(body["messages"]) == 2:
            return "```repl\nprint(len(context))\n```"
        return "```repl\nFINAL('forty-two')\n```"

    sink = OtlpSink()
    try:
        with OpenAIServer(answering) as server:
            env = {**os.environ, "OTEL_EXPORTER_OTLP_ENDPOINT": sink.url,
                   "PYTHONPATH": str(REPO / "src")}
            done = subprocess.run(
                [sys.executable, "-m", "rlm_toolkit.cli.main", "run", "--context", str(doc),
                 "-q", "q", "--model", "openai/m", "--base-url", server.base_url, "--otel",
                 "--quiet"], env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == "forty-two"
        # The process waited for its last spans before it exited: they are all here.
        assert {(path, kind) for path, kind, _ in sink.bodies} == {
            ("/v1/traces", "application/x-protobuf")}
        spans = sink.spans()
    finally:
        sink.server.shutdown()
    names = sorted(s.name for s in spans)
    assert names.count("rlm.run") == 1 and names.count("rlm.iteration") == 2
    assert names.count("chat openai/m") == 2 and names.count("rlm.code") == 2
    calls = [s for s in spans if s.name == "chat openai/m"]
    for call in calls:
        attrs = {a.key: a.value for a in call.attributes}
        assert attrs["gen_ai.request.model"].string_value == "openai/m"
        assert attrs["gen_ai.usage.output_tokens"].int_value > 0


def test_an_otlp_protocol_we_do_not_send_is_refused_in_one_line_before_the_run(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
    root = ScriptedLLM([repl("FINAL('x')")])
    with pytest.raises(ConfigError) as info:
        make_rlm(root, otel=True).run(context="data", query="q")
    assert "'grpc' is not supported" in str(info.value) and "\n" not in str(info.value)
    assert root.calls == 0  # refused before anything was spent

"""`rlm run`: answer a query about a file (or stdin) with a live view of the run."""

from __future__ import annotations

import argparse
import glob
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.text import Text

from ..engine import RLM, Event, RLMConfig
from ..engine.context import check_context_file
from ..engine.schema import OutputSchema
from ..errors import ConfigError, RLMError
from ..folders import FolderContext, open_folder
from ..privacy import render as render_audit
from ..providers import resolve
from ..trace.viewer import from_trace, write_html
from ..verify import format_citations
from .stream import StreamView
from .trace import check_html_path

LOCAL_DEFAULT = "local/qwen2.5-coder-1.5b"
#: Exit status when the run succeeded and its answer was printed, but --trace could not be written.
TRACE_NOT_SAVED = 4
KEY_DEFAULTS = (
    ("OPENAI_API_KEY", "openai/gpt-4o-mini"),
    ("ANTHROPIC_API_KEY", "anthropic/claude-sonnet-5-5"),
    ("GEMINI_API_KEY", "gemini/gemini-2.5-flash"),
)


def register(commands: Any) -> None:
    p = commands.add_parser("run", help="run an RLM over a file and print the answer",
                            description="Run a Recursive Language Model over a file or stdin.")
    p.add_argument("--context", required=True, action="append", metavar="PATH|-",
                   help="the input: a file, a folder, a glob (quoted), or - for stdin; give it "
                   "more than once for several (a folder or several paths become a mapping of "
                   "relative path -> text, .gitignore respected)")
    p.add_argument("--query", "-q", help="the question to answer (or give --program)")
    p.add_argument("--program", metavar="FILE.py",
                   help="run your own Python program over the context instead of a model's "
                   "code: it has context, llm(), llm_batch(), rlm_query() and sets answer "
                   "(or calls FINAL); only what it passes to llm() leaves")
    p.add_argument("--model", "-m", help="root model as provider/model (default: $RLM_MODEL, a "
                   "provider whose API key is set, else the embedded local model)")
    p.add_argument("--sub-model", help="model for sub-calls (default: the root model)")
    p.add_argument("--base-url", help="server URL for the provider (a proxy, vLLM, a test server)")
    p.add_argument("--max-iterations", type=int, default=None)
    p.add_argument("--max-depth", type=int, default=None)
    p.add_argument("--max-tokens", type=int, default=None, help="token budget for the whole run")
    p.add_argument("--max-cost", type=float, default=None, help="USD budget for the whole run")
    p.add_argument("--timeout", type=float, default=None, help="seconds for the whole run")
    p.add_argument("--sandbox", choices=("auto", "bwrap", "landlock", "unsafe-local"), default=None)
    p.add_argument("--trace", metavar="OUT.jsonl", help="save the run's trace as JSONL")
    p.add_argument("--view", metavar="OUT.html", help="write the run's trace as a "
                   "self-contained HTML page (see `rlm trace view`)")
    p.add_argument("--json", action="store_true", help="print the result as JSON on stdout")
    p.add_argument("--quiet", action="store_true", help="no live view")
    p.add_argument("--stream", action="store_true",
                   help="show the root model's tokens as they come and each code step's "
                   "output (on stderr), then the answer")
    p.add_argument("--cite", action="store_true",
                   help="after the answer, print its numbered citations (line and excerpt)")
    p.add_argument("--verify", action="store_true",
                   help="check the answer against its cited text with one more model call; "
                   "an unsupported answer gets one more chance, then is marked unverified")
    p.add_argument("--verify-model", metavar="PROVIDER/MODEL",
                   help="model for the --verify check (default: the sub model)")
    p.add_argument("--schema", metavar="SCHEMA.json",
                   help="a JSON schema the answer must match; the checked JSON is printed "
                   "(exit 3 when it never matched)")
    p.add_argument("--otel", action="store_true",
                   help="send the run's spans live over OpenTelemetry (OTLP endpoint from "
                   "$OTEL_EXPORTER_OTLP_ENDPOINT; needs the [otel] extra)")
    p.add_argument("--redact", metavar="KINDS",
                   help="replace these in every prompt to a remote provider by placeholders, "
                   "restored in the answer: a comma list of email, phone, card, iban, ip, secret")
    p.add_argument("--egress", choices=("allow", "redact", "local-only"), default=None,
                   help="what may leave: allow (default), redact (all six kinds), local-only "
                   "(raw context only to local providers)")
    p.add_argument("--sub-local", action="store_true",
                   help="the sub model's server is on this machine (--egress local-only lets "
                   "raw context go to it); a loopback address alone does not count")
    p.add_argument("--audit", action="store_true",
                   help="after the answer, print what left the machine: per provider, requests, "
                   "characters, context coverage, redactions (kinds and counts)")
    p.set_defaults(func=run_command)


def default_model(err: Console) -> str:
    """$RLM_MODEL, else a provider whose key is set, else the local model (said in one line)."""
    if os.environ.get("RLM_MODEL"):
        return os.environ["RLM_MODEL"]
    for var, model in KEY_DEFAULTS:
        if os.environ.get(var):
            return model
    err.print(f"[dim]no --model and no API key set: using the embedded local model ({LOCAL_DEFAULT})[/]")
    return LOCAL_DEFAULT


def read_context(specs: str | list[str]) -> str | bytes | Path | FolderContext:
    """stdin's data for "-", a file's path (checked: missing, a pipe: one line each), or a
    folder, a glob or several paths as a lazy `FolderContext`."""
    if isinstance(specs, list):
        if len(specs) > 1 or glob.has_magic(specs[0]) or Path(specs[0]).is_dir():
            if "-" in specs:
                raise ConfigError("--context -: stdin cannot be combined with other paths")
            return open_folder(specs)
        specs = specs[0]
    spec = specs
    if spec == "-":
        data = sys.stdin.buffer.read()
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            return data
    path = Path(spec)
    check_context_file(path, stdin_hint=True)
    return path


def read_schema(spec: str) -> dict[str, Any]:
    """The JSON schema in file `spec`, checked before the run."""
    try:
        schema = json.loads(Path(spec).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"--schema {spec!r} cannot be read: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise ConfigError(f"--schema {spec!r} is not JSON: {exc}") from None
    if not isinstance(schema, dict):
        raise ConfigError(f"--schema {spec!r} must hold a JSON schema object, e.g. "
                          '{"type": "object", "properties": {...}}')
    OutputSchema.of(schema)  # a schema that is not valid is refused here, with its problem
    return schema


def check_trace_path(spec: str) -> None:
    """Refuse, before the run, a --trace path whose folder is missing or not writable."""
    folder = Path(spec).parent
    if Path(spec).is_dir():
        raise ConfigError(f"--trace {spec!r} is a folder: give a file name, e.g. {spec}/run.jsonl")
    if not folder.is_dir():
        raise ConfigError(f"--trace {spec!r}: the folder {str(folder)!r} does not exist; create "
                          "it first or choose another path")
    if not os.access(folder, os.W_OK):
        raise ConfigError(f"--trace {spec!r}: the folder {str(folder)!r} is not writable; "
                          "choose another path")


class LiveView:
    """A one-line live status of the run on stderr."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.started = time.monotonic()
        self.iteration = 0
        self.subcalls = 0
        self.children = 0
        self.last = "starting"
        self.live = Live(self.render(), console=console, refresh_per_second=8, transient=True)

    def render(self) -> Text:
        took = time.monotonic() - self.started
        return Text.assemble(
            ("rlm ", "bold cyan"),
            f"iteration {self.iteration}  sub-calls {self.subcalls}  child runs {self.children}  "
            f"{took:5.1f}s  ",
            (self.last[:70], "dim"),
        )

    def __call__(self, event: Event) -> None:
        if event.depth == 0 and event.kind == "iteration":
            self.iteration = event.iteration
            self.last = "thinking"
        elif event.kind == "code" and event.depth == 0:
            code = str(event.data.get("code", "")).strip().splitlines()
            self.last = f"ran: {code[0] if code else ''}"
        elif event.kind == "subcall":
            self.subcalls += 1
        elif event.kind == "child_start":
            self.children += 1
        self.live.update(self.render())


def read_program(args: argparse.Namespace) -> str | None:
    """The --program file's code (checked before the run), or None for a model's run."""
    if (args.program is None) == (args.query is None):
        raise ConfigError("give --query (a model writes the code) or --program FILE.py (your "
                          "own code), one of the two")
    if args.program is None:
        return None
    try:
        code = Path(args.program).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ConfigError(f"--program {args.program!r} cannot be read: {why}") from None
    if not code.strip():
        raise ConfigError(f"--program {args.program!r} is empty: write the code that sets answer")
    return code


def run_command(args: argparse.Namespace) -> int:
    err = Console(stderr=True)
    program = read_program(args)
    context = read_context(args.context)
    if args.trace:
        check_trace_path(args.trace)
    if args.view:
        check_html_path(args.view, "--view")
    schema = read_schema(args.schema) if args.schema else None
    model = args.model or default_model(err)
    overrides = {
        "max_iterations": args.max_iterations, "max_depth": args.max_depth,
        "max_tokens": args.max_tokens, "max_cost": args.max_cost, "timeout_s": args.timeout,
        "sandbox": args.sandbox,
        "verify": True if args.verify or args.verify_model else None,
        "verify_model": args.verify_model,
        "otel": True if args.otel else None,
        "egress": args.egress,
        "redact": [k.strip() for k in args.redact.split(",") if k.strip()] if args.redact else None,
    }
    config = RLMConfig().with_(**{k: v for k, v in overrides.items() if v is not None})
    sub: Any = args.sub_model
    if args.sub_local:
        sub = resolve(args.sub_model or model, base_url=args.base_url, local=True)
    rlm = RLM(model, sub, config, base_url=args.base_url)
    ask: dict[str, Any] = ({"query": args.query, "output": schema} if program is None else
                           {"code": program, "program_name": Path(args.program).name})
    show_live = not args.quiet and not args.stream and err.is_terminal
    view = LiveView(err) if show_live else None
    if args.stream:
        result = rlm.run(context, on_event=StreamView(sys.stderr), **ask)
    elif view is not None:
        with view.live:
            result = rlm.run(context, on_event=view, **ask)
    else:
        result = rlm.run(context, **ask)
    if args.json:
        print(json.dumps(result.summary(), ensure_ascii=False, indent=2))
    else:
        shown = result.answer
        if schema is not None and result.status == "success":
            shown = json.dumps(result.output, ensure_ascii=False, indent=2)
        print(shown)
        if result.grounded is False:
            why = result.verdict.reason if result.verdict else "a citation does not match the data"
            print(f"[unverified: {why}]")
        if args.cite:
            print()
            print(format_citations(result))
        cost = "unknown" if result.cost is None else f"${result.cost:.4f}"
        err.print(
            f"[dim]status {result.status} · {result.iterations} iterations · {result.subcalls} "
            f"sub-calls · {result.usage.total_tokens:,} tokens · cost {cost} · "
            f"{result.elapsed_s:.1f}s · model {result.model}[/]"
        )
        if result.error:
            err.print(f"stopped early: {result.error}", style="yellow", markup=False,
                      highlight=False)
    if args.audit:
        err.print(render_audit(result.egress), markup=False, highlight=False)
    code = 0 if result.status == "success" else 3
    if args.trace:
        try:
            result.trace.save(args.trace)
        except OSError as exc:  # the answer is already out; say what was not saved
            err.print(f"[yellow]could not save the trace to {args.trace}: {exc.strerror or exc}[/]")
            return code or TRACE_NOT_SAVED
    if args.view:
        try:
            write_html(from_trace(result.trace), args.view)
        except (OSError, RLMError) as exc:  # the answer is already out; say what was not saved
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            err.print(f"[yellow]could not write the trace page {args.view}: {why}[/]")
            return code or TRACE_NOT_SAVED
    return code

"""The `rlm bench run` pipeline end to end against an oracle reader on 127.0.0.1.

The oracle is an OpenAI-compatible loopback server that reads perfectly whatever text it is
sent, and, as an RLM root, writes correct REPL code. Its scores therefore measure only what
each method lets the model *see*: `direct` loses a fact when the window cut drops it, while
RLM and map-reduce reach every part of the text. They say nothing about any real model.

    python bench/bench_pipeline.py --out /tmp/bench-oracle            # the README's table
    python bench/bench_pipeline.py --out /tmp/x --tokens 2^12 --seeds 2  # a quick look

Everything after the known flags is passed to `rlm bench run` as is.
"""

from __future__ import annotations

import argparse
import re
import sys
from typing import Any

from rlm_toolkit.cli.bench import main as bench_main
from rlm_toolkit.testing.servers import OpenAIServer

FACT = re.compile(
    r"The special magic number for \S+ is \d+\.|In \d{4}, the [^.]+? was moved to the "
    r"[^.]+? for safekeeping\.|The [^.]+? stands in the city of \w+\."
)


def root_code(query: str) -> str:
    """The REPL code a capable root model writes for an S-NIAH or multi-hop question."""
    needle = re.search(r"number for (\S+) mentioned", query)
    if needle:
        return (f"import re\nm = re.search(r'special magic number for {needle.group(1)} is "
                "(\\d+)', context)\nFINAL(m.group(1) if m else 'not found')")
    hop = re.search(r"is the (.+) kept today", query)
    if hop:
        return (f"import re\nv = re.search(r'the {hop.group(1)} was moved to the (.+?) for', "
                "context).group(1)\nc = re.search('The ' + re.escape(v) + r' stands in the "
                "city of (\\w+)', context).group(1)\nFINAL(c)")
    return "FINAL('this oracle answers S-NIAH and multi-hop questions only')"


def read_answer(text: str) -> str:
    """The answer a perfect reader gives from `text` (the document or the notes)."""
    question = text.rsplit("Question", 1)[-1]
    needle = re.search(r"number for (\S+) mentioned", question)
    if needle:
        hit = re.search(rf"number for {re.escape(needle.group(1))} is (\d+)", text)
        return hit.group(1) if hit else "I cannot find it in the text."
    hop = re.search(r"is the (.+) kept today", question)
    if hop:
        moved = re.search(rf"the {re.escape(hop.group(1))} was moved to the (.+?) for", text)
        if moved:
            city = re.search(rf"The {re.escape(moved.group(1))} stands in the city of (\w+)",
                             text)
            if city:
                return city.group(1)
    return "I cannot find it in the text."


def oracle(body: dict[str, Any]) -> str:
    """One reply for every role the bench gives a model: RLM root, direct, map, reduce."""
    messages = body["messages"]
    last = str(messages[-1]["content"])
    if last.startswith("Below is part"):  # map-reduce: a map step over one chunk
        chunk = last.split("<part>", 1)[1].split("</part>", 1)[0]
        return "\n".join(FACT.findall(chunk)) or "NONE"
    if last.startswith("Here are notes") and "Do not answer yet" in last:  # a merge step
        return "\n".join(FACT.findall(last)) or "NONE"
    if messages[0]["role"] == "system" and "You answer questions" in messages[0]["content"]:
        return read_answer(last)  # direct, or the map-reduce answer step
    query = re.search(r"Query: (.+)", "\n".join(str(m["content"]) for m in messages))
    return f"```repl\n{root_code(query.group(1) if query else '')}\n```"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="bench-oracle")
    parser.add_argument("--tokens", default="2^12..2^16")
    parser.add_argument("--seeds", default="10")
    parser.add_argument("--window", default="8192")
    args, rest = parser.parse_known_args(argv)
    with OpenAIServer(oracle, model="oracle") as server:
        return bench_main([
            "run", "--model", "openai/oracle", "--base-url", server.base_url,
            "--window", args.window, "--methods", "rlm1,direct,mapreduce",
            "--task", "sniah,multihop", "--tokens", args.tokens, "--seeds", args.seeds,
            "--max-iterations", "3", "--out", args.out, *rest,
        ])


if __name__ == "__main__":
    sys.exit(main())

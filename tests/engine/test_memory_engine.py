"""RLM(..., memory=hmem): a retrieved block in the root prompt, `memory` in the REPL, remember=True."""

from __future__ import annotations

import pytest

from rlm_toolkit import RLM
from rlm_toolkit.engine import prompts
from rlm_toolkit.errors import ConfigError
from rlm_toolkit.memory import HierarchicalMemory
from rlm_toolkit.testing import ScriptedLLM
from tests.helpers import repl


def test_memory_reaches_root_prompt_and_repl_and_remember_writes_back() -> None:
    hmem = HierarchicalMemory()
    hmem.add_episode("The deployment target for project Heron is Kubernetes on AWS")
    hmem.add_episode("The user prefers answers in British English")
    root = ScriptedLLM([
        repl("hit = memory.search('Heron deployment target', k=1)\nprint(hit)\n"
             "memory.add('Project Heron was asked about in this session')"),
        repl("FINAL('Kubernetes on AWS')"),
    ])
    rlm = RLM(root, memory=hmem, remember=True)
    result = rlm.run(context="irrelevant document text", query="Where is project Heron deployed?")
    assert result.answer == "Kubernetes on AWS"
    first_prompt = root.requests[0][1]["content"]
    assert "Relevant memories" in first_prompt and "Kubernetes on AWS" in first_prompt
    assert prompts.MEMORY_TOOLS in first_prompt  # the model is told the tool exists
    assert "Kubernetes on AWS" in root.requests[1][-1]["content"]  # what memory.search printed
    texts = [hit.text for hit in hmem.retrieve("Heron", k=10)]
    assert "Project Heron was asked about in this session" in texts
    assert any(t.startswith("Q: Where is project Heron deployed?") and "A: Kubernetes on AWS" in t
               for t in texts)


def test_no_memory_no_memory_tool_in_the_prompt() -> None:
    root = ScriptedLLM([repl("print(len(context))"), repl("FINAL('x')")])
    RLM(root).run(context="some text", query="What?")
    assert prompts.MEMORY_TOOLS not in root.requests[0][1]["content"]


def test_remember_without_memory_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="remember=True needs a memory"):
        RLM(ScriptedLLM([]), remember=True)

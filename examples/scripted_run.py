"""An RLM run with a scripted model: no server, no key. Shows the root never sees the data."""

from rlm_toolkit import RLM
from rlm_toolkit.testing import ScriptedLLM

doc = "filler line\n" * 100_000 + "The vault code is 4417.\n" + "filler line\n" * 100_000
model = ScriptedLLM([
    "```repl\nhits = grep('vault code')\nprint(hits)\n```",
    "```repl\nFINAL(hits[0].split()[-1].rstrip('.'))\n```",
])
result = RLM(model).run(context=doc, query="What is the vault code?")
print(result.answer, result.status, result.iterations)
assert all("vault code is" not in p for p in model.prompt_texts()[:1])  # the root never saw the data
print(f"context: {len(doc):,} chars; largest root prompt: {max(map(len, model.prompt_texts())):,} chars")

#!/usr/bin/env bash
# The main job: install everything (first time: about 8 minutes, llama.cpp compiles), then run
# a Recursive Language Model on the embedded local model over a whole novel (685,000
# characters, about 171,000 tokens: five times the model's window). No API key, no server.
#   bash scripts/demo.sh                       # the default question
#   bash scripts/demo.sh "What is the name of the Bennets' home?"
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
DEFAULT_QUERY="Who is Mr. Collins's patroness?"
QUERY="${1:-$DEFAULT_QUERY}"
printf '\n\033[1;34m[demo]\033[0m %s\n' "Pride and Prejudice (examples/data/pride_and_prejudice.txt) · local/qwen2.5-coder-1.5b"
exec .venv/bin/rlm run --model local/qwen2.5-coder-1.5b \
  --context examples/data/pride_and_prejudice.txt --query "$QUERY" --max-iterations 10

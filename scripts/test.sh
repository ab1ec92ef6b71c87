#!/usr/bin/env bash
# The test command: installs what is needed (scripts/setup.sh), then runs the test suite, ruff,
# mypy and the documentation build. Every check runs; the command fails when any of them fails.
#   bash scripts/test.sh                   # everything, as CI runs it (.ci/run)
#   bash scripts/test.sh tests/engine -x   # arguments go to pytest; the other checks still run
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh || exit $?

failed=()
check() {
  local name=$1
  shift
  printf '\n\033[1;34m[test]\033[0m %s\n' "$name"
  local start=$SECONDS
  "$@"
  local rc=$?
  printf '\033[1;34m[test]\033[0m %s: exit %d after %ds\n' "$name" "$rc" "$((SECONDS - start))"
  if [ "$rc" -eq 5 ] && [ "$name" = pytest ]; then
    failed+=("pytest collected no tests (exit 5): check the arguments")
  elif [ "$rc" -ne 0 ]; then
    failed+=("$name (exit $rc)")
  fi
}

check pytest .venv/bin/python -m pytest --durations=15 "$@"
check "ruff check src tests bench" .venv/bin/ruff check src tests bench
check mypy .venv/bin/mypy
check "mkdocs build --strict" env NO_MKDOCS_2_WARNING=1 .venv/bin/mkdocs build --strict --quiet

if [ "${#failed[@]}" -ne 0 ]; then
  printf '\n\033[1;31m[test] failed:\033[0m\n'
  printf '  %s\n' "${failed[@]}"
  exit 1
fi
printf '\n\033[1;32m[test]\033[0m all checks passed in %ds\n' "$SECONDS"

#!/usr/bin/env bash
# Lint, format check and type check with the tools pinned in the dev extra (scripts/setup.sh installs them).
# Runs all three and fails if any of them reports a problem. Settings: [tool.ruff] and [tool.mypy]
# in pyproject.toml. To apply ruff's fixes and formatting: .venv/bin/ruff check --fix . && .venv/bin/ruff format .
set -uo pipefail
cd "$(dirname "$0")/.."

VENV=${VENV:-.venv}
status=0

echo "lint: ruff check"
"$VENV/bin/ruff" check . || status=1
echo "lint: ruff format --check"
"$VENV/bin/ruff" format --check . || status=1
echo "lint: mypy"
"$VENV/bin/mypy" || status=1

if [ "$status" -ne 0 ]; then
  echo "lint: FAILED" >&2
fi
exit "$status"

#!/usr/bin/env bash
# Create or reuse .venv and install the project with everything it needs, from nothing.
# torch==2.13.0 goes in first: that pin is a CPU build on local disk here, and installing it
# before the project keeps the resolver from fetching a multi-gigabyte CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}
TORCH_PIN="torch==2.13.0"

if [ ! -x "$VENV/bin/python" ]; then
  echo "setup: creating $VENV"
  "$PYTHON" -m venv "$VENV"
fi
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check -q)

# Reinstall only when the dependency list changed since the last successful install.
stamp="$VENV/.rca-installed"
want=$( (cat pyproject.toml; echo "$TORCH_PIN") | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "setup: installing $TORCH_PIN and the project into $VENV"
  "${PIP[@]}" install --upgrade pip
  "${PIP[@]}" install "$TORCH_PIN"
  "${PIP[@]}" install -e ".[dev]"
  echo "$want" > "$stamp"
fi

# gRPC stubs are generated from protos/ by one command, never edited by hand (rca/v1/ is ignored by git).
"$VENV/bin/python" -m rca.service.protogen
# Ask's intent classifier is trained here, at install, on the paraphrase set (rca/nlq/data; the model file
# is ignored by git); without it the service fits the same small model in memory at its first question.
"$VENV/bin/python" -m rca.nlq.intent_model

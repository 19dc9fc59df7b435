#!/usr/bin/env bash
# The main job on the embedded default graph (no Neo4j needed), from nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/rca demo "$@"

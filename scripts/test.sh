#!/usr/bin/env bash
# The whole test suite from nothing: Debian packages, virtual environment, project, then pytest.
# Extra arguments go to pytest (e.g. scripts/test.sh tests/unit -x).
set -euo pipefail
cd "$(dirname "$0")/.."

# Real peers the integration tests talk to.
export RCA_TEST_DEB_PACKAGES="${RCA_TEST_DEB_PACKAGES:-bsdutils}"
bash scripts/system-packages.sh
bash scripts/setup.sh

exec .venv/bin/python -m pytest -q "$@"

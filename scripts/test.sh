#!/usr/bin/env bash
# The whole test suite from nothing: Debian packages, virtual environment, project, lint and type
# check (scripts/lint.sh: ruff, mypy; any finding fails the run), then pytest.
# Extra arguments go to pytest (e.g. scripts/test.sh tests/unit -x).
set -euo pipefail
cd "$(dirname "$0")/.."

# Real peers the integration tests talk to: logger, rsyslog and rsyslog-relp (syslog, RELP), Prometheus and promtool
# (metrics), prometheus-alertmanager (the bridge's alerting chain), openssl (TLS certificates),
# Node.js and npm (the second-language gRPC client), chromium (the dashboard's browser tests, driven by playwright),
# graphviz (the dashboard lays its pictures out with `dot`), redis-server, postgresql and their Prometheus
# exporters (the live lab's real datastores, tests/integration/lab).
packages="bsdutils rsyslog rsyslog-relp prometheus prometheus-alertmanager openssl chromium graphviz"
packages="$packages redis-server postgresql prometheus-redis-exporter prometheus-postgres-exporter"
command -v node >/dev/null || packages="$packages nodejs"
command -v npm >/dev/null || packages="$packages npm"
export RCA_TEST_DEB_PACKAGES="${RCA_TEST_DEB_PACKAGES:-$packages}"
bash scripts/system-packages.sh
bash scripts/setup.sh
bash scripts/lint.sh

exec .venv/bin/python -m pytest -q "$@"

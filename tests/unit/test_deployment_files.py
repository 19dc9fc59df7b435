"""docker-compose.yml and the Dockerfile stay true to the code."""

import re
import shlex
import tomllib
from pathlib import Path

import pytest
import yaml

from rca.cli.main import build_parser

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_neo4j_is_version_5_community_with_volume_and_healthcheck():
    neo4j = COMPOSE["services"]["neo4j"]
    assert neo4j["image"].startswith("neo4j:5") and "community" in neo4j["image"]
    assert any(v.split(":")[0] in COMPOSE["volumes"] for v in neo4j["volumes"])
    assert "cypher-shell" in " ".join(neo4j["healthcheck"]["test"])


@pytest.mark.parametrize(
    "name", [n for n, s in COMPOSE["services"].items() if s.get("image", "").startswith("rca-service")]
)
def test_every_project_service_runs_a_real_command_against_neo4j(name):
    service = COMPOSE["services"][name]
    command = service["command"] if isinstance(service["command"], list) else shlex.split(service["command"])
    build_parser().parse_args(command)  # exits (fails the test) on an unknown command or flag
    assert service["environment"]["NEO4J_URI"] == "bolt://neo4j:7687"


def test_dockerfile_installs_the_torch_pin_before_the_project():
    text = (ROOT / "Dockerfile").read_text()
    assert text.index("torch==2.13.0") < text.index("pip install --no-cache-dir -e .")
    assert 'ENTRYPOINT ["rca"]' in text


def test_dockerfile_copies_every_package_and_generates_the_grpc_stubs_at_build():
    text = (ROOT / "Dockerfile").read_text()
    copied = set(re.findall(r"^COPY (\S+) \./", text, flags=re.MULTILINE))
    packages = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]["include"]
    missing = [p.rstrip("*") for p in packages if p.rstrip("*") not in copied]
    assert not missing, f"the image lacks packages {missing}"
    install = text.index("pip install --no-cache-dir -e .")
    assert text.index("python -m rca.service.protogen", install) > install  # stubs are not generated on import


def test_the_alerting_chain_is_wired_prometheus_to_alertmanager_to_the_bridge():
    services = COMPOSE["services"]
    bridge_command = services["rca-bridge"]["command"]
    listen = bridge_command[bridge_command.index("--listen") + 1]
    assert bridge_command[bridge_command.index("--target") + 1] == "rca-service:50051"
    alertmanager = yaml.safe_load((ROOT / "examples" / "alerting" / "alertmanager.yml").read_text())
    (hook,) = alertmanager["receivers"][0]["webhook_configs"]
    assert hook["url"] == f"http://rca-bridge:{listen.rsplit(':', 1)[1]}/alerts" and hook["send_resolved"]
    prometheus = yaml.safe_load((ROOT / "examples" / "alerting" / "prometheus.yml").read_text())
    assert prometheus["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] == ["alertmanager:9093"]
    mounted = {v.split(":")[1] for v in services["prometheus"]["volumes"] if v.startswith("./")}
    assert set(prometheus["rule_files"]) <= mounted
    rules = yaml.safe_load((ROOT / "examples" / "alerting" / "alert-rules.yml").read_text())
    assert all("service" in r["expr"] for g in rules["groups"] for r in g["rules"])  # the label the bridge reads
    # the syslog worker's self metrics are scraped: the hops timed from trace ids reach the metrics poll
    syslog_command = services["ingest-syslog"]["command"]
    syslog_port = syslog_command[syslog_command.index("--metrics") + 1].rsplit(":", 1)[1]
    targets = {t for job in prometheus["scrape_configs"] for c in job["static_configs"] for t in c["targets"]}
    assert f"ingest-syslog:{syslog_port}" in targets

"""A Node.js client (@grpc/grpc-js loading the same .proto) calls Infer and gets the Python client's answer."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from google.protobuf import json_format

from rca.service.protogen import PROTO_ROOT
from tests.integration.service.conftest import infer_request

NODE_CLIENT = Path(__file__).resolve().parents[2] / "node_client"


@pytest.fixture(scope="module")
def node_client() -> Path:
    """The client directory with its npm dependencies installed from the lock file."""
    assert shutil.which("node") and shutil.which("npm"), "Node.js and npm are needed (Debian: nodejs npm)"
    if not (NODE_CLIENT / "node_modules" / "@grpc" / "grpc-js").is_dir():
        subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund"], cwd=NODE_CLIENT, check=True, capture_output=True, timeout=300
        )
    return NODE_CLIENT


def _call_node(node_client: Path, target: str, request) -> dict:
    body = json.dumps(json_format.MessageToDict(request, preserving_proto_field_name=True))
    done = subprocess.run(
        ["node", str(node_client / "infer.js"), target, str(PROTO_ROOT)],
        input=body,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _essence(candidates) -> list:
    return [
        (
            c["entity_id"],
            int(c["rank"]),
            round(float(c["score"]), 6),
            [
                (p["symptom_entity_id"], [(h["from_entity_id"], h["relation"], h["to_entity_id"]) for h in p["hops"]])
                for p in c["paths"]
            ],
        )
        for c in candidates
    ]


def test_node_client_gets_the_same_answer(node_client, service, client, simulated):
    incident = simulated(seed=41, n_entities=60, fault_type="datastore_outage")
    request = infer_request(incident)
    python_answer = json_format.MessageToDict(
        client.infer(request), preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )
    node_answer = _call_node(node_client, service.target, request)
    assert node_answer["incident_id"].startswith("inc-") and node_answer["incident_id"] != python_answer["incident_id"]
    assert _essence(node_answer["candidates"]) == _essence(python_answer["candidates"])
    assert node_answer["explanation"] == python_answer["explanation"]
    assert node_answer["versions"] == python_answer["versions"]

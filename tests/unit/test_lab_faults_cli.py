"""rca.cli.lab.fault_cli: the arguments of `rca lab inject` and its request to the lab's supervisor."""

from __future__ import annotations

import argparse
import io
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from rca.cli.lab.fault_cli import add_inject_arguments, parse_duration, parse_param, run_inject_command
from rca.cli.lab.injectors import FaultError


@pytest.mark.parametrize(("text", "seconds"), [("90s", 90), ("90", 90), ("2m", 120), ("1m30s", 90), ("0.5s", 0.5)])
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "soon", "-5s", "0s", "2h", "5x"])
def test_bad_durations_are_refused(text):
    with pytest.raises(FaultError, match="--for"):
        parse_duration(text)


def test_params_read_numbers_and_booleans_and_keep_text():
    assert parse_param("ms=300") == ("ms", 300)
    assert parse_param("ratio=0.25") == ("ratio", 0.25)
    assert parse_param("mode=reset") == ("mode", "reset")
    assert parse_param("version=2.4.0") == ("version", "2.4.0")
    with pytest.raises(FaultError, match="NAME=VALUE"):
        parse_param("ms")


def parse(argv):
    parser = argparse.ArgumentParser()
    add_inject_arguments(parser)
    return parser.parse_args(argv)


class Supervisor:
    """A stand-in control API: records the body and answers as configured."""

    def __init__(self, status, answer):
        self.bodies: list = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format, *args):
                return

            def do_POST(self):
                outer.bodies.append((self.path, json.loads(self.rfile.read(int(self.headers["Content-Length"])))))
                payload = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def lab_dir(tmp_path):
    def make(status, answer):
        supervisor = Supervisor(status, answer)
        (tmp_path / "lab.json").write_text(json.dumps({"control_url": supervisor.url}))
        return supervisor

    yield make


def test_inject_posts_the_fault_and_prints_its_id(tmp_path, lab_dir):
    supervisor = lab_dir(200, {"id": "f1"})
    out = io.StringIO()
    args = parse(["--fault", "latency", "--target", "cart", "--for", "2m", "--param", "ms=250"])
    assert run_inject_command(args, tmp_path, out) == 0
    assert supervisor.bodies == [
        ("/faults", {"kind": "latency", "target": "cart", "for_s": 120.0, "params": {"ms": 250}})
    ]
    assert out.getvalue().startswith("fault f1: latency on cart for 120 s")
    supervisor.server.shutdown()


def test_a_refusal_of_the_supervisor_is_its_error_text(tmp_path, lab_dir):
    supervisor = lab_dir(400, {"error": "target 'nope' is not in the estate"})
    with pytest.raises(FaultError, match="target 'nope' is not in the estate"):
        run_inject_command(parse(["--fault", "crash", "--target", "nope"]), tmp_path)
    supervisor.server.shutdown()


def test_an_unknown_kind_is_refused_before_asking(tmp_path):
    with pytest.raises(FaultError, match="known kinds: latency"):
        run_inject_command(parse(["--fault", "meteor", "--target", "cart"]), tmp_path)


def test_no_running_lab_says_so(tmp_path):
    with pytest.raises(FaultError, match="no lab is running"):
        run_inject_command(parse(["--fault", "crash", "--target", "cart"]), tmp_path)

"""`rca ingest syslog templates [--bodies]`: each stdin line's template, as the worker assigns it."""

from __future__ import annotations

import os
import subprocess
import sys

from ingest.syslog.parser import SyslogParser
from ingest.syslog.templates import LogTemplates
from tests.integration.cli import ROOT
from tests.unit.loghub_data import LOGHUB


def _templates(stdin: str, *flags: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "rca.cli.main", "ingest", "syslog", "templates", *flags],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _expected(messages: list[str]) -> list[str]:
    templates = LogTemplates()
    ids = [templates.add(m) for m in messages]
    return [f"{i}\t{templates.template(i)}" for i in ids]


def test_full_syslog_lines_get_the_pipelines_templates_in_order():
    lines = (LOGHUB / "OpenSSH" / "OpenSSH_2k.log").read_text().splitlines()[:300]
    done = _templates("\n".join(lines) + "\n")
    assert done.returncode == 0, done.stderr
    parser = SyslogParser()
    assert done.stdout.splitlines() == _expected([parser.parse(line).message for line in lines])


def test_bodies_are_mined_as_they_are():
    bodies = [
        "connect to 10.0.0.1 port 5432 refused",
        "Jun 14 15:16:01 combo sshd: x",
        "connect to 10.0.0.2 port 6379 refused",
    ]
    done = _templates("\n".join(bodies) + "\n", "--bodies")
    assert done.returncode == 0, done.stderr
    out = done.stdout.splitlines()
    assert out == _expected(bodies)
    assert out[0] == out[2] == "1\tconnect to <*> port <*> refused"


def test_templates_takes_no_listener_and_bodies_needs_templates():
    done = _templates("", "--udp", "5514")
    assert done.returncode != 0 and "reads stdin only" in done.stderr
    wrong = subprocess.run(
        [sys.executable, "-m", "rca.cli.main", "ingest", "syslog", "--bodies", "-"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        input="",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert wrong.returncode != 0 and "--bodies goes with 'templates' only" in wrong.stderr

"""The syslog worker's state is private: directories 0700, files 0600 under umask 022 (issue 20: 9)."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

import pytest

from ingest.syslog.dead_letter import DeadLetters
from ingest.syslog.listeners import _Offsets
from ingest.syslog.pipeline import SyslogPipeline
from settings.ingest import SyslogSettings


class _EmptyGraph:
    """Knows no entity; enough for the pipeline's lookups, which never write."""

    def read(self, *_args, **_kwargs):
        return []


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_state_directories_are_0700_and_files_0600_under_umask_022(tmp_path, umask_022):
    state = tmp_path / "var" / "syslog"
    settings = SyslogSettings(state_dir=state, buffer_memory_rows=1, max_aggregates=1)
    pipeline = SyslogPipeline(settings, _EmptyGraph())
    pipeline.process("tcp", "tcp:10.0.0.1:5000", [b"<11>1 2026-11-23T10:00:00Z h app - - - disk full", b"\xff\xfe"])
    pipeline.flush()
    pipeline.process("tcp", "tcp:10.0.0.1:5000", [b"<11>1 2026-11-23T10:01:00Z h other - - - timed out"])
    pipeline.flush()  # the memory bound is one row: this batch goes to the spool
    pipeline.templates.save()
    pipeline.dead_letters.close()
    offsets = _Offsets(pipeline.paths.offsets)
    offsets.set("/var/log/app.log", 1, 10)
    offsets.flush()

    assert _mode(tmp_path / "var") == 0o700 and _mode(state) == 0o700 and _mode(state / "spool") == 0o700
    files = [p for p in state.rglob("*") if p.is_file()]
    names = {p.name for p in files}
    assert {"dead_letters.jsonl", "templates.json", "templates.uid", "file_offsets.json"} <= names
    assert any(p.parent.name == "spool" for p in files), names
    assert {p.name: oct(_mode(p)) for p in files} == {p.name: oct(0o600) for p in files}


def test_rotated_dead_letter_files_stay_0600(tmp_path, umask_022):
    letters = DeadLetters(tmp_path / "dl" / "dead_letters.jsonl", max_bytes=1024, backups=2)
    for _ in range(20):
        letters.put("oversize", b"x" * 300)
    letters.close()
    files = sorted((tmp_path / "dl").iterdir())
    assert len(files) == 3  # the live file and two rotated ones
    assert all(_mode(p) == 0o600 for p in files)


def test_an_existing_looser_state_directory_is_named_in_one_warning(tmp_path, umask_022, caplog):
    state = tmp_path / "shared-state"
    state.mkdir(mode=0o755)
    os.chmod(state, 0o755)
    with caplog.at_level(logging.WARNING, logger="ingest.syslog.private_files"):
        SyslogPipeline(SyslogSettings(state_dir=state), _EmptyGraph()).dead_letters.close()
        SyslogPipeline(SyslogSettings(state_dir=state), _EmptyGraph()).dead_letters.close()
    warnings = [r.getMessage() for r in caplog.records if str(state) in r.getMessage()]
    assert len(warnings) == 1 and "0755" in warnings[0]
    assert _mode(state) == 0o755  # used as the operator left it

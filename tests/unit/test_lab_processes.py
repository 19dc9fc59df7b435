"""rca.cli.lab.processes: a lab process is named by its pid and a start time no clock change moves."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import psutil

from rca.cli.lab.processes import same_process, started_at


def test_the_start_time_counts_from_boot_as_proc_says():
    mine = started_at(os.getpid())
    # psutil's create_time is the same instant on the wall clock (to a few seconds of clock drift)
    assert abs(mine - (psutil.Process().create_time() - psutil.boot_time())) < 30
    assert 0 < mine <= time.monotonic() + 1


def test_a_child_started_later_has_a_later_start_and_a_gone_pid_has_none():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        started = started_at(child.pid)
        assert started >= started_at(os.getpid())
        assert same_process(child.pid, started)
        assert not same_process(child.pid, started + 5)  # another process that reused the pid
    finally:
        child.kill()
        child.wait()
    assert started_at(child.pid) == 0.0
    assert not same_process(child.pid, started)


def test_another_process_reads_the_same_start_time():
    """The bug it replaces: each process read a child's start with its own cached boot time."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        here = started_at(child.pid)
        code = f"from rca.cli.lab.processes import started_at; print(started_at({child.pid}))"
        there = float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
        assert there == here
    finally:
        child.kill()
        child.wait()

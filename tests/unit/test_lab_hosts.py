"""rca.cli.lab.hosts: a lab host's CPU counter never goes back when one of its processes exits."""

from __future__ import annotations

import os

import psutil

from rca.cli.lab.hosts import CpuCounter, usage


def test_the_seconds_of_an_exited_process_stay_in_the_host_counter():
    counter = CpuCounter()
    assert counter.total({(10, 1.0): 5.0, (11, 1.0): 3.0}) == 8.0
    # 11 was killed: its 3 s stay (rate() would read a decrease as a counter reset, a burst of CPU)
    assert counter.total({(10, 1.0): 6.0}) == 9.0
    # the restarted process (a new pid) starts from 0 and adds to the total
    assert counter.total({(10, 1.0): 6.5, (12, 9.0): 0.5}) == 10.0


def test_an_exit_never_lowers_the_counter_by_a_rounding_error():
    counter = CpuCounter()
    before = counter.total({(1, 0.0): 0.87, (2, 0.0): 2.74, (3, 0.0): 3.52})  # 7.130000000000001
    # the retired seconds plus the rest, summed in another order, come to 7.13: still not less
    assert counter.total({(2, 0.0): 2.74, (3, 0.0): 3.52}) >= before


def test_a_reused_pid_with_another_start_time_is_another_process():
    counter = CpuCounter()
    counter.total({(10, 1.0): 7.0})
    assert counter.total({(10, 50.0): 0.2}) == 7.2


def test_the_counter_never_decreases_over_a_run_of_exits_and_restarts():
    counter = CpuCounter()
    readings = [
        {(1, 0.0): 1.0, (2, 0.0): 2.0},
        {(1, 0.0): 1.5},
        {(1, 0.0): 1.6, (3, 5.0): 0.1},
        {(3, 5.0): 0.4},
        {},
        {(4, 9.0): 0.0},
    ]
    values = [counter.total(r) for r in readings]
    assert values == sorted(values)
    assert values[-1] == 1.6 + 2.0 + 0.4


def test_usage_reads_each_process_by_pid_and_start_time():
    cpu, rss = usage([os.getpid()])
    me = psutil.Process(os.getpid())
    assert list(cpu) == [(os.getpid(), me.create_time())]
    assert rss > 0

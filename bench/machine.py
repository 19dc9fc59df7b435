"""One line that says what machine a benchmark ran on."""

from __future__ import annotations

import os
import platform

import psutil


def describe_machine() -> str:
    """CPU model, core count, memory, Python."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next(line.split(":", 1)[1].strip() for line in info if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    memory_gib = psutil.virtual_memory().total / 2**30
    return (
        f"{cpu}, {os.cpu_count()} cores, {memory_gib:.0f} GiB, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}"
    )

"""A child process of the lab: started in its own process group, its output in a log file, stopped for sure.

Every lab process (service hosts, datastores, exporters, Prometheus, the project's parts) is started
with ``start_new_session=True``, so its pid is its process group id and everything it forks stays in
that group: stopping the group stops them all, which is what lets `rca lab down` promise that nothing
it started is left running.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import psutil


def free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def listening_socket() -> socket.socket:
    """A loopback TCP socket bound to a free port and listening already: a port this process serves
    itself is held from the start, not chosen now and bound later (by then another process may
    have taken it; the lab's control API lost it that way while its children started)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    return sock


def port_accepts(port: int, timeout_s: float = 0.5) -> bool:
    """True when something accepts TCP connections on 127.0.0.1:port."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout_s):
            return True
    except OSError:
        return False


def pid_alive(pid: int) -> bool:
    """True while a process with this pid exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def group_alive(pgid: int) -> bool:
    """True while any live (non-zombie) process is in process group ``pgid``."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z" and int(fields[2]) == pgid:
            return True
    return False


def kill_group(pgid: int, grace_s: float = 5.0, first: int = signal.SIGTERM) -> None:
    """Signal a process group, wait up to ``grace_s`` for it to go, then SIGKILL what is left."""
    try:
        os.killpg(pgid, first)
    except (ProcessLookupError, PermissionError):
        return
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        if not group_alive(pgid):
            return
        time.sleep(0.05)
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        return
    while group_alive(pgid) and time.monotonic() < deadline + 5:
        time.sleep(0.05)


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
STARTTIME_FIELD = 22  # proc(5): /proc/PID/stat field 22, starttime


def started_at(pid: int) -> float:
    """When the process started, in seconds after boot (0 when it is gone): with the pid, it names one process.

    Not psutil's create_time: that adds a boot time each process caches when it first asks, and the
    boot time the kernel reports moves whenever the wall clock is stepped or slewed (14 s in 15 minutes
    on this project's machine), so two processes disagreed about the same child and `rca lab down`
    took the lab's live processes for strangers and left them running. /proc's start field counts
    clock ticks since boot, which no clock change moves.
    """
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            data = stat.read()
    except OSError:
        return 0.0
    # the command name (field 2) may hold spaces and parentheses: count fields from after the last ")"
    fields = data[data.rindex(b")") + 2 :].split()
    return int(fields[STARTTIME_FIELD - 3]) / CLOCK_TICKS


def same_process(pid: int, started: float) -> bool:
    """True while ``pid`` is still the process that started at ``started`` (pids are reused, often: 32768)."""
    return bool(pid) and pid_alive(pid) and abs(started_at(pid) - started) < 1.0


def stop_recorded(pid: int, pgid: int, started: float, grace_s: float = 5.0) -> None:
    """Stop a process group a lab recorded, never a stranger's group that reuses its numbers.

    The leader still the recorded process: stop its group. The leader gone: stop what is left in its group
    (orphans such as PostgreSQL backends) if those started after it and no new process holds the leader's pid.
    """
    if pid_alive(pid):
        if same_process(pid, started):
            kill_group(pgid, grace_s)
        return
    if pid_alive(pgid):
        return  # a new process holds the number: the group is not ours any more
    orphans = []
    for process in psutil.process_iter(["pid"]):
        try:
            if os.getpgid(process.pid) == pgid and started_at(process.pid) >= started - 1.0:
                orphans.append(process)
        except (ProcessLookupError, PermissionError, psutil.Error):
            continue
    for process in orphans:
        with contextlib.suppress(psutil.Error):
            process.terminate()
    _, alive = psutil.wait_procs(orphans, timeout=grace_s)
    for process in alive:
        with contextlib.suppress(psutil.Error):
            process.kill()


class Child:
    """One command run as a lab process; restartable with the same command line."""

    def __init__(
        self,
        name: str,
        argv: list[str],
        log_path: Path,
        env: dict[str, str] | None = None,
        user: str | None = None,
        stop_signal: int = signal.SIGTERM,
    ) -> None:
        self.name, self.argv, self.log_path, self.env, self.user = name, argv, log_path, env, user
        self.stop_signal = stop_signal
        self.popen: subprocess.Popen | None = None
        self.started = 0.0  # start time of the running process (with the pid it names the process)

    @property
    def pid(self) -> int:
        """The running process' pid (0 before the first start)."""
        return self.popen.pid if self.popen else 0

    def start(self, extra_env: dict[str, str] | None = None) -> Child:
        """Start the command in a new session; stdout and stderr go to the log file."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **(self.env or {}), **(extra_env or {})}
        with open(self.log_path, "ab") as log:
            self.popen = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
                user=self.user,
                cwd=self.log_path.parent,
            )
        self.started = started_at(self.popen.pid)
        return self

    def exited(self) -> int | None:
        """The exit status once the process has ended (negative: killed by that signal), else None."""
        return self.popen.poll() if self.popen else None

    def alive(self) -> bool:
        """True while the process runs."""
        return self.popen is not None and self.popen.poll() is None

    def stop(self, grace_s: float = 5.0) -> None:
        """Stop the process and everything in its group; reap it."""
        if self.popen is None:
            return
        kill_group(self.popen.pid, grace_s, self.stop_signal)
        try:
            self.popen.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass

    def record(self) -> dict:
        """What lab.json keeps of it: name, pid and process group."""
        return {"name": self.name, "pid": self.pid, "pgid": self.pid, "started": self.started}

    def tail(self, lines: int = 20) -> str:
        """The end of its log, for an error message."""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def wait_until(check, timeout_s: float, what: str, child: Child | None = None, interval_s: float = 0.1) -> None:
    """Poll ``check()`` until it is true; raise RuntimeError naming ``what`` (and the child's log) on timeout."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        if child is not None and child.exited() is not None:
            raise RuntimeError(f"{what}: {child.name} exited with {child.exited()}:\n{child.tail()}")
        time.sleep(interval_s)
    detail = f":\n{child.tail()}" if child is not None else ""
    raise RuntimeError(f"{what}: not ready after {timeout_s:.0f} s{detail}")

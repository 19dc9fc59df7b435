"""In-process faults of one lab service: the service host calls these hooks, the injectors turn them on.

A lab service (rca.cli.lab.service_host, one OS process per service) creates one ServiceFaults, calls
``on_request()`` at the start of each incoming request and ``on_call(callee)`` before each outgoing
call (HTTP or datastore). Faults are started with ``apply(kind, params)`` from the service's admin
endpoint (``POST /_lab/faults``) or from ``RCA_LAB_FAULTS`` at start, and stopped with ``revert``.

The effects are real, not simulated: latency is a real sleep in the request path, errors are real
HTTP error answers, a dropped connection is a closed socket (RST with SO_LINGER 0 when reset), CPU
exhaustion is a busy loop in this process, memory growth allocates and touches real pages until the
address-space limit (RLIMIT_AS, lowered for the fault) refuses an allocation and the process is
killed, and a disk fill writes real bytes into the service's own temp directory under the lab workdir.
"""

from __future__ import annotations

import json
import os
import pathlib
import random
import resource
import shutil
import signal
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

Log = Callable[[str, str], None]

IN_PROCESS_KINDS = ("latency", "errors", "cpu", "memory", "disk", "connection", "exit")
"""Kinds ServiceFaults runs itself; ``exit`` is the crash-loop helper (RCA_LAB_CRASH_AFTER_S)."""

MAX_DISK_FILL_MB = 2048
"""A disk fill never writes more than this, whatever it is asked (the machine is shared)."""

MIN_FREE_DISK_MB = 2048
"""A disk fill stops early so that at least this much stays free on the filesystem."""

MAX_MEMORY_LIMIT_MB = 2048
"""The memory fault's address-space headroom is capped at this (24 GiB shared with others)."""

DISK_CHUNK_BYTES = 1 << 20

LAST_WORDS_S = 0.5
"""How long a dying process waits after its last log line (the syslog sender sends from a thread)."""
DISK_FILL_GLOB = "lab-disk-fill-*.bin"


class InjectedFailure(Exception):
    """The service answers this HTTP status instead of doing its work."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"{status} {reason}")
        self.status = status
        self.reason = reason


class ConnectionDrop(Exception):
    """The service closes the client socket without an answer (reset=True: with an RST)."""

    def __init__(self, reset: bool) -> None:
        super().__init__("connection reset" if reset else "connection dropped")
        self.reset = reset


class FaultParameterError(ValueError):
    """A fault's parameters are wrong; the message names the parameter."""


def temp_dir_of(workdir: pathlib.Path, service: str) -> pathlib.Path:
    """The service's own temp directory under the lab workdir (where a disk fill writes)."""
    return workdir / "tmp" / service


def number_param(params: Mapping[str, Any], name: str, default: float, low: float, high: float) -> float:
    raw = params.get(name, default)
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise FaultParameterError(f"parameter {name!r} must be a number, got {raw!r}") from None
    if not low <= value <= high:
        raise FaultParameterError(f"parameter {name!r} must be between {low:g} and {high:g}, got {value:g}")
    return value


def _callee(params: Mapping[str, Any]) -> str | None:
    callee = params.get("callee")
    if callee is None or callee == "":
        return None
    if not isinstance(callee, str):
        raise FaultParameterError(f"parameter 'callee' must be a name, got {callee!r}")
    return callee


class _Fault:
    """One active fault: its parameters and, for the ones with a worker thread, how to stop it."""

    def __init__(self, kind: str, params: dict[str, Any]) -> None:
        self.kind = kind
        self.params = params
        self.started = time.time()
        self.stop = threading.Event()
        self.threads: list[threading.Thread] = []
        self.state: dict[str, Any] = {}  # JSON-able figures shown by active()
        self.held: list[bytearray] = []  # the memory fault's allocations

    def record(self) -> dict[str, Any]:
        return {"kind": self.kind, "params": self.params, "started": self.started, **self.state}


class ServiceFaults:
    """The faults active in one service process."""

    def __init__(self, service: str, workdir: pathlib.Path, log: Log) -> None:
        self.service = service
        self.workdir = pathlib.Path(workdir)
        self.temp_dir = temp_dir_of(self.workdir, service)
        self._log = log
        self._lock = threading.Lock()
        self._faults: dict[str, _Fault] = {}
        self._random = random.Random()

    # ---- control -------------------------------------------------------------------------

    def apply(self, kind: str, params: dict) -> None:
        """Start an in-process fault; a fault of the same kind already active is replaced."""
        if kind not in IN_PROCESS_KINDS:
            known = ", ".join(IN_PROCESS_KINDS)
            raise FaultParameterError(f"unknown in-process fault kind {kind!r} (known: {known})")
        params = dict(params or {})
        fault = _Fault(kind, params)
        _VALIDATORS[kind](params)
        self.revert(kind)
        with self._lock:
            self._faults[kind] = fault
        _STARTERS[kind](self, fault)

    def revert(self, kind: str | None = None) -> None:
        """Stop one kind of fault, or all of them; reverting what is not active does nothing."""
        with self._lock:
            kinds = list(self._faults) if kind is None else [kind]
            stopped = [self._faults.pop(k) for k in kinds if k in self._faults]
        for fault in stopped:
            fault.stop.set()
            for thread in fault.threads:
                thread.join(timeout=10)
            _STOPPERS.get(fault.kind, _stop_nothing)(self, fault)

    def active(self) -> list[dict]:
        with self._lock:
            return [fault.record() for fault in self._faults.values()]

    # ---- hooks ---------------------------------------------------------------------------

    def on_request(self) -> None:
        """At the start of each incoming request: may sleep, raise InjectedFailure or ConnectionDrop."""
        self._affect(None)

    def on_call(self, callee: str) -> None:
        """Before each outgoing call: the faults aimed at this callee (params 'callee') act here."""
        self._affect(callee)

    def _affect(self, callee: str | None) -> None:
        with self._lock:
            faults = [f for f in self._faults.values() if f.params.get("callee") == callee]
        for fault in faults:
            if fault.kind == "latency":
                self._sleep(fault.params)
            elif fault.kind == "errors" and self._hit(fault.params):
                status = int(fault.params.get("status", 500))
                reason = str(fault.params.get("reason") or _default_reason(status, callee))
                raise InjectedFailure(status, reason)
            elif fault.kind == "connection" and self._hit(fault.params):
                if callee is not None:
                    # An outgoing connection that fails the way a reset one does, for the caller's
                    # own error handling (it logs the connection failure naming the callee).
                    raise ConnectionResetError(f"connection to {callee} reset by peer")
                raise ConnectionDrop(reset=fault.params.get("mode", "reset") == "reset")
            elif fault.kind == "disk" and fault.state.get("full") and self._hit(fault.params):
                raise InjectedFailure(500, f"No space left on device: {self.temp_dir}")

    def _sleep(self, params: Mapping[str, Any]) -> None:
        delay_ms = float(params.get("ms", 500)) + self._random.uniform(0, float(params.get("jitter_ms", 0)))
        time.sleep(delay_ms / 1000.0)

    def _hit(self, params: Mapping[str, Any]) -> bool:
        return self._random.random() < float(params.get("ratio", 1.0))

    def log(self, severity: str, message: str) -> None:
        try:
            self._log(severity, message)
        except Exception:  # a broken log sink must not break the fault itself
            pass


def _default_reason(status: int, callee: str | None) -> str:
    if callee is not None:
        return f"upstream {callee} failed"
    return {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}.get(status, "error")


# ---- validation --------------------------------------------------------------------------


def _validate_latency(params: dict[str, Any]) -> None:
    number_param(params, "ms", 500, 0, 60_000)
    number_param(params, "jitter_ms", 0, 0, 60_000)
    _callee(params)


def _validate_errors(params: dict[str, Any]) -> None:
    number_param(params, "ratio", 1.0, 0, 1)
    status = number_param(params, "status", 500, 400, 599)
    if status != int(status):
        raise FaultParameterError(f"parameter 'status' must be a whole HTTP status, got {status:g}")
    _callee(params)


def _validate_connection(params: dict[str, Any]) -> None:
    number_param(params, "ratio", 1.0, 0, 1)
    mode = params.get("mode", "reset")
    if mode not in ("reset", "drop"):
        raise FaultParameterError(f"parameter 'mode' must be 'reset' or 'drop', got {mode!r}")
    _callee(params)


def _validate_cpu(params: dict[str, Any]) -> None:
    number_param(params, "threads", 1, 1, 8)
    number_param(params, "duty", 1.0, 0.05, 1.0)


def _validate_memory(params: dict[str, Any]) -> None:
    number_param(params, "mb_per_s", 10, 0.5, 500)
    number_param(params, "limit_mb", 300, 16, MAX_MEMORY_LIMIT_MB)


def _validate_disk(params: dict[str, Any]) -> None:
    number_param(params, "mb", 200, 1, MAX_DISK_FILL_MB)
    number_param(params, "mb_per_s", 50, 1, 1000)
    number_param(params, "ratio", 1.0, 0, 1)


def _validate_exit(params: dict[str, Any]) -> None:
    number_param(params, "after_s", 3, 0, 3600)


def validate_params(kind: str, params: dict[str, Any]) -> None:
    """Check an in-process fault's parameters; raise FaultParameterError naming the bad one."""
    _VALIDATORS[kind](params)


_VALIDATORS: dict[str, Callable[[dict[str, Any]], None]] = {
    "latency": _validate_latency,
    "errors": _validate_errors,
    "connection": _validate_connection,
    "cpu": _validate_cpu,
    "memory": _validate_memory,
    "disk": _validate_disk,
    "exit": _validate_exit,
}


# ---- workers -----------------------------------------------------------------------------


def _start_thread(fault: _Fault, target: Callable[[], None], name: str) -> None:
    thread = threading.Thread(target=target, name=name, daemon=True)
    fault.threads.append(thread)
    thread.start()


def _start_nothing(faults: ServiceFaults, fault: _Fault) -> None:
    """Latency, errors and connection faults act in the hooks; the service host logs what fails."""


def _stop_nothing(faults: ServiceFaults, fault: _Fault) -> None:
    return None


def _start_cpu(faults: ServiceFaults, fault: _Fault) -> None:
    """Busy loops in this process (each holds the GIL most of the time, so requests slow down too)."""
    duty = float(fault.params.get("duty", 1.0))
    period_s = 0.1

    def burn() -> None:
        while not fault.stop.is_set():
            busy_until = time.perf_counter() + period_s * duty
            while time.perf_counter() < busy_until:
                pass
            if duty < 1.0:
                fault.stop.wait(period_s * (1.0 - duty))

    for index in range(int(fault.params.get("threads", 1))):
        _start_thread(fault, burn, f"lab-cpu-{index}")
    faults.log("warning", f"worker pool saturated: CPU busy in {faults.service} (load rising)")


def _start_memory(faults: ServiceFaults, fault: _Fault) -> None:
    """Grow the heap at a steady rate under a lowered RLIMIT_AS; the refused allocation kills us."""
    rate = float(fault.params.get("mb_per_s", 10)) * (1 << 20)
    headroom = int(float(fault.params.get("limit_mb", 300)) * (1 << 20))
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = _address_space_bytes() + headroom
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    fault.state["rlimit_as_before"] = soft
    fault.state["rlimit_as"] = limit
    held = fault.held

    def grow() -> None:
        step = max(1 << 16, int(rate / 10))
        while not fault.stop.wait(0.1):
            try:
                # A repeated non-zero byte touches every page, so the resident size really grows.
                held.append(bytearray(b"\x5a") * step)
            except MemoryError:
                _oom_kill(faults, sum(len(chunk) for chunk in held))
                return

    _start_thread(fault, grow, "lab-memory")
    faults.log("warning", f"heap growing in {faults.service}: cache not evicting")


def _oom_kill(faults: ServiceFaults, held_bytes: int) -> None:
    faults.log(
        "crit",
        f"Out of memory: Killed process {os.getpid()} ({faults.service}) "
        f"anon-rss:{held_bytes // 1024}kB (address-space limit reached)",
    )
    time.sleep(LAST_WORDS_S)  # let the syslog sender send the line
    os.kill(os.getpid(), signal.SIGKILL)


def _address_space_bytes() -> int:
    with open(f"/proc/{os.getpid()}/statm") as statm:
        return int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")


def _stop_memory(faults: ServiceFaults, fault: _Fault) -> None:
    fault.held.clear()
    before = fault.state.get("rlimit_as_before", resource.RLIM_INFINITY)
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (before, hard))


def _start_disk(faults: ServiceFaults, fault: _Fault) -> None:
    """Write real bytes into the service's temp dir up to the bound; when full, requests fail."""
    faults.temp_dir.mkdir(parents=True, exist_ok=True)
    target = int(float(fault.params.get("mb", 200)) * (1 << 20))
    rate = float(fault.params.get("mb_per_s", 50)) * (1 << 20)
    path = faults.temp_dir / f"lab-disk-fill-{os.getpid()}.bin"
    fault.state["path"] = str(path)
    fault.state["written_bytes"] = 0
    chunk = b"\xa5" * DISK_CHUNK_BYTES

    def fill() -> None:
        written = 0
        with open(path, "wb") as out:
            while written < target and not fault.stop.is_set():
                free = shutil.disk_usage(faults.temp_dir).free
                if free - DISK_CHUNK_BYTES < MIN_FREE_DISK_MB * (1 << 20):
                    break
                out.write(chunk)
                out.flush()
                written += DISK_CHUNK_BYTES
                fault.state["written_bytes"] = written
                fault.stop.wait(DISK_CHUNK_BYTES / rate)
            os.fsync(out.fileno())
        if not fault.stop.is_set():
            fault.state["full"] = True
            faults.log("err", f"write failed: No space left on device ({faults.temp_dir}, {written >> 20} MB used)")

    _start_thread(fault, fill, "lab-disk")
    faults.log("warning", f"temp directory {faults.temp_dir} filling up")


def _stop_disk(faults: ServiceFaults, fault: _Fault) -> None:
    path = fault.state.get("path")
    if path:
        pathlib.Path(path).unlink(missing_ok=True)


def _start_exit(faults: ServiceFaults, fault: _Fault) -> None:
    """The crash-loop helper: the process dies after_s seconds after start (the supervisor restarts it)."""
    after_s = float(fault.params.get("after_s", 3))

    def die() -> None:
        if fault.stop.wait(after_s):
            return
        faults.log("crit", f"fatal: unhandled exception in {faults.service} main loop, exiting")
        time.sleep(LAST_WORDS_S)  # let the syslog sender send the line
        os._exit(70)

    _start_thread(fault, die, "lab-exit")


_STARTERS: dict[str, Callable[[ServiceFaults, _Fault], None]] = {
    "latency": _start_nothing,
    "errors": _start_nothing,
    "connection": _start_nothing,
    "cpu": _start_cpu,
    "memory": _start_memory,
    "disk": _start_disk,
    "exit": _start_exit,
}

_STOPPERS: dict[str, Callable[[ServiceFaults, _Fault], None]] = {
    "memory": _stop_memory,
    "disk": _stop_disk,
}


# ---- start environment -------------------------------------------------------------------

ENV_FAULTS = "RCA_LAB_FAULTS"
ENV_CRASH_AFTER_S = "RCA_LAB_CRASH_AFTER_S"
ENV_VERSION = "RCA_LAB_VERSION"
DEFAULT_VERSION = "1"


def apply_start_environment(faults: ServiceFaults, environ: Mapping[str, str] | None = None) -> str:
    """Apply RCA_LAB_FAULTS and RCA_LAB_CRASH_AFTER_S at service start; return RCA_LAB_VERSION.

    The service host calls this once after creating its ServiceFaults (a bad deploy and a crash
    loop restart the service with these variables set).
    """
    env = os.environ if environ is None else environ
    raw = env.get(ENV_FAULTS, "").strip()
    if raw:
        try:
            entries = json.loads(raw)
        except json.JSONDecodeError as error:
            raise FaultParameterError(f"{ENV_FAULTS} is not JSON: {error}") from None
        if not isinstance(entries, list):
            raise FaultParameterError(f"{ENV_FAULTS} must be a JSON list of {{kind, params}} objects")
        for entry in entries:
            if not isinstance(entry, dict) or "kind" not in entry:
                raise FaultParameterError(f"{ENV_FAULTS}: each entry needs a 'kind', got {entry!r}")
            faults.apply(str(entry["kind"]), dict(entry.get("params") or {}))
    crash_after = env.get(ENV_CRASH_AFTER_S, "").strip()
    if crash_after:
        faults.apply("exit", {"after_s": crash_after})
    return env.get(ENV_VERSION, "").strip() or DEFAULT_VERSION

"""Real faults injected into a running lab (`rca lab inject`), each returning how to undo it.

``inject(lab, kind, target, params)`` checks the kind, the target and the parameters, starts the
fault and returns a ``Revert``: the supervisor calls it when the fault's duration ends, on
``DELETE /faults/ID`` and on ``rca lab down``. A Revert may be called more than once and never
raises for a process that has already gone (an OOM-killed service comes back without its fault).

In-process kinds (latency, errors, connection, cpu, memory, disk) go to the target service's admin
endpoint (``/_lab/faults``, rca.cli.lab.fault_hooks runs them); process and datastore kinds use the
supervisor's handle (kill, restart with an environment, stop/start, SQL as superuser).
"""

from __future__ import annotations

import json
import pathlib
import signal
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from rca.cli.lab import datastore_faults, fault_hooks
from rca.cli.lab.estate import Estate

Revert = Callable[[], None]

SERVICE, DATASTORE, HOST = "service", "datastore", "host"
ADMIN_TIMEOUT_S = 5.0


class FaultError(ValueError):
    """A fault that cannot be injected as asked; the message says what to change."""


# ---- what the injectors need from the supervisor (rca.cli.lab.supervisor provides it) --------------


class ServiceProcessLike(Protocol):
    name: str
    url: str
    host: str
    auto_restart: bool
    extra_env: dict[str, str]  # the environment of its later automatic restarts

    def kill(self, sig: int = ...) -> None: ...
    def restart(self, extra_env: dict[str, str] | None = None) -> None: ...


class LabLike(Protocol):
    workdir: pathlib.Path
    estate: Estate
    stop_requested: threading.Event  # set when `rca lab down` begins

    def service(self, name: str) -> ServiceProcessLike: ...
    def datastore(self, name: str) -> datastore_faults.Datastore: ...
    def log(self, entity: str, severity: str, message: str) -> None: ...


# ---- the kinds -----------------------------------------------------------------------------


@dataclass(frozen=True)
class FaultKind:
    name: str
    targets: tuple[str, ...]
    params: Mapping[str, str]  # parameter -> what it means (default)
    summary: str


FAULT_KINDS: dict[str, FaultKind] = {
    kind.name: kind
    for kind in (
        FaultKind(
            "latency",
            (SERVICE,),
            {
                "ms": "added delay per request (500)",
                "jitter_ms": "extra random delay up to (0)",
                "callee": "delay the calls to this callee instead of the incoming requests",
            },
            "every request (or every call to one callee) waits longer",
        ),
        FaultKind(
            "errors",
            (SERVICE,),
            {
                "status": "HTTP status answered (500)",
                "ratio": "share of requests failing (1.0)",
                "reason": "the error text (the status's name)",
                "callee": "fail the calls to this callee instead of the incoming requests",
            },
            "requests are answered with an HTTP error",
        ),
        FaultKind(
            "connection",
            (SERVICE,),
            {
                "mode": "reset (RST) or drop (close) (reset)",
                "ratio": "share of connections (1.0)",
                "callee": "reset the connections to this callee instead of the incoming ones",
            },
            "client connections are reset or dropped without an answer",
        ),
        FaultKind(
            "cpu",
            (SERVICE, HOST),
            {"threads": "busy threads per process (1)", "duty": "busy share of each 100 ms (1.0)"},
            "busy loops in the service's process, or in every service process of the host",
        ),
        FaultKind(
            "memory",
            (SERVICE,),
            {
                "mb_per_s": "MB allocated per second (10)",
                "limit_mb": f"MB of growth allowed before the kill (300, at most {fault_hooks.MAX_MEMORY_LIMIT_MB})",
            },
            "the heap grows until the lowered RLIMIT_AS refuses it and the process is killed",
        ),
        FaultKind(
            "disk",
            (SERVICE,),
            {
                "mb": f"MB written (200, at most {fault_hooks.MAX_DISK_FILL_MB})",
                "mb_per_s": "MB written per second (50)",
                "ratio": "share of requests failing once full (1.0)",
            },
            "the service's temp directory fills up; once full, requests fail with ENOSPC",
        ),
        FaultKind(
            "crash",
            (SERVICE,),
            {},
            "the service process is killed (SIGKILL) and not restarted until the fault ends",
        ),
        FaultKind(
            "crash_loop",
            (SERVICE,),
            {"after_s": "seconds each new process lives (3)"},
            "the service restarts and dies again soon after every start",
        ),
        FaultKind(
            "datastore_outage",
            (DATASTORE,),
            {},
            "the datastore server is stopped",
        ),
        FaultKind(
            "datastore_config",
            (DATASTORE,),
            {
                "limit": "connections allowed to clients (postgresql 1, redis 2; 0 refuses every client connection)",
                "mechanism": "postgresql: role_limit or max_connections (role_limit)",
            },
            "a configuration change leaves the clients too few connections",
        ),
        FaultKind(
            "bad_deploy",
            (SERVICE,),
            {
                "version": "the new version (2)",
                "effect": "errors, latency or crash_loop (errors)",
                "ratio": "share of failing requests for effect=errors (0.5)",
                "ms": "added delay for effect=latency (800)",
            },
            "the service restarts as a new version, logs the deploy, then misbehaves",
        ),
    )
}

IN_PROCESS = ("latency", "errors", "connection", "cpu", "memory", "disk")


def describe_kinds() -> str:
    """Each kind with its targets and summary, then its parameters indented (for --help)."""
    lines = []
    for kind in FAULT_KINDS.values():
        lines.append(f"{kind.name} ({' or '.join(kind.targets)}): {kind.summary}")
        lines += [f"    {name}: {meaning}" for name, meaning in kind.params.items()]
    return "\n".join(lines)


def check_fault(kind: str, target: str, target_kind: str | None, params: Mapping[str, Any]) -> FaultKind:
    """Check kind, target and params without touching anything; raise FaultError saying what is wrong."""
    fault = FAULT_KINDS.get(kind)
    if fault is None:
        raise FaultError(f"unknown fault kind {kind!r}; known kinds: {', '.join(FAULT_KINDS)}")
    if target_kind is None:
        raise FaultError(f"target {target!r} is not in the estate")
    if target_kind not in fault.targets:
        raise FaultError(f"fault {kind} applies to a {' or a '.join(fault.targets)}; {target!r} is a {target_kind}")
    unknown = sorted(set(params) - set(fault.params))
    if unknown:
        allowed = ", ".join(fault.params) or "none"
        raise FaultError(f"fault {kind} has no parameter {', '.join(map(repr, unknown))} (parameters: {allowed})")
    try:
        _check_values(kind, params)
    except fault_hooks.FaultParameterError as error:
        raise FaultError(f"fault {kind}: {error}") from None
    return fault


def _check_values(kind: str, params: Mapping[str, Any]) -> None:
    if kind in IN_PROCESS:
        fault_hooks.validate_params(kind, dict(params))
    elif kind == "crash_loop":
        fault_hooks.validate_params("exit", dict(params))
    elif kind == "datastore_config":
        mechanism = params.get("mechanism", "role_limit")
        if mechanism not in datastore_faults.MECHANISMS:
            raise fault_hooks.FaultParameterError("parameter 'mechanism' must be role_limit or max_connections")
        if "limit" in params:
            fault_hooks.number_param(params, "limit", 1, datastore_faults.lowest_limit(mechanism), 1000)
    elif kind == "bad_deploy":
        effect = params.get("effect", "errors")
        if effect not in ("errors", "latency", "crash_loop"):
            raise fault_hooks.FaultParameterError("parameter 'effect' must be errors, latency or crash_loop")
        fault_hooks.number_param(params, "ratio", 0.5, 0, 1)
        fault_hooks.number_param(params, "ms", 800, 0, 60_000)


# ---- inject ----------------------------------------------------------------------------------


def inject(lab: LabLike, kind: str, target: str, params: Mapping[str, Any] | None) -> Revert:
    """Start fault KIND on TARGET; return the Revert that undoes it (safe to call more than once)."""
    params = dict(params or {})
    check_fault_on(lab.estate, kind, target, params)
    _, name = resolve_target(lab.estate, target)
    undo = _APPLIERS[kind](lab, name, params)
    return _once(undo)


def check_fault_on(estate: Estate, kind: str, target: str, params: Mapping[str, Any]) -> FaultKind:
    """check_fault against an estate: an unknown target's error lists the estate's entities."""
    target_kind, name = resolve_target(estate, target)
    try:
        fault = check_fault(kind, target, target_kind, params)
    except FaultError as error:
        if target_kind is None and kind in FAULT_KINDS:
            raise FaultError(f"{error} ({describe_targets(estate)})") from None
        raise
    callee = params.get("callee")
    if callee and target_kind == SERVICE and callee not in estate.services[name].calls:
        callees = ", ".join(estate.services[name].calls) or "none"
        raise FaultError(f"fault {kind}: {name} does not call {callee!r} (its callees: {callees})")
    return fault


def resolve_target(estate: Estate, name: str) -> tuple[str | None, str]:
    """The kind of entity NAME is ('service', 'datastore', 'host' or None) and the name to act on.

    An instance names its service's process (the lab runs one instance per service).
    """
    if name in estate.services:
        return SERVICE, name
    if name in estate.datastores:
        return DATASTORE, name
    if name in estate.hosts:
        return HOST, name
    for service in estate.services.values():
        if service.instance == name:
            return SERVICE, service.name
    return None, name


def describe_targets(estate: Estate) -> str:
    return (
        f"services: {', '.join(sorted(estate.services)) or 'none'}; "
        f"datastores: {', '.join(sorted(estate.datastores)) or 'none'}; hosts: {', '.join(estate.hosts) or 'none'}"
    )


def _once(undo: Revert) -> Revert:
    lock = threading.Lock()
    done = False

    def revert() -> None:
        nonlocal done
        with lock:
            if done:
                return
            done = True
        undo()

    return revert


# ---- in-process faults: the service's admin endpoint ------------------------------------------


def _admin_url(service: ServiceProcessLike, kind: str | None = None) -> str:
    base = service.url.rstrip("/") + "/_lab/faults"
    return f"{base}/{kind}" if kind else base


def _admin(method: str, url: str, body: Mapping[str, Any] | None = None) -> None:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=ADMIN_TIMEOUT_S) as response:
        response.read()


def _apply_in_process(lab: LabLike, service_name: str, kind: str, params: Mapping[str, Any]) -> Revert:
    service = lab.service(service_name)
    try:
        _admin("POST", _admin_url(service), {"kind": kind, "params": dict(params)})
    except urllib.error.HTTPError as error:
        detail = error.read().decode(errors="replace").strip()
        raise FaultError(f"service {service_name} refused the {kind} fault: {error.code} {detail}") from None
    except OSError as error:
        raise FaultError(f"service {service_name} does not answer at {service.url}: {error}") from None

    def revert() -> None:
        try:
            _admin("DELETE", _admin_url(lab.service(service_name), kind))
        except OSError:
            pass  # the process has gone (killed or restarting): its in-process fault went with it
        if kind == "disk":
            # The fill file outlives a killed process; remove it here so nothing stays behind.
            temp_dir = fault_hooks.temp_dir_of(lab.workdir, service_name)
            for path in temp_dir.glob(fault_hooks.DISK_FILL_GLOB):
                path.unlink(missing_ok=True)

    return revert


def _in_process(kind: str) -> Callable[[LabLike, str, dict[str, Any]], Revert]:
    def apply(lab: LabLike, target: str, params: dict[str, Any]) -> Revert:
        return _apply_in_process(lab, target, kind, params)

    return apply


def _apply_memory(lab: LabLike, target: str, params: dict[str, Any]) -> Revert:
    """Memory growth in the process, and in every process the supervisor restarts after its OOM kill.

    A leak is in the code: the restarted process leaks again and is killed again while the fault lasts,
    as a real leaking service cycles through OOM kills until it is fixed or rolled back.
    """
    undo = _apply_in_process(lab, target, "memory", params)
    service = lab.service(target)
    service.extra_env = {fault_hooks.ENV_FAULTS: json.dumps([{"kind": "memory", "params": dict(params)}])}

    def revert() -> None:
        lab.service(target).extra_env = {}
        undo()

    return revert


def _apply_cpu(lab: LabLike, target: str, params: dict[str, Any]) -> Revert:
    if target not in lab.estate.hosts:
        return _apply_in_process(lab, target, "cpu", params)
    names = [name for name, service in lab.estate.services.items() if service.host == target]
    if not names:
        raise FaultError(f"host {target!r} runs no lab service to burn CPU in")
    reverts: list[Revert] = []
    try:
        for name in names:
            reverts.append(_apply_in_process(lab, name, "cpu", params))
    except FaultError:
        _run_all(reverts)
        raise
    return lambda: _run_all(reverts)


def _run_all(reverts: list[Revert]) -> None:
    for revert in reverts:
        revert()


# ---- process faults: the supervisor's handle -------------------------------------------------


def _apply_crash(lab: LabLike, target: str, params: dict[str, Any]) -> Revert:
    service = lab.service(target)
    service.auto_restart = False
    service.kill(signal.SIGKILL)  # the supervisor logs the exit as the service

    def revert() -> None:
        restarted = lab.service(target)
        restarted.auto_restart = True
        if not _going_down(lab):
            restarted.restart()

    return revert


def _apply_crash_loop(lab: LabLike, target: str, params: dict[str, Any]) -> Revert:
    after_s = fault_hooks.number_param(params, "after_s", 3, 0, 3600)
    lab.service(target).restart({fault_hooks.ENV_CRASH_AFTER_S: f"{after_s:g}"})
    return lambda: _restart_clean(lab, target)


def _restart_clean(lab: LabLike, target: str) -> None:
    """Restart without the fault's environment (on lab down there is nothing to restart)."""
    if not _going_down(lab):
        lab.service(target).restart(None)


def _going_down(lab: LabLike) -> bool:
    """True once `rca lab down` has begun: a revert then need not bring anything back up."""
    return lab.stop_requested.is_set()


def _apply_bad_deploy(lab: LabLike, target: str, params: dict[str, Any]) -> Revert:
    version = str(params.get("version", "2"))
    effect = params.get("effect", "errors")
    env = {fault_hooks.ENV_VERSION: version}
    if effect == "errors":
        ratio = fault_hooks.number_param(params, "ratio", 0.5, 0, 1)
        misbehaviour = {
            "kind": "errors",
            "params": {"status": 500, "ratio": ratio, "reason": f"unhandled error in {target} {version}"},
        }
        env[fault_hooks.ENV_FAULTS] = json.dumps([misbehaviour])
    elif effect == "latency":
        ms = fault_hooks.number_param(params, "ms", 800, 0, 60_000)
        env[fault_hooks.ENV_FAULTS] = json.dumps([{"kind": "latency", "params": {"ms": ms}}])
    else:
        env[fault_hooks.ENV_CRASH_AFTER_S] = "5"
    lab.log(target, "info", f"deploy: rolling out {target} version {version}")
    lab.service(target).restart(env)

    def revert() -> None:
        lab.log(target, "info", f"deploy: rolling back {target} to version {fault_hooks.DEFAULT_VERSION}")
        _restart_clean(lab, target)

    return revert


# ---- datastore faults --------------------------------------------------------------------------


def _apply_datastore_outage(lab: LabLike, target: str, params: dict[str, Any]) -> Revert:
    lab.datastore(target).stop()

    def revert() -> None:
        if not _going_down(lab):
            lab.datastore(target).start()

    return revert


def _apply_datastore_config(lab: LabLike, target: str, params: dict[str, Any]) -> Revert:
    mechanism = str(params.get("mechanism", "role_limit"))
    lowest = datastore_faults.lowest_limit(mechanism)
    limit = int(fault_hooks.number_param(params, "limit", 1, lowest, 1000)) if "limit" in params else None
    try:
        return datastore_faults.starve_connections(
            lab.datastore(target),
            limit,
            mechanism,
            lambda severity, message: lab.log(target, severity, message),
            lambda: _going_down(lab),
        )
    except datastore_faults.StarvationError as error:
        raise FaultError(f"datastore_config on {target}: {error}") from None


_APPLIERS: dict[str, Callable[[LabLike, str, dict[str, Any]], Revert]] = {
    "latency": _in_process("latency"),
    "errors": _in_process("errors"),
    "connection": _in_process("connection"),
    "cpu": _apply_cpu,
    "memory": _apply_memory,
    "disk": _in_process("disk"),
    "crash": _apply_crash,
    "crash_loop": _apply_crash_loop,
    "datastore_outage": _apply_datastore_outage,
    "datastore_config": _apply_datastore_config,
    "bad_deploy": _apply_bad_deploy,
}

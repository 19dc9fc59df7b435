"""`rca serve --processes N`: N serving processes on one port, supervised by the `rca serve` process.

Python runs one thread at a time per process, and ranking is CPU work, so one process can use
one core. Each serving process is a full RootCause server (its own graph driver, topology
snapshot, model and incident writer) bound to the same port with SO_REUSEPORT, so the kernel
spreads client connections over them. They agree through a WriteLedger in shared memory (reads
of incidents see every process's pending writes; feedback refreshes every process's similar
incidents), and write their Prometheus metrics to a shared directory that the supervisor serves
combined. When one serving process dies, the supervisor stops the others and exits non-zero,
so whatever runs `rca serve` (systemd, Kubernetes) restarts the whole service.

What a serving process runs is the caller's (the command line's) ``start_process``: the supervisor
knows nothing of settings files, engines or models, and says why the service could not start
with its own StartFailed, which the command line reports to the user.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import queue
import signal
import socket
import tempfile
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import wait

log = logging.getLogger(__name__)
START_TIMEOUT_S = 180.0  # each process imports torch and loads the model; on 2 busy cores this takes a while

StopServing = Callable[[], None]


class StartFailed(Exception):
    """The service did not start: its port is taken, or a serving process could not start (the message says why)."""


def serve(service, start_process: Callable[..., StopServing], announce: Callable[[int], None]) -> int:
    """Run service.processes serving processes until SIGINT/SIGTERM; announce(port) once all serve.

    ``start_process(service, ledger, slot)`` runs in each serving process: it starts that process's
    RootCause server on ``service.port`` with the shared ``ledger`` as ``slot``, and returns the
    function that stops it; it raises StartFailed (or OSError, ValueError) to say why it could not.
    The processes are spawned, so it must pickle: a module-level function, or a functools.partial
    of one over picklable arguments. StartFailed when the service could not start.
    """
    from rca.service.ledger import WriteLedger
    from rca.service.metrics import serve_metrics

    context = multiprocessing.get_context("spawn")  # a fresh interpreter: no inherited gRPC, torch or driver state
    port = _claim_port(service.host, service.port)
    service = service.model_copy(update={"port": port})
    ledger = WriteLedger(service.processes, context)
    ready = context.Queue()
    stopping = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopping.set())
    with tempfile.TemporaryDirectory(prefix="rca-serve-metrics-") as metrics_dir:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir  # inherited by the serving processes
        children = [
            context.Process(
                target=_serving_process,
                name=f"rca-serve-{slot}",
                args=(slot, service, start_process, ledger, ready, os.getpid()),
            )
            for slot in range(service.processes)
        ]
        for child in children:
            child.start()
        metrics_http = None
        try:
            if not _await_ready(children, ready, stopping):
                return 0  # told to stop while starting
            if service.metrics_port:
                metrics_http = serve_metrics(service.host, service.metrics_port, processes_dir=metrics_dir)
            announce(port)
            while not stopping.is_set():
                ended = wait([c.sentinel for c in children], timeout=0.5)
                if ended:
                    dead = [c for c in children if c.sentinel in ended]
                    log.error(
                        "serving process %s exited with code %s; stopping the service", dead[0].name, dead[0].exitcode
                    )
                    return 1
            return 0
        finally:
            for child in children:  # a signal, not a shared Event: a killed process cannot leave it locked
                if child.is_alive() and child.pid is not None:  # (a started process always has its pid)
                    os.kill(child.pid, signal.SIGTERM)
            for child in children:
                child.join(timeout=30)
                if child.is_alive():
                    child.kill()
            if metrics_http is not None:
                metrics_http.shutdown()
                metrics_http.server_close()
            os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)


def _claim_port(host: str, port: int) -> int:
    """The port the processes will share: a free one for 0; refused when another server holds it already."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        try:
            sock.bind((host, port))  # without SO_REUSEPORT: fails while anything is bound there
        except OSError as exc:
            raise StartFailed(f"cannot bind the gRPC server to {host}:{port}: {exc.strerror}") from None
        return sock.getsockname()[1]


def _await_ready(children, ready, stopping: threading.Event) -> bool:
    """Wait until every serving process serves (True) or a stop is asked (False); StartFailed naming a failed start."""
    deadline = time.monotonic() + START_TIMEOUT_S
    waiting = len(children)
    while waiting:
        if stopping.is_set():
            return False
        try:
            slot, error = ready.get(timeout=0.5)
        except queue.Empty:
            dead = [c for c in children if c.exitcode is not None]
            if dead:
                try:  # it may have said why just before it exited
                    slot, error = ready.get(timeout=0.5)
                except queue.Empty:
                    slot, error = dead[0].name, f"exited with code {dead[0].exitcode} while starting"
                raise StartFailed(f"serving process {slot}: {error or 'exited while starting'}") from None
            if time.monotonic() > deadline:
                raise StartFailed(f"serving processes did not start within {START_TIMEOUT_S:.0f} s") from None
            continue
        if error:
            raise StartFailed(f"serving process {slot}: {error}")
        waiting -= 1
    return True


def _serving_process(slot, service, start_process, ledger, ready, supervisor: int) -> None:
    """One serving process: a RootCause server on the shared port until the supervisor sends SIGTERM."""
    from graph_schema.embedded import die_with_parent

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group; the supervisor decides
    die_with_parent()  # never outlive the supervisor, even when it is SIGKILLed
    if os.getppid() != supervisor:  # it died before we asked to die with it
        raise SystemExit(1)
    try:
        stop_serving = start_process(service, ledger, slot)
    except (StartFailed, OSError, ValueError) as exc:
        ready.put((slot, str(exc)))
        raise SystemExit(2) from None
    ready.put((slot, ""))
    stop.wait()
    stop_serving()

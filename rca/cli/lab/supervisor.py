"""The lab supervisor: `rca lab up` in the foreground starts, watches and stops every lab process.

It starts the datastores (and their exporters), one process per service, Prometheus, the project's
parts (rca/cli/lab/project.py) and the load generator; records them all in ``WORKDIR/lab.json``
(rewritten atomically whenever a pid changes); restarts a service that exits unexpectedly after
2 s unless told not to; serves the control API (rca/cli/lab/control.py); and on Ctrl-C, SIGTERM or
``POST /down`` reverts every active fault and stops everything, process group by process group.

The supervisor is also the ``LabHandle`` the fault injectors (rca/cli/lab/injectors.py) act through:
``lab.service(name)``, ``lab.datastore(name)``, ``lab.host_pids(host)``, ``lab.log(entity, ...)``.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import signal
import sys
import threading
import time
from pathlib import Path

from rca.cli.lab import project
from rca.cli.lab.datastores import DATADIR_PREFIX, DatastoreProcess
from rca.cli.lab.estate import Estate, LabService
from rca.cli.lab.fault_hooks import temp_dir_of
from rca.cli.lab.faults_book import FaultBook
from rca.cli.lab.hosts import group_pids
from rca.cli.lab.loadgen import LoadGenerator
from rca.cli.lab.processes import (
    Child,
    free_port,
    kill_group,
    listening_socket,
    port_accepts,
    same_process,
    started_at,
    stop_recorded,
    wait_until,
)
from rca.cli.lab.prometheus import LabPrometheus, write_worker_templates
from rca.cli.lab.syslog_sender import SyslogSender

LAB_FILE = "lab.json"
RESTART_DELAY_S = 2.0
SERVICE_START_S = 30.0
PROJECT_START_S = 240.0  # the graph's JVM and the service's model load are slow on a busy 2-core machine


class ServiceProcess:
    """One service's OS process: killable, restartable (with extra environment), auto-restarted."""

    def __init__(self, lab: Lab, spec: LabService, port: int) -> None:
        self.lab, self.spec = lab, spec
        self.name, self.host, self.instance, self.port = spec.name, spec.host, spec.instance, port
        self.url = f"http://127.0.0.1:{port}"
        self.admin_url = f"{self.url}/_lab/faults"
        self.auto_restart = True
        self.extra_env: dict[str, str] = {}
        self.exited_at: float | None = None  # when the monitor saw it die (None: running or stopped on purpose)
        self.stopping = False
        self.lock = threading.RLock()
        self.child = Child(
            spec.name,
            [
                sys.executable, "-m", "rca.cli.lab.service_host", "--estate", str(lab.estate.path),
                "--service", spec.name, "--port", str(port), "--workdir", str(lab.workdir),
                "--addresses", str(lab.workdir / "addresses.json"),
                *(["--syslog", lab.syslog_address] if lab.syslog_address else []),
            ],
            lab.workdir / "services" / f"{spec.name}.log",
            env={"TMPDIR": str(temp_dir_of(lab.workdir, spec.name))},
        )  # fmt: skip

    @property
    def pid(self) -> int:
        """The running process' pid (0 while it is down)."""
        return self.child.pid if self.child.alive() else 0

    def start(self, wait: bool = True) -> None:
        """Start the process (with the current extra environment); wait until it listens."""
        with self.lock:
            temp_dir_of(self.lab.workdir, self.name).mkdir(parents=True, exist_ok=True)
            self.child.start(self.extra_env)
            self.exited_at = None
        self.lab.changed()
        if wait:
            try:
                wait_until(lambda: port_accepts(self.port), SERVICE_START_S, f"service {self.name}", self.child)
            except RuntimeError:
                if self.auto_restart and not self.extra_env:
                    raise  # a crash-loop restart may die before it listens; that is the point

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Send ``sig`` to the service's process group (the supervisor restarts it if auto_restart)."""
        if self.child.popen is not None:
            try:
                os.killpg(self.child.popen.pid, sig)
            except ProcessLookupError:
                pass

    def restart(self, extra_env: dict[str, str] | None = None) -> None:
        """Stop and start again; ``extra_env`` stays for this and later automatic restarts (None clears it)."""
        with self.lock:
            self.stopping = True
            self.child.stop(grace_s=3.0)
            self.extra_env = dict(extra_env or {})
            self.stopping = False
            self.start()

    def stop(self) -> None:
        """Stop for good (lab down)."""
        with self.lock:
            self.stopping = True
            self.auto_restart = False
            self.child.stop(grace_s=3.0)

    def record(self) -> dict:
        """lab.json's entry for the service."""
        return {"pid": self.pid, "port": self.port, "url": self.url, "host": self.host, "instance": self.instance}


class Lab:
    """A running lab on one workdir: the handle the injectors and the control API use."""

    def __init__(self, estate: Estate, workdir: Path, with_project: bool = True) -> None:
        self.estate, self.workdir, self.with_project = estate, Path(workdir).resolve(), with_project
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.ports = project.ProjectPorts()
        self.syslog_address = f"127.0.0.1:{self.ports.syslog_tcp}" if with_project else None
        self.control_socket = listening_socket()  # held from here on: its port goes into Prometheus' config
        self.control_port = int(self.control_socket.getsockname()[1])
        self.datastores = {name: DatastoreProcess(spec, self.workdir) for name, spec in estate.datastores.items()}
        self.services = {name: ServiceProcess(self, spec, free_port()) for name, spec in estate.services.items()}
        self.prometheus = LabPrometheus(self.workdir, estate)
        self.children: list[Child] = []  # Prometheus, Alertmanager and the project's processes
        self.graph_jvm_pid, self.graph_jvm_started = 0, 0.0
        self.faults = FaultBook(self)
        self.load = LoadGenerator(
            {name: (self.services[name].url + "/api", rate) for name, rate in estate.load.items()},
            timeout_s=max(5.0, estate.timeout_ms / 1000.0 * 4),
        )
        self.stop_requested = threading.Event()
        self._senders: dict[str, SyslogSender] = {}
        self._file_lock = threading.Lock()
        self._monitor: threading.Thread | None = None
        self.started_at = time.time()
        self.ready = False  # lab.json says so once everything is up and the load runs

    # ---- the handle of the injectors --------------------------------------------------------

    def service(self, name: str) -> ServiceProcess:
        """A service's process."""
        return self.services[name]

    def datastore(self, name: str) -> DatastoreProcess:
        """A datastore's process."""
        return self.datastores[name]

    def host_pids(self, host: str) -> list[int]:
        """The live processes of a host's group (its services and datastores)."""
        return group_pids(self.host_pgids(host))

    def host_pgids(self, host: str) -> list[int]:
        """The process groups of a host's services and datastores."""
        pgids = [s.pid for s in self.services.values() if s.host == host]
        return pgids + [d.pid for d in self.datastores.values() if d.host == host]

    def host_dirs(self, host: str) -> list[Path]:
        """The temp directories of a host's services (what a disk fill fills)."""
        return [temp_dir_of(self.workdir, s.name) for s in self.services.values() if s.host == host]

    def log(self, entity: str, severity: str, message: str) -> None:
        """A syslog line as ``entity`` (hostname = its host), e.g. a deploy or a crash line."""
        sender = self._senders.get(entity)
        if sender is None:
            host = (
                self.estate.host_of(entity) if entity in self.estate.services or entity in self.datastores else entity
            )
            sender = self._senders[entity] = SyslogSender(self.syslog_address, host, entity, self.workdir)
        sender.log(severity, message)

    # ---- up ----------------------------------------------------------------------------------

    def up(self, progress=print) -> None:
        """Start everything and write lab.json; raises RuntimeError (after stopping what started) on failure."""
        graph = None
        env: dict = {}
        if self.with_project:
            templates = write_worker_templates(self.workdir, self.estate)
            env = project.project_env(self.workdir, self.prometheus.url, templates, self.ports)
            graph = self._track(project.graph_child(self.workdir, env, self.ports).start())
            progress(f"graph: starting the embedded graph on bolt port {self.ports.bolt}")
        for store in self.datastores.values():
            store.setup()
            store.start()
            store.start_exporter()
            progress(f"datastore {store.name}: {store.kind} on port {store.port} (exporter {store.exporter_port})")
            store.follow_log(functools.partial(self.log, store.name), self.stop_requested)
        addresses = {n: {"kind": "service", "port": s.port} for n, s in self.services.items()}
        addresses |= {n: {"kind": d.kind, "port": d.port} for n, d in self.datastores.items()}
        (self.workdir / "addresses.json").write_text(json.dumps(addresses, indent=1))
        exporters = {n: d.exporter_port for n, d in self.datastores.items()}
        ports = {n: s.port for n, s in self.services.items()}
        self.prometheus.write_config(ports, exporters, self.control_port, alerting=self.with_project)
        self._track(self.prometheus.prometheus_child().start())
        for service in self.services.values():
            service.start(wait=False)
        wait_until(lambda: port_accepts(self.prometheus.port), 60, "prometheus", self.prometheus.server)
        from rca.cli.lab.control import serve_control

        serve_control(self)
        if graph is not None:
            wait_until(lambda: port_accepts(self.ports.bolt), PROJECT_START_S, "embedded graph", graph)
            # its state file (with the JVM's pid) is written just after the port opens
            wait_until(lambda: _graph_jvm_pid(self.workdir / "graph") > 0, 30, "embedded graph's state file", graph)
            self.graph_jvm_pid = _graph_jvm_pid(self.workdir / "graph")
            self.graph_jvm_started = started_at(self.graph_jvm_pid)
            project.load_topology(self.workdir, env, self.estate.path)
            progress(f"topology: {self.estate.path.name} loaded into the graph")
            for child in project.worker_children(self.workdir, env, self.ports):
                self._track(child.start())
            bridge_url = f"http://127.0.0.1:{self.ports.bridge}/alerts"
            self._track(self.prometheus.alertmanager_child(bridge_url).start())
        for service in self.services.values():
            wait_until(
                lambda s=service: port_accepts(s.port), SERVICE_START_S, f"service {service.name}", service.child
            )
        progress(f"services: {len(self.services)} up; load {_rates(self.estate.load)}")
        self._wait_project()
        self.load.start()
        self._monitor = threading.Thread(target=self._watch, name="lab-monitor", daemon=True)
        self._monitor.start()
        self.ready = True
        self.changed()

    def _wait_project(self) -> None:
        if not self.with_project:
            return
        ready = {
            "syslog-worker": self.ports.syslog_tcp,
            "rca-serve": self.ports.grpc,
            "bridge": self.ports.bridge,
            "alertmanager": self.prometheus.alertmanager_port,
        }
        for child in self.children:
            if child.name in ready:
                port = ready[child.name]
                wait_until(lambda p=port: port_accepts(p), PROJECT_START_S, child.name, child)

    def _track(self, child: Child) -> Child:
        self.children.append(child)
        self.changed()
        return child

    # ---- running -----------------------------------------------------------------------------

    def wait(self) -> None:
        """Block until a stop is requested (POST /down, or a signal that the caller turns into one)."""
        while not self.stop_requested.wait(0.5):
            pass

    def _watch(self) -> None:
        """Restart services that die unexpectedly; log their crash as the service; keep lab.json's pids true."""
        recorded = self._pids()
        while not self.stop_requested.is_set():
            if self._pids() != recorded:  # e.g. a datastore an injector stopped and started again
                recorded = self._pids()
                self.changed()
            for service in self.services.values():
                with service.lock:
                    status = service.child.exited()
                    if status is None or service.stopping:
                        continue
                    if service.exited_at is None:
                        service.exited_at = time.time()
                        how = f"killed by signal {-status}" if status < 0 else f"exit status {status}"
                        self.log(service.name, "crit", f"process of {service.name} exited abnormally ({how})")
                        self.changed()
                    elif service.auto_restart and time.time() - service.exited_at >= RESTART_DELAY_S:
                        self.log(service.name, "warning", f"restarting {service.name} after its process exited")
                        service.start(wait=False)
            self.stop_requested.wait(0.5)

    def _pids(self) -> list[int]:
        return [p["pid"] for p in self.record()["processes"]] + [d.pid for d in self.datastores.values()]

    def changed(self) -> None:
        """Rewrite lab.json atomically (a pid changed)."""
        with self._file_lock:
            path = self.workdir / LAB_FILE
            temporary = path.with_suffix(".json.tmp")
            temporary.write_text(json.dumps(self.record(), indent=1))
            os.replace(temporary, path)

    def record(self) -> dict:
        """lab.json: how to reach the lab and every process it started."""
        processes = [c.record() for c in self.children if c.pid]
        processes += [s.child.record() for s in self.services.values() if s.child.pid]
        processes += [c.record() for d in self.datastores.values() for c in d.children() if c.pid]
        if self.graph_jvm_pid:
            jvm = self.graph_jvm_pid
            processes.append({"name": "graph-jvm", "pid": jvm, "pgid": jvm, "started": self.graph_jvm_started})
        out = {
            "estate": str(self.estate.path),
            "workdir": str(self.workdir),
            "started_at": self.started_at,
            "ready": self.ready and not self.stop_requested.is_set(),
            "control_url": f"http://127.0.0.1:{self.control_port}",
            "supervisor_pid": os.getpid(),
            "supervisor_started": started_at(os.getpid()),
            "prometheus_url": self.prometheus.url,
            "services": {n: s.record() for n, s in self.services.items()},
            "datastores": {n: d.record() for n, d in self.datastores.items()},
            "processes": processes,
        }
        if self.with_project:
            out |= {
                "grpc_target": f"127.0.0.1:{self.ports.grpc}",
                "syslog_tcp": self.syslog_address,
                "alertmanager_url": f"http://127.0.0.1:{self.prometheus.alertmanager_port}",
                "bridge_url": f"http://127.0.0.1:{self.ports.bridge}",
                "bridge_window_before_s": project.bridge_window_before_s(),
                "graph_data_dir": str(self.workdir / "graph"),
            }
        return out

    # ---- down --------------------------------------------------------------------------------

    def down(self, progress=print) -> None:
        """Revert every fault, stop the load and every process; afterwards nothing recorded is alive."""
        self.stop_requested.set()
        reverted = self.faults.revert_all()
        if reverted:
            progress(f"faults: {reverted} reverted")
        self.load.stop()
        for service in self.services.values():
            service.stop()
        for child in reversed(self.children):  # the workers before the graph they write to
            child.stop(grace_s=20.0 if child.name == "graph" else 8.0)
        if same_process(self.graph_jvm_pid, self.graph_jvm_started):
            kill_group(self.graph_jvm_pid, grace_s=10.0)
        for store in self.datastores.values():
            for child in store.children():
                child.stop(grace_s=10.0)
            store.remove()
        for sender in self._senders.values():
            sender.flush(0.5)
        self.changed()
        progress("lab down: every process stopped")


def _graph_jvm_pid(data_dir: Path) -> int:
    """The embedded graph's JVM (its own session, so not in `rca graph serve`'s group) from its state file."""
    try:
        return int(json.loads((data_dir / "server.json").read_text())["pid"])
    except (OSError, ValueError, KeyError):
        return 0


def _rates(load: dict[str, float]) -> str:
    return ", ".join(f"{name} {rate:g}/s" for name, rate in load.items())


def read_lab_file(workdir: Path) -> dict | None:
    """The lab.json of a workdir, or None when there is none."""
    try:
        return json.loads((Path(workdir) / LAB_FILE).read_text())
    except (OSError, ValueError):
        return None


def supervisor_alive(record: dict) -> bool:
    """True while the supervisor lab.json names still runs (the same process, not a reused pid)."""
    return same_process(int(record.get("supervisor_pid", 0)), float(record.get("supervisor_started", 0)))


def kill_recorded(record: dict) -> list[str]:
    """Stop every process group lab.json records (the supervisor is gone); the names of those still running."""
    survivors = []
    for entry in record.get("processes", []):
        stop_recorded(int(entry["pid"]), int(entry["pgid"]), float(entry.get("started", 0)))
    for entry in record.get("processes", []):
        if same_process(int(entry["pid"]), float(entry.get("started", 0))):
            survivors.append(f"{entry['name']} (pid {entry['pid']})")
    for store in record.get("datastores", {}).values():  # a PostgreSQL data directory kept outside the workdir
        datadir = Path(store.get("datadir") or "")
        if datadir.name.startswith(DATADIR_PREFIX) and not survivors:
            shutil.rmtree(datadir, ignore_errors=True)
    return survivors

"""`rca lab`: the live lab (docs/lab.md): up (foreground supervisor), down, status, inject, run."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import time
import urllib.error
import urllib.request
from pathlib import Path

import platformdirs

from rca.cli.errors import UserError

DOWN_TIMEOUT_S = 180.0


def default_workdir() -> Path:
    """<user state dir>/lab."""
    return Path(platformdirs.user_state_dir("rca-service", appauthor=False)) / "lab"


def add_parser(subparsers) -> None:
    """Register `rca lab` and its subcommands."""
    lab = subparsers.add_parser(
        "lab",
        help="the live lab: a miniature estate with real telemetry and real faults (docs/lab.md)",
        description="Run a miniature estate on loopback: one process per service, real redis and PostgreSQL, "
        "a real Prometheus with alert rules on the entry services, syslog to the project's syslog worker, "
        "and the project's own parts running against it.",
    )
    actions = lab.add_subparsers(dest="action", metavar="ACTION", required=True)

    def with_workdir(parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--workdir", type=Path, default=None, help=f"the lab's working directory (default {default_workdir()})"
        )

    up = actions.add_parser(
        "up",
        help="start the estate and run it in the foreground until Ctrl-C or `rca lab down`",
        description="Start the estate file's datastores, services, Prometheus (and Alertmanager), the load "
        "generator and the project's parts (embedded graph, topology load, syslog and metrics workers, "
        "topology sync, `rca serve`, the Alertmanager bridge); record every process in WORKDIR/lab.json; "
        "restart a service that dies unexpectedly; stop everything on Ctrl-C, SIGTERM or `rca lab down`.",
    )
    up.add_argument("--estate", type=Path, required=True, help="estate file: a topology file with a lab: section")
    with_workdir(up)
    up.add_argument(
        "--no-project",
        action="store_true",
        help="run only the estate and Prometheus: no graph, workers, RootCause service, bridge or Alertmanager",
    )
    up.set_defaults(handler=run_up)

    down = actions.add_parser(
        "down",
        help="stop the lab running in WORKDIR and everything it started",
        description="Ask the supervisor to revert every fault and stop every process; if it is gone, stop "
        "every process group WORKDIR/lab.json records. Fails if anything recorded is still alive afterwards.",
    )
    with_workdir(down)
    down.set_defaults(handler=run_down)

    status = actions.add_parser(
        "status", help="what runs in the lab: processes, ports, faults, load", description="Print the lab's state."
    )
    with_workdir(status)
    status.add_argument("--json", action="store_true", help="print the control API's /status answer as JSON")
    status.add_argument(
        "--resources", action="store_true", help="CPU (percent of one core, over 2 s) and memory of every lab part"
    )
    status.set_defaults(handler=run_status)

    from rca.cli.lab import fault_cli

    inject = actions.add_parser(
        "inject",
        help="inject a real fault into the running lab",
        description="Ask the running lab's supervisor to inject a fault; it is reverted after --for, "
        "by DELETE /faults/ID on the control API, or by `rca lab down`.",
    )
    fault_cli.add_inject_arguments(inject)
    with_workdir(inject)
    inject.set_defaults(handler=run_inject)

    run = actions.add_parser(
        "run",
        help="run a scenario file end to end, record every scenario as a case folder, print the figures",
        description="Per scenario: steady state, inject, wait for the alert and the diagnosis (the bridge's "
        "incident), revert, wait for recovery, record the case folder (`rca diagnose` format); then print "
        "AC@1, AC@3, Avg@5 and the time from fault to diagnosis per fault kind, beside bench/accuracy.py's "
        "rankers on the recordings. Starts the estate (and stops it at the end) when no lab runs in WORKDIR. "
        "Scenario file format: docs/lab.md, Scenarios.",
    )
    run.add_argument("--scenarios", type=Path, required=True, help="scenario file (docs/lab.md, Scenarios)")
    run.add_argument("--estate", type=Path, help="run every scenario on this estate instead of the file's")
    with_workdir(run)
    run.add_argument(
        "--record", type=Path, help="folder of the recorded case folders (default WORKDIR-runs/<UTC time>)"
    )
    run.add_argument(
        "--no-replay", action="store_true", help="do not run bench/accuracy.py's rankers on the recordings"
    )
    run.add_argument(
        "--parallel-estates",
        action="store_true",
        help="run each estate's scenarios at the same time as the other estates' (a lab each, in WORKDIR/ESTATE)",
    )
    run.set_defaults(handler=run_scenarios)


def _workdir(args: argparse.Namespace) -> Path:
    return (args.workdir or default_workdir()).resolve()


def run_up(args: argparse.Namespace, settings) -> int:
    from rca.cli.lab.estate import EstateError, load_estate
    from rca.cli.lab.supervisor import Lab, kill_recorded, read_lab_file, supervisor_alive

    try:
        estate = load_estate(args.estate)
    except EstateError as error:
        raise UserError(str(error)) from None
    workdir = _workdir(args)
    previous = read_lab_file(workdir)
    if previous and supervisor_alive(previous):
        raise UserError(f"a lab already runs in {workdir} (supervisor pid {previous['supervisor_pid']})")
    if previous:  # a lab whose supervisor died: stop what it left before lab.json is overwritten
        survivors = kill_recorded(previous)
        if survivors:
            raise UserError(f"processes of an earlier lab in {workdir} are still running: {', '.join(survivors)}")
    lab = Lab(estate, workdir, with_project=not args.no_project)

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    # Explicitly: a supervisor started in the background inherits SIGINT ignored, and Ctrl-C must still work.
    signal.signal(signal.SIGINT, interrupt)
    signal.signal(signal.SIGTERM, interrupt)
    print(f"lab {estate.name}: {len(estate.services)} services, {len(estate.datastores)} datastores, "
          f"{len(estate.hosts)} hosts; workdir {workdir}", flush=True)  # fmt: skip
    started = time.monotonic()
    try:
        try:
            lab.up(progress=lambda line: print(line, flush=True))
        except RuntimeError as error:
            raise UserError(f"the lab did not start: {error}") from None
        record = lab.record()
        print(
            f"lab up in {time.monotonic() - started:.0f} s: control {record['control_url']}, "
            f"prometheus {record['prometheus_url']}"
            + (f", gRPC {record['grpc_target']}" if "grpc_target" in record else "")
            + "; Ctrl-C or `rca lab down` stops it",
            flush=True,
        )
        lab.wait()
    except KeyboardInterrupt:
        print("\nlab: stopping (interrupted)", flush=True)
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the clean-up short
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        lab.down(progress=lambda line: print(line, flush=True))
    return 0


def run_down(args: argparse.Namespace, settings) -> int:
    from rca.cli.lab.supervisor import kill_recorded, read_lab_file, supervisor_alive

    workdir = _workdir(args)
    record = read_lab_file(workdir)
    if record is None:
        raise UserError(f"no lab in {workdir} (no lab.json)")
    if supervisor_alive(record):
        try:
            _control(record, "POST", "/down")
        except OSError as error:
            print(f"lab: the supervisor does not answer ({error}); stopping it with SIGTERM", flush=True)
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(record["supervisor_pid"]), signal.SIGTERM)
        deadline = time.monotonic() + DOWN_TIMEOUT_S
        while supervisor_alive(record) and time.monotonic() < deadline:
            time.sleep(0.2)
        record = read_lab_file(workdir) or record
    survivors = kill_recorded(record)  # whatever the supervisor left (or all of it, when it was gone)
    if survivors:
        raise UserError(f"still running after down: {', '.join(survivors)}")
    print(f"lab in {workdir} is down; no recorded process is alive")
    return 0


def run_status(args: argparse.Namespace, settings) -> int:
    from rca.cli.lab.resources import format_resources, measure
    from rca.cli.lab.supervisor import read_lab_file, supervisor_alive

    workdir = _workdir(args)
    record = read_lab_file(workdir)
    if record is None or not supervisor_alive(record):
        print(f"no lab running in {workdir}")
        return 3
    try:
        status = _control(record, "GET", "/status")
    except OSError as error:
        raise UserError(f"the supervisor (pid {record['supervisor_pid']}) does not answer: {error}") from None
    if args.json:
        print(json.dumps(status, indent=1))
    else:
        print(format_status(status))
    if args.resources:
        print(format_resources(measure(status)))
    return 0


def format_status(status: dict) -> str:
    """The human-readable status."""
    lines = [f"lab of {status['estate']} (supervisor pid {status['supervisor_pid']}, control {status['control_url']})"]
    lines.append(
        f"  prometheus {status['prometheus_url']}"
        + (f", gRPC {status['grpc_target']}" if "grpc_target" in status else "")
    )
    for name, service in status["services"].items():
        state = f"pid {service['pid']}" if service["pid"] else "DOWN"
        lines.append(f"  service   {name:<22} {service['url']:<24} host {service['host']:<10} {state}")
    for name, store in status["datastores"].items():
        state = f"pid {store['pid']}" if store["pid"] else "DOWN"
        lines.append(
            f"  datastore {name:<22} {store['kind']:<10} port {store['port']:<6} host {store['host']:<10} {state}"
        )
    for fault in status.get("faults", []):
        until = f" until {time.strftime('%H:%M:%S', time.localtime(fault['until']))}" if "until" in fault else ""
        lines.append(f"  fault     {fault['id']}: {fault['kind']} on {fault['target']}{until}")
    for service, outcomes in status.get("load", {}).items():
        lines.append(f"  load      {service}: " + ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items())))
    return "\n".join(lines)


def run_inject(args: argparse.Namespace, settings) -> int:
    from rca.cli.lab import fault_cli
    from rca.cli.lab.injectors import FaultError

    try:
        return fault_cli.run_inject_command(args, _workdir(args))
    except FaultError as error:
        raise UserError(str(error)) from None


def run_scenarios(args: argparse.Namespace, settings) -> int:
    from rca.cli.lab.estate import EstateError
    from rca.cli.lab.runner import RunError
    from rca.cli.lab.runner import run_scenarios as run
    from rca.cli.lab.scenarios import ScenarioError

    try:
        return run(
            args.scenarios,
            workdir=_workdir(args),
            estate=args.estate,
            record_dir=args.record,
            replay=not args.no_replay,
            parallel_estates=args.parallel_estates,
        )
    except (ScenarioError, EstateError, RunError) as error:
        raise UserError(str(error)) from None


def _control(record: dict, method: str, path: str) -> dict:
    request = urllib.request.Request(
        record["control_url"] + path, method=method, data=b"" if method == "POST" else None
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        raise OSError(f"{error.code} {error.read()[:200]!r}") from None

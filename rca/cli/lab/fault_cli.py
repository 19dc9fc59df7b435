"""`rca lab inject`: its arguments, and the request it makes to the running lab's supervisor.

rca/cli/lab_commands.py registers the subcommand with ``add_inject_arguments`` and calls
``run_inject_command``; the supervisor (its control API, ``POST /faults``) checks the fault against
the estate and calls rca.cli.lab.injectors.inject, then reverts it when ``--for`` has passed.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, TextIO

from rca.cli.lab import scenarios
from rca.cli.lab.injectors import FAULT_KINDS, FaultError, describe_kinds

DEFAULT_FOR_S = 90.0
CONTROL_TIMEOUT_S = 120.0  # a restart-based fault (bad deploy, max_connections) waits for the restart


def parse_duration(text: str) -> float:
    """'90s', '2m', '1m30s', '45' (seconds) -> seconds, as in a scenario file; raise FaultError otherwise."""
    value: str | float = float(text) if text.strip().replace(".", "", 1).isdigit() else text
    try:
        return scenarios.parse_duration(value, "--for")
    except scenarios.ScenarioError as error:
        raise FaultError(str(error)) from None


def parse_param(text: str) -> tuple[str, Any]:
    """'k=v' -> (k, v); v is a number or boolean when it reads as one, else the text."""
    name, sep, raw = text.partition("=")
    if not sep or not name.strip():
        raise FaultError(f"--param: expected NAME=VALUE, got {text!r}")
    value: Any = raw
    try:
        parsed = json.loads(raw)
    except json.JSONDecodeError:
        parsed = None
    if isinstance(parsed, (int, float, bool)):
        value = parsed
    return name.strip(), value


def add_inject_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of `rca lab inject` (the caller adds --workdir and sets the handler)."""
    parser.add_argument("--fault", required=True, metavar="KIND", help=f"one of: {', '.join(FAULT_KINDS)}")
    parser.add_argument("--target", required=True, metavar="ENTITY", help="a service, instance, datastore or host")
    parser.add_argument(
        "--for",
        dest="for_",
        default=f"{DEFAULT_FOR_S:g}s",
        metavar="DURATION",
        help="how long before the fault is reverted (90s, 2m, 1m30s; default %(default)s)",
    )
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a parameter of the fault (repeatable); see the kinds below",
    )
    parser.epilog = "fault kinds (target): what happens, then each parameter (default):\n" + describe_kinds()
    parser.formatter_class = argparse.RawDescriptionHelpFormatter


def fault_request(args: argparse.Namespace) -> dict[str, Any]:
    """The body of POST /faults from the parsed arguments (kind and parameters checked by the supervisor)."""
    if args.fault not in FAULT_KINDS:
        raise FaultError(f"unknown fault kind {args.fault!r}; known kinds: {', '.join(FAULT_KINDS)}")
    params = dict(parse_param(item) for item in args.param)
    return {"kind": args.fault, "target": args.target, "for_s": parse_duration(args.for_), "params": params}


def run_inject_command(args: argparse.Namespace, workdir: Path, out: TextIO = sys.stdout) -> int:
    """Ask the lab running in WORKDIR to inject the fault; print its id. Raises FaultError on refusal."""
    body = fault_request(args)
    control_url = _control_url(workdir)
    request = urllib.request.Request(
        control_url.rstrip("/") + "/faults",
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=CONTROL_TIMEOUT_S) as response:
            answer = json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        raise FaultError(_refusal(error)) from None
    except OSError as error:
        raise FaultError(
            f"the lab's supervisor does not answer at {control_url} ({error}); is `rca lab up` running?"
        ) from None
    print(
        f"fault {answer.get('id', '?')}: {body['kind']} on {body['target']} for {body['for_s']:g} s "
        f"(reverted then, or by `rca lab down`)",
        file=out,
    )
    return 0


def _control_url(workdir: Path) -> str:
    lab_json = Path(workdir) / "lab.json"
    try:
        return str(json.loads(lab_json.read_text())["control_url"])
    except FileNotFoundError:
        raise FaultError(f"no lab is running in {workdir} (no lab.json); start one with `rca lab up`") from None
    except (OSError, ValueError, KeyError) as error:
        raise FaultError(f"{lab_json}: cannot read the control URL: {error}") from None


def _refusal(error: urllib.error.HTTPError) -> str:
    text = error.read().decode(errors="replace")
    try:
        return str(json.loads(text)["error"])
    except (ValueError, KeyError, TypeError):
        return f"the supervisor refused the fault: {error.code} {text.strip()}"

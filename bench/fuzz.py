"""Long fuzz runs over the project's parsers: inputs tried, failures found, time, machine.

    python -m bench.fuzz                                  # every target, 1,000,000 inputs each
    python -m bench.fuzz --targets syslog_parser --runs 200000 --engine hypothesis

Engines: atheris (coverage-guided libFuzzer, used when it imports: ``pip install atheris``),
otherwise hypothesis with a large example budget. Each atheris target runs in a child process
(libFuzzer owns the process and exits when done); failing inputs are saved under ``--out``.
Targets are registered in bench/fuzz_targets.py (the hook for new parsers).
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

from bench.fuzz_targets import FuzzTarget, load_targets
from bench.machine import describe_machine

ROOT = Path(__file__).resolve().parents[1]
STATS_EVERY = 10_000


class Tally:
    """Inputs tried and failures found by one target, with the distinct failures' first inputs saved."""

    def __init__(self, name: str, out: Path):
        self.name, self.out = name, out
        self.inputs = 0
        self.failures = 0
        self.distinct: dict[str, str] = {}  # signature -> saved input path
        self.started = time.monotonic()

    def run(self, check, data: bytes) -> None:
        self.inputs += 1
        try:
            check(data)
        except Exception as exc:  # noqa: BLE001 - counting what escapes is the point
            self.failures += 1
            frame = traceback.extract_tb(exc.__traceback__)[-1]
            signature = f"{type(exc).__name__} at {Path(frame.filename).name}:{frame.lineno}: {str(exc)[:120]}"
            if signature not in self.distinct:
                self.out.mkdir(parents=True, exist_ok=True)
                path = self.out / f"{self.name}-{hashlib.sha1(data).hexdigest()[:12]}.bin"
                path.write_bytes(data)
                self.distinct[signature] = str(path)

    def as_dict(self) -> dict:
        return {
            "target": self.name,
            "inputs": self.inputs,
            "failures": self.failures,
            "distinct": self.distinct,
            "seconds": time.monotonic() - self.started,
        }


# -- atheris: one child process per target ------------------------------------------------------


def _atheris_child(target: FuzzTarget, runs: int, seconds: float, stats: Path, out: Path) -> None:
    # Imported by name: atheris is optional and ships no type information.
    atheris = importlib.import_module("atheris")
    with atheris.instrument_imports(include=list(target.instrument)):
        check = target.setup()
    tally = Tally(target.name, out)
    deadline = time.monotonic() + seconds

    def save() -> None:
        stats.write_text(json.dumps(tally.as_dict()))

    def one_input(data: bytes) -> None:
        tally.run(check, data)
        if tally.inputs % STATS_EVERY == 0:
            save()
        if tally.inputs >= runs or time.monotonic() > deadline:
            save()
            sys.stderr.flush()
            os._exit(0)  # libFuzzer would exit without running Python's cleanup anyway

    # -runs is set past ours so that our count (every call, seeds included) decides the end.
    argv = [sys.argv[0], f"-runs={runs * 2 + 1000}", "-max_len=4096", "-print_final_stats=0"]
    if target.seeds:
        corpus = Path(tempfile.mkdtemp(prefix=f"fuzz-{target.name}-"))
        for i, seed in enumerate(target.seeds):
            (corpus / f"seed-{i}").write_bytes(seed)
        argv.append(str(corpus))
    atheris.Setup(argv, one_input)
    atheris.Fuzz()


def _run_atheris(target: FuzzTarget, runs: int, seconds: float, out: Path) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        stats, log = Path(tmp) / "stats.json", Path(tmp) / "libfuzzer.log"
        command = [sys.executable, "-m", "bench.fuzz", "--child", target.name, "--runs", str(runs)]
        command += ["--seconds", str(seconds), "--stats", str(stats), "--out", str(out)]
        with log.open("w") as log_file:
            code = subprocess.call(command, cwd=ROOT, stdout=log_file, stderr=subprocess.STDOUT)
        coverage = [line for line in log.read_text(errors="replace").splitlines() if " cov: " in line]
        result: dict[str, Any] = (
            json.loads(stats.read_text()) if stats.exists() else {"target": target.name, "inputs": 0}
        )
        result.setdefault("failures", 0)
        result.setdefault("distinct", {})
        result.setdefault("seconds", 0.0)
        if code != 0:
            result["failures"] += 1
            result["distinct"][f"the fuzzing process exited with {code}"] = str(log)
        result["coverage"] = coverage[-1].split(" cov: ", 1)[1].split(" corp:")[0] if coverage else "-"
        return result


# -- hypothesis: in this process -----------------------------------------------------------------


def _run_hypothesis(target: FuzzTarget, runs: int, seconds: float, out: Path) -> dict:
    from hypothesis import HealthCheck, Phase, given, settings

    check = target.setup()
    tally = Tally(target.name, out)
    deadline = time.monotonic() + seconds

    @settings(
        max_examples=runs,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(target.inputs())
    def fuzz(data: bytes) -> None:
        if time.monotonic() < deadline:
            tally.run(check, data)

    fuzz()
    result = tally.as_dict()
    result["coverage"] = "-"
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    targets = load_targets()
    parser.add_argument("--targets", nargs="+", choices=sorted(targets), default=sorted(targets))
    parser.add_argument("--runs", type=int, default=1_000_000, help="inputs per target (default 1,000,000)")
    parser.add_argument("--seconds", type=float, default=3600, help="time limit per target")
    parser.add_argument("--engine", choices=["auto", "atheris", "hypothesis"], default="auto")
    parser.add_argument("--out", type=Path, default=Path("var/fuzz"), help="where failing inputs are saved")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--stats", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _atheris_child(targets[args.child], args.runs, args.seconds, args.stats, args.out)
        return 0
    engine = args.engine
    if engine == "auto":
        engine = "atheris" if importlib.util.find_spec("atheris") else "hypothesis"
    run = _run_atheris if engine == "atheris" else _run_hypothesis
    print(f"fuzz: engine {engine}, up to {args.runs:,} inputs or {args.seconds:.0f} s per target", flush=True)
    print(f"{'target':<18}{'inputs':>12}{'failures':>10}{'distinct':>10}{'seconds':>10}{'inputs/s':>10}  coverage")
    failed = 0
    for name in args.targets:
        result = run(targets[name], args.runs, args.seconds, args.out)
        rate = result["inputs"] / result["seconds"] if result["seconds"] else 0.0
        print(
            f"{name:<18}{result['inputs']:>12,}{result['failures']:>10,}{len(result['distinct']):>10}"
            f"{result['seconds']:>10.1f}{rate:>10,.0f}  {result['coverage']}",
            flush=True,
        )
        for signature, path in result["distinct"].items():
            print(f"    {signature}  (input: {path})")
        failed += result["failures"]
    print(f"machine: {describe_machine()}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

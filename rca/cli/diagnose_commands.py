"""`rca diagnose`: rank root causes of exported case folders offline; `rca diagnose import` converts public datasets."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from rca.cli.arguments import positive_int
from rca.cli.errors import UserError

DESCRIPTION = """\
Diagnose an exported incident offline: the case folder's topology is reconciled into a throwaway
embedded graph (a temporary directory, never the configured graph), its logs go through the
syslog pipeline, its metrics through the metrics detector, and Infer ranks every entity of the
topology over a real gRPC channel on an in-process RootCause service.

  rca diagnose CASE_DIR [--json] [--top N]     one case
  rca diagnose --all DIR [--json]              every case folder under DIR, one graph and one service
  rca diagnose import nezha DIR OUT            Nezha's TrainTicket/OnlineBoutique layout -> case folders
  rca diagnose import rcaeval DIR OUT          RCAEval RE1/RE2/RE3 case layout -> case folders

A case folder holds:
  case.yaml      alert: {at: ISO time or unix seconds, symptoms: [{entity: ID, family: latency}]}
                 signals: {NAME: FAMILY}   (optional: families of signal names the project does not know)
                 root_causes: [ID, ...]    (optional: scored as AC@1, AC@3, Avg@5)
  topology.yaml  the project's topology format (`rca topology schema`)
  metrics.csv    `time` (unix s/ms/us/ns or ISO), then one column per `entity/signal`, e.g. checkout/latency_p99
  logs/          optional: raw syslog lines, or TIME<TAB>ENTITY<TAB>MESSAGE lines (.gz allowed)

--json prints {"ranking": [{"entity": ..., "score": ...}, ...], "incident": ...}, best first, every
entity of the topology (those outside the neighbourhood Infer walked come last with score 0);
with --all one {"case": NAME, "ranking": [...]} line per case, then {"summary": {...}} when the
cases name their root causes. Errors name the file, line and column or field.

Importers (details: docs/diagnose.md):
  nezha    DIR holds rca_data/<day>/ (fault_list.json, metric/, log/) and call_graph_from_traces.json;
           one case per fault: a service per pod (hash suffix dropped) with `calls` from the traces'
           call graph; 14 pod metric kinds from 70 min before the injection to 5 min after; the log
           minutes of the same span, with the day's fault-free reference minutes (construct_data/
           <day>/log/), each row once; alert 2 min after the injection on the trace entry service's
           latency; root cause the injected pod's service.
  rcaeval  folders <service>_<fault>/<n>/ with data.csv (or metrics.csv) and inject_time.txt; root
           cause and fault from the folder name; families from metric names (others left out and
           counted). With traces.csv (RE2, RE3): `calls` from the spans' parents, the entry service
           the one root spans start in, and each service's own requests as the series
           trace_latency_p90_s and trace_error_ratio; without, the entry service (frontend, gateway,
           ui-dashboard; else the first by name) `calls` every other service. logs.csv (RE2, RE3)
           becomes logs/ (containers and pods mapped to their services; others left out and
           counted). Alert 60 s after the injection on the entry service's latency.
"""


def add_parser(subparsers) -> None:
    """Register `rca diagnose`."""
    parser = subparsers.add_parser(
        "diagnose",
        help="rank root causes of exported case folders offline (throwaway graph); import public datasets",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("case_dir", nargs="?", help="a case folder, or `import` followed by LAYOUT DIR OUT")
    parser.add_argument("rest", nargs="*", help=argparse.SUPPRESS)
    parser.add_argument("--all", type=Path, metavar="DIR", help="diagnose every case folder under DIR")
    parser.add_argument("--json", action="store_true", help="print JSON (one object per line with --all)")
    parser.add_argument(
        "--top", type=positive_int, default=5, help="candidates shown with paths and evidence (default 5)"
    )
    parser.set_defaults(handler=run_diagnose)


def run_diagnose(args: argparse.Namespace, settings) -> int:
    """Dispatch: import, --all, or one case."""
    if args.case_dir == "import":
        from rca.cli.diagnose.importers import run_import

        return run_import(args.rest)
    if args.rest:
        raise UserError(f"diagnose: unexpected arguments {' '.join(args.rest)}")
    if (args.all is None) == (args.case_dir is None):
        raise UserError("diagnose: give one CASE_DIR, or --all DIR (see `rca diagnose --help`)")
    if args.all is not None:
        return _run_all(args.all, args.json, settings)
    return _run_one(Path(args.case_dir), args.json, args.top, settings)


def case_folders(folder: Path) -> list[Path]:
    """The case folders under ``folder`` (those holding a case.yaml), in name order."""
    if not folder.is_dir():
        raise UserError(f"{folder}: not a directory")
    found = sorted(p.parent for p in folder.glob("*/case.yaml"))
    if not found:
        raise UserError(f"{folder}: no case folders (sub-folders holding case.yaml)")
    return found


def _load(path: Path, session_known):
    from rca.cli.diagnose.case import load_case

    return load_case(path, {name: t.family for name, t in session_known.items()})


def _run_one(path: Path, as_json: bool, top: int, settings) -> int:
    from rca.cli.diagnose.errors import CaseError
    from rca.cli.diagnose.report import case_json, case_text
    from rca.cli.diagnose.session import open_session, project_signals

    try:
        case = _load(path, project_signals(settings.metrics))
    except CaseError as exc:
        raise UserError(str(exc)) from None
    with open_session(settings) as session:
        result = session.run(case)
    print(case_json(result) if as_json else case_text(result, top))
    if as_json:
        warn_notes(result)
    return 0


def warn_notes(result) -> None:
    """What the readable report says about the input (metrics not judged, bad cells), on stderr for --json.

    --json prints the ranking alone; without these a case whose metrics could not be judged at all (an
    alert far from them) would rank on its logs and topology with nothing saying so.
    """
    for note in [*result.notes, *(f"bad input: {problem}" for problem in result.metric_problems)]:
        print(f"rca: note: {result.case.name}: {note}", file=sys.stderr)


def _run_all(folder: Path, as_json: bool, settings) -> int:
    import json

    from rca.cli.diagnose.errors import CaseError
    from rca.cli.diagnose.report import all_case_json, all_line_text, summary, summary_text
    from rca.cli.diagnose.session import open_session, project_signals

    paths = case_folders(folder)
    known = project_signals(settings.metrics)
    results, failed = [], []
    with open_session(settings) as session:
        started = time.monotonic()
        for path in paths:
            try:
                case = _load(path, known)
            except CaseError as exc:
                failed.append(str(exc))
                print(f"rca: error: {exc}", file=sys.stderr)
                continue
            result = session.run(case)
            results.append(result)
            print(all_case_json(result) if as_json else all_line_text(result), flush=True)
            if as_json:
                warn_notes(result)
        seconds = time.monotonic() - started
    if as_json:
        figures = summary(results, seconds)
        if figures is not None:
            print(json.dumps({"summary": figures}))
        rate = len(results) / seconds if seconds > 0 else 0.0
        print(f"{len(results)} cases in {seconds:.1f} s ({rate:.2f} cases/s)", file=sys.stderr)
    else:
        print(summary_text(results, seconds))
    if failed:
        print(f"rca: error: {len(failed)} of {len(paths)} case folders could not be read (above)", file=sys.stderr)
        return 2
    return 0

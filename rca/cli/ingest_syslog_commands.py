"""`rca ingest syslog`: receive syslog over UDP/TCP, from files or stdin, into aggregated graph events."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path
from typing import BinaryIO, TextIO
from zoneinfo import ZoneInfo

from graph_schema.connection import open_graph
from ingest.syslog.addresses import DEFAULT_HOST, format_address, parse_address
from ingest.syslog.listeners import SyslogListeners
from ingest.syslog.parser import SyslogParser
from ingest.syslog.pipeline import SyslogPipeline
from ingest.syslog.templates import LogTemplates, load_masks
from ingest.syslog.worker_metrics import SyslogMetrics
from rca.cli.errors import UserError
from settings.ingest import SyslogSettings

log = logging.getLogger(__name__)


def add_parser(group) -> None:
    """Register `rca ingest syslog` in the `ingest` group."""
    parser = group.add_parser(
        "syslog",
        help="ingest syslog (RFC 5424/3164) over UDP, TCP, files or stdin",
        description="Parse syslog lines, mine templates, classify and aggregate them into :Event and "
        ":Change nodes. Runs until Ctrl-C or SIGTERM (or, with only '-', until stdin ends), then flushes. "
        "'rca ingest syslog templates' only mines: it prints TEMPLATE_ID<TAB>TEMPLATE for each line on "
        "stdin, in order, as the worker with these settings would assign them (no graph, no state).",
    )
    where = f"HOST:PORT, PORT or [IPv6]:PORT; no host means {DEFAULT_HOST}, all interfaces is 0.0.0.0:PORT or [::]:PORT"
    parser.add_argument(
        "--udp", action="append", default=[], metavar="HOST:PORT", help=f"listen for UDP datagrams ({where})"
    )
    parser.add_argument(
        "--tcp",
        action="append",
        default=[],
        metavar="HOST:PORT",
        help="accept TCP, octet-counted or LF (same address forms; idle connections are closed after "
        "RCA_SYSLOG__TCP_IDLE_TIMEOUT_S, at most RCA_SYSLOG__TCP_MAX_CONNECTIONS open)",
    )
    parser.add_argument(
        "--relp",
        action="append",
        default=[],
        metavar="HOST:PORT",
        help="accept RELP (acknowledged syslog, rsyslog's omrelp; same address forms): a message is "
        "answered 200 OK only once it is journaled and synced",
    )
    parser.add_argument("--file", action="append", default=[], type=Path, metavar="PATH", help="follow a file")
    parser.add_argument(
        "stdin",
        nargs="?",
        choices=["-", "templates"],
        help="'-' reads lines from stdin; 'templates' prints each stdin line's template id and template instead "
        "of ingesting (ids are the miner's numbers; the worker prefixes them with its state's uid; the "
        "template is its text once all lines were read)",
    )
    parser.add_argument(
        "--bodies",
        action="store_true",
        help="with 'templates': stdin holds message bodies, not syslog lines (no header is parsed off)",
    )
    parser.add_argument(
        "--metrics", metavar="HOST:PORT", help=f"serve Prometheus self metrics here (port alone: {DEFAULT_HOST})"
    )
    parser.add_argument("--state-dir", type=Path, help="state directory (default: RCA_SYSLOG__STATE_DIR)")
    parser.set_defaults(handler=run_syslog)


def run_syslog(args: argparse.Namespace, settings) -> int:
    if args.stdin == "templates":
        if args.udp or args.tcp or args.relp or args.file or args.metrics or args.state_dir:
            raise UserError("'templates' reads stdin only: it takes no listeners, --metrics or --state-dir")
        print_templates(sys.stdin.buffer, sys.stdout, settings.syslog, bodies=args.bodies)
        return 0
    if args.bodies:
        raise UserError("--bodies goes with 'templates' only")
    if not (args.udp or args.tcp or args.relp or args.file or args.stdin):
        raise UserError("give at least one input: --udp, --tcp, --relp, --file or '-'")
    udp = [_address("--udp", a) for a in args.udp]
    tcp = [_address("--tcp", a) for a in args.tcp]
    relp = [_address("--relp", a, 2514) for a in args.relp]
    metrics_address = _address("--metrics", args.metrics, 9514) if args.metrics else None
    syslog = settings.syslog.model_copy(update={"state_dir": args.state_dir}) if args.state_dir else settings.syslog
    # Writes give up sooner than the default so that an outage fills the buffer instead of stalling.
    graph = settings.graph.model_copy(update={"max_retry_time_s": syslog.write_retry_time_s})
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    with open_graph(graph) as store:
        metrics = SyslogMetrics()
        if metrics_address:
            metrics.serve(*metrics_address)
        pipeline = SyslogPipeline(syslog, store, metrics).start()
        listeners = SyslogListeners(pipeline, syslog.file_poll_interval_s)
        try:
            for host, port in udp:
                print(f"listening on udp {format_address(listeners.add_udp(host, port))}", flush=True)
            for host, port in tcp:
                print(f"listening on tcp {format_address(listeners.add_tcp(host, port))}", flush=True)
            for host, port in relp:
                print(f"listening on relp {format_address(listeners.add_relp(host, port))}", flush=True)
        except OSError as exc:
            listeners.stop()
            pipeline.stop()
            raise UserError(f"cannot listen: {exc}") from None
        for path in args.file:
            listeners.add_file(path)
        if args.stdin:
            only_stdin = not (udp or tcp or relp or args.file)
            listeners.add_stdin(on_eof=stop.set if only_stdin else None)
        stop.wait()
        listeners.stop()
        complete = pipeline.stop()
    print(
        f"processed {pipeline.lines_processed} lines; "
        + ("all written" if complete else f"unwritten batches kept in {pipeline.paths.spool}")
    )
    return 0 if complete else 1


def print_templates(lines: BinaryIO, out: TextIO, syslog: SyslogSettings, *, bodies: bool = False) -> None:
    """TEMPLATE_ID<TAB>TEMPLATE per input line, mined as the worker does: its parser, its masks."""
    templates = LogTemplates(
        load_masks(extra=[m.model_dump() for m in syslog.extra_masks]), max_templates=syslog.max_templates
    )
    parser = SyslogParser(default_tz=ZoneInfo(syslog.default_timezone))
    ids = []
    for raw in lines:
        line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
        ids.append(templates.add(line if bodies else parser.parse(line).message))
    for template_id in ids:
        out.write(f"{template_id}\t{templates.template(template_id)}\n")


def _address(flag: str, text: str, default_port: int = 514) -> tuple[str, int]:
    try:
        return parse_address(text, default_port)
    except ValueError as exc:
        raise UserError(f"bad {flag} address {exc}") from None

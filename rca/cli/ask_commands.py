"""`rca ask`: ask a running RootCause service a question in plain English."""

from __future__ import annotations

import argparse
import json

from rca.cli import arguments
from rca.cli.service_client import add_connection_arguments, connect


def add_parser(subparsers) -> None:
    """Register `rca ask`."""
    ask = subparsers.add_parser(
        "ask",
        help='ask the service a question in plain English ("why did checkout fail")',
        description="Calls Ask on a running `rca serve`: root causes (through Infer), changes, dependencies, "
        "dependents (blast radius), anomalies, top errors, incidents and an entity's health, in plain English; "
        "a question may ask several of them ('what changed and who calls payment'): each is answered in turn, "
        'and --json adds their "parts" (docs/ask.md).',
    )
    ask.add_argument("question", help='the question, e.g. "what changed on payment in the last hour"')
    ask.add_argument("--now", help="reference time: ISO 8601, epoch seconds or now-2h (default: the server's clock)")
    ask.add_argument(
        "--tz", help="IANA time zone for 'today' or '14:00' (default: the server's, RCA_SERVICE__ASK__TIME_ZONE)"
    )
    ask.add_argument("--max-rows", type=int, default=0, help="rows to list at most (default: the server's, 20)")
    add_connection_arguments(ask, timeout_s=30.0)
    ask.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    ask.set_defaults(handler=run_ask)


def run_ask(args: argparse.Namespace, settings) -> int:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    import grpc

    from rca.cli.errors import UserError
    from rca.service.ask_report import ask_json, format_ask
    from rca.service.stubs import pb

    try:
        now = arguments.parse_time(args.now) if args.now else 0.0
    except ValueError as exc:
        raise UserError(f"--now: {exc}") from None
    zone_name = args.tz or settings.service.ask.time_zone
    try:
        zone = ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise UserError(f"--tz: {zone_name!r} is not an IANA time zone (e.g. UTC, Europe/Paris)") from None
    if args.max_rows < 0:
        raise UserError(f"--max-rows: must not be negative, got {args.max_rows}")
    client, target = connect(args, settings)
    request = pb.AskRequest(question=args.question, now=now, time_zone=args.tz or "", max_rows=args.max_rows)
    try:
        response = client.stub.Ask(request, timeout=client.timeout_s, metadata=client.metadata)
    except grpc.RpcError as exc:
        raise UserError(f"Ask at {target} failed: {exc.code().name}: {exc.details()}") from None
    finally:
        client.close()
    if args.json:
        print(json.dumps(ask_json(response, zone), ensure_ascii=False))
    else:
        print(format_ask(response, zone))
    return 0

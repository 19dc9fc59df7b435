"""`rca infer`: ask a running RootCause service for the root causes of symptoms."""

from __future__ import annotations

import argparse
import json

from rca.cli import arguments
from rca.cli.service_client import add_connection_arguments, connect


def add_parser(subparsers) -> None:
    """Register `rca infer`."""
    infer = subparsers.add_parser(
        "infer",
        help="rank root causes of symptoms through the gRPC service",
        description="Calls Infer on a running `rca serve` and prints the ranking and the propagation paths.",
    )
    infer.add_argument(
        "--symptom",
        action="append",
        required=True,
        metavar="ENTITY:FAMILY",
        help="e.g. checkout:errors (family: latency, errors, saturation, traffic); "
        "id=ENTITY_ID:FAMILY names an id; repeat for several",
    )
    infer.add_argument("--at", help="when the symptoms were observed: epoch seconds, now-5m or ISO 8601 (default: now)")
    infer.add_argument("--top-k", type=int, default=0, help="candidates to return (default: the server's, 5)")
    infer.add_argument(
        "--max-hops",
        type=int,
        default=0,
        help="neighbourhood radius (default 0: the server's, 3, grown to 5 when anomalies reach its edge)",
    )
    add_connection_arguments(infer, timeout_s=10.0)
    infer.add_argument("--json", action="store_true", help="print the response as JSON")
    infer.set_defaults(handler=run_infer)


def parse_time(text: str | None) -> float:
    """Epoch seconds, ISO 8601 (UTC unless it says otherwise) or now-2h; 0 for None (the server's now)."""
    from rca.cli.errors import UserError

    if not text:
        return 0.0
    try:
        return arguments.parse_time(text)
    except ValueError as exc:
        raise UserError(f"--at: {exc}") from None


def run_infer(args: argparse.Namespace, settings) -> int:
    import grpc
    from google.protobuf import json_format

    from rca.cli.errors import UserError
    from rca.service.client import parse_symptom
    from rca.service.report import format_infer
    from rca.service.stubs import pb

    at = parse_time(args.at)
    try:
        symptoms = [parse_symptom(text, at) for text in args.symptom]
    except ValueError as exc:
        raise UserError(f"--symptom: {exc}") from None
    client, target = connect(args, settings)
    request = pb.InferRequest(symptoms=symptoms, top_k=args.top_k, max_hops=args.max_hops)
    try:
        response = client.infer(request)
    except grpc.RpcError as exc:
        raise UserError(f"Infer at {target} failed: {exc.code().name}: {exc.details()}") from None
    finally:
        client.close()
    if args.json:
        print(json.dumps(json_format.MessageToDict(response, preserving_proto_field_name=True), indent=2))
    else:
        print(format_infer(response))
    return 0

"""`rca infer`: ask a running RootCause service for the root causes of symptoms."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rca.cli import arguments


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
    infer.add_argument("--target", help="host:port of the service (default 127.0.0.1:RCA_SERVICE__PORT)")
    infer.add_argument("--ca-cert", type=Path, help="CA certificate to verify a TLS server (turns TLS on)")
    infer.add_argument("--server-name", help="TLS name to expect when it differs from the target host")
    infer.add_argument("--token-file", type=Path, help="file holding the bearer token (or RCA_SERVICE__TOKEN)")
    infer.add_argument("--timeout", type=float, default=10.0, help="deadline in seconds (default 10)")
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
    from rca.service.client import RootCauseClient, open_channel, parse_symptom
    from rca.service.report import format_infer
    from rca.service.stubs import pb

    at = parse_time(args.at)
    try:
        symptoms = [parse_symptom(text, at) for text in args.symptom]
    except ValueError as exc:
        raise UserError(f"--symptom: {exc}") from None
    token = settings.service.token.get_secret_value() if settings.service.token else None
    if args.token_file:
        try:
            token = args.token_file.read_text().strip()
        except OSError as exc:
            raise UserError(f"--token-file: cannot read {args.token_file}: {exc.strerror}") from None
    target = args.target or f"127.0.0.1:{settings.service.port}"
    client = RootCauseClient(
        open_channel(target, ca_cert=args.ca_cert, server_name=args.server_name), token=token, timeout_s=args.timeout
    )
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

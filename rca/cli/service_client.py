"""What every command that calls a running `rca serve` shares: where it is, TLS, the bearer token, the deadline."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_connection_arguments(parser: argparse.ArgumentParser, timeout_s: float) -> None:
    """--target, --ca-cert, --server-name, --token-file and --timeout (default ``timeout_s``)."""
    parser.add_argument("--target", help="host:port of the service (default 127.0.0.1:RCA_SERVICE__PORT)")
    parser.add_argument("--ca-cert", type=Path, help="CA certificate to verify a TLS server (turns TLS on)")
    parser.add_argument("--server-name", help="TLS name to expect when it differs from the target host")
    parser.add_argument("--token-file", type=Path, help="file holding the bearer token (or RCA_SERVICE__TOKEN)")
    parser.add_argument("--timeout", type=float, default=timeout_s, help=f"deadline in seconds (default {timeout_s:g})")


def connect(args: argparse.Namespace, settings):
    """(a RootCauseClient to the service the arguments name, its target); UserError for an unreadable token file."""
    from rca.cli.errors import UserError
    from rca.service.client import RootCauseClient, open_channel

    token = settings.service.token.get_secret_value() if settings.service.token else None
    if args.token_file:
        try:
            token = args.token_file.read_text().strip()
        except OSError as exc:
            raise UserError(f"--token-file: cannot read {args.token_file}: {exc.strerror}") from None
    target = args.target or f"127.0.0.1:{settings.service.port}"
    channel = open_channel(target, ca_cert=args.ca_cert, server_name=args.server_name)
    return RootCauseClient(channel, token=token, timeout_s=args.timeout), target

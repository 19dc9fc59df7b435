"""`rca bridge alertmanager`: Alertmanager's webhook in, Infer per alert group, diagnoses to receivers."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(subparsers) -> None:
    """Register `rca bridge alertmanager`."""
    bridge = subparsers.add_parser("bridge", help="bridges from alerting systems to the RootCause service")
    kinds = bridge.add_subparsers(dest="bridge", metavar="KIND", required=True)
    am = kinds.add_parser(
        "alertmanager",
        help="receive Alertmanager webhooks (payload version 4) and deliver root-cause diagnoses",
        description="Receives Alertmanager's webhook at POST /alerts, calls Infer once per new or changed alert "
        "group (never on a repeat), and delivers each diagnosis to the configured receivers (RCA_BRIDGE__RECEIVERS: "
        "log, webhook, slack). GET /status lists the groups, GET /metrics the bridge's own metrics. Binds loopback "
        "unless told otherwise; a bearer token (RCA_BRIDGE__TOKEN_FILE) and TLS (RCA_BRIDGE__TLS_CERT/KEY) are "
        "optional.",
    )
    am.add_argument("--listen", help="HOST:PORT to bind (default RCA_BRIDGE__LISTEN, 127.0.0.1:9095)")
    am.add_argument("--target", help="HOST:PORT of the RootCause service (default RCA_BRIDGE__TARGET)")
    am.add_argument("--token-file", type=Path, help="bearer token Alertmanager must send (RCA_BRIDGE__TOKEN_FILE)")
    am.set_defaults(handler=run_alertmanager)


def _read_token(path: Path | None, what: str) -> str | None:
    from rca.cli.errors import UserError

    if path is None:
        return None
    try:
        token = path.read_text().strip()
    except OSError as exc:
        raise UserError(f"{what}: cannot read {path}: {exc.strerror}") from None
    if not token:
        raise UserError(f"{what}: {path} is empty")
    return token


def run_alertmanager(args: argparse.Namespace, settings) -> int:
    from aiohttp import web

    from rca.bridge.app import Bridge, ssl_context
    from rca.bridge.mapping import MappingError, load_mapping
    from rca.cli.errors import UserError
    from rca.service.client import RootCauseClient, open_channel

    bridge_settings = settings.bridge.model_copy(
        update={
            k: v
            for k, v in (("listen", args.listen), ("target", args.target), ("token_file", args.token_file))
            if v is not None
        }
    )
    host, sep, port = bridge_settings.listen.rpartition(":")
    if not sep or not port.isdigit():
        raise UserError(f"--listen: expected HOST:PORT, got {bridge_settings.listen!r}")
    try:
        mapping = load_mapping(bridge_settings.mapping_file)
    except MappingError as exc:
        raise UserError(str(exc)) from None
    token = _read_token(bridge_settings.token_file, "token_file")
    if token is None and bridge_settings.token is not None:
        token = bridge_settings.token.get_secret_value() or None
    service_token = _read_token(bridge_settings.service_token_file, "service_token_file")
    client = RootCauseClient(
        open_channel(bridge_settings.target, ca_cert=bridge_settings.service_ca_cert),
        token=service_token,
        timeout_s=bridge_settings.infer_timeout_s,
    )
    bridge = Bridge(bridge_settings, mapping, client, token=token)
    context = ssl_context(bridge_settings)
    scheme = "https" if context else "http"
    print(
        f"Alertmanager bridge on {scheme}://{bridge_settings.listen}/alerts -> RootCause at "
        f"{bridge_settings.target}; Ctrl-C stops it",
        flush=True,
    )
    try:
        web.run_app(
            bridge.app(),
            host=host.strip("[]") or "127.0.0.1",
            port=int(port),
            ssl_context=context,
            print=None,
            handle_signals=True,
        )
    finally:
        client.close()
    return 0

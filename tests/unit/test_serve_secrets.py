"""`rca serve` says so when a secret's file is open to other users (issue 20, finding 9)."""

from __future__ import annotations

import argparse
import logging

import pytest

from rca.cli import serve_commands
from settings.root import load_settings


def _args(token_file) -> argparse.Namespace:
    flags = ("host", "port", "tls_cert", "tls_key", "workers", "processes", "metrics_port")
    return argparse.Namespace(**dict.fromkeys(flags), token_file=token_file)


@pytest.mark.parametrize("mode, warned", [(0o644, True), (0o640, True), (0o600, False), (0o400, False)])
def test_a_token_file_readable_by_others_is_warned_about(tmp_path, caplog, mode, warned):
    token_file = tmp_path / "token"
    token_file.write_text("t0ken\n")
    token_file.chmod(mode)
    with caplog.at_level(logging.WARNING, logger=serve_commands.__name__):
        service = serve_commands.service_settings(_args(token_file), load_settings())
    assert service.token is not None and service.token.get_secret_value() == "t0ken"
    lines = [r.getMessage() for r in caplog.records if "open to other users" in r.getMessage()]
    if warned:
        expected = (
            f"--token-file {token_file} is open to other users (mode {mode:04o}): whoever reads it can call the "
            f"service as you; chmod 600 {token_file}"
        )
        assert lines == [expected]
    else:
        assert lines == []

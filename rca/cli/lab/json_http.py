"""The small JSON-over-HTTP handler base the lab's loopback servers share (service hosts, control API)."""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler


class JsonHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 handler with JSON helpers; no access log (the metrics count requests)."""

    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):
        return

    def read_json(self) -> dict:
        """The request body as a JSON object (empty body: {}); raises ValueError for anything else."""
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        if not isinstance(body, dict):
            raise ValueError("the body must be a JSON object")
        return body

    def send_json(self, status: int, body: dict) -> None:
        """Answer ``status`` with ``body`` as JSON."""
        self.send_bytes(status, json.dumps(body).encode(), "application/json")

    def send_bytes(self, status: int, payload: bytes, content_type: str) -> None:
        """Answer ``status`` with ``payload``."""
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

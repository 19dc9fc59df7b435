"""A webhook receiver on a loopback port: keeps what it is sent and when, or refuses everything while `down`."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Receiver:
    """Records each JSON body posted to it (`bodies`) and its arrival time (`arrivals`, perf_counter)."""

    def __init__(self) -> None:
        self.bodies: list[dict] = []
        self.arrivals: list[float] = []
        self.down = False
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if outer.down:
                    self.send_response(500)
                else:
                    outer.arrivals.append(time.perf_counter())
                    outer.bodies.append(json.loads(body))
                    self.send_response(204)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        """Stop listening."""
        self.server.shutdown()

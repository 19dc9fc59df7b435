"""A small fake language-model server (OpenAI-compatible /chat/completions and Ollama /api/chat) on loopback.

It answers every request with the content it is told to (``reply``), or misbehaves as told (``mode``:
"ok", "slow" past the client's timeout, "error" with HTTP 500, "garbage" that is not JSON), and keeps
the requests it got. For the tests of rca/nlq/llm.py's fallback; no real model.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeLanguageModel:
    """The server; use as a context manager, read ``url`` and ``requests``, set ``reply`` and ``mode``."""

    def __init__(self, reply: dict | None = None, mode: str = "ok", delay_s: float = 3.0):
        self.reply = reply or {"intent": "health", "entities": []}
        self.mode = mode
        self.delay_s = delay_s
        self.requests: list[tuple[str, dict]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.requests.append((self.path, body))
                if fake.mode == "slow":
                    time.sleep(fake.delay_s)
                if fake.mode == "error":
                    self.send_error(500, "model crashed")
                    return
                content = "not json {" if fake.mode == "garbage" else json.dumps(fake.reply)
                message = {"role": "assistant", "content": content}
                payload = {"message": message} if self.path == "/api/chat" else {"choices": [{"message": message}]}
                data = json.dumps(payload).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """Base URL (the OpenAI-compatible routes hang off it directly, as off a /v1 base)."""
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> FakeLanguageModel:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

"""RFC 5424 lines over TCP (octet-counted framing) from a lab process to the project's syslog worker.

Sending happens on a background thread from a bounded queue, so a slow or absent worker never slows
a request down; a line that does not fit is counted, not waited for. Every line is also appended to
``WORKDIR/logs/ENTITY.log`` as ``TIME<TAB>ENTITY<TAB>MESSAGE`` (the `rca diagnose` case format), so a
scenario's recorder can copy the window without asking the graph.
"""

from __future__ import annotations

import os
import queue
import socket
import threading
from datetime import UTC, datetime
from pathlib import Path

SEVERITIES = {"emerg": 0, "alert": 1, "crit": 2, "err": 3, "error": 3, "warning": 4, "warn": 4}
SEVERITIES |= {"notice": 5, "info": 6, "debug": 7}
LEVEL_WORDS = {0: "FATAL", 1: "FATAL", 2: "FATAL", 3: "ERROR", 4: "WARN", 5: "INFO", 6: "INFO", 7: "DEBUG"}
FACILITY_LOCAL0 = 16
QUEUE_LINES = 10_000


def logs_dir(workdir: Path) -> Path:
    """Where every lab process appends the lines it sends, one file per entity."""
    return Path(workdir) / "logs"


def rfc5424(severity: int, hostname: str, app_name: str, message: str, at: datetime, procid: int) -> bytes:
    """One RFC 5424 line: <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD MSG."""
    stamp = at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return f"<{FACILITY_LOCAL0 * 8 + severity}>1 {stamp} {hostname} {app_name} {procid} - - {message}".encode()


class SyslogSender:
    """Sends one entity's lines (hostname = its host, app-name = its name) to a TCP syslog receiver."""

    def __init__(self, address: str | None, hostname: str, app_name: str, workdir: Path) -> None:
        self.address = address  # HOST:PORT; None: only the copy in WORKDIR/logs
        self.hostname, self.app_name = hostname, app_name
        self.dropped = 0
        self._queue: queue.Queue[bytes] = queue.Queue(QUEUE_LINES)
        directory = logs_dir(workdir)
        directory.mkdir(parents=True, exist_ok=True)
        self._copy = open(directory / f"{app_name}.log", "a", encoding="utf-8")  # noqa: SIM115 (lives with us)
        self._copy_lock = threading.Lock()
        if address:
            threading.Thread(target=self._send_forever, name="syslog-sender", daemon=True).start()

    def log(self, severity: str, message: str) -> None:
        """Queue one line; the level word (ERROR, WARN, INFO) leads the message as applications write it."""
        code = SEVERITIES.get(severity.lower(), 6)
        message = f"{LEVEL_WORDS[code]} {message}".replace("\n", " ")
        now = datetime.now(UTC)
        with self._copy_lock:
            self._copy.write(f"{now.isoformat(timespec='milliseconds')}\t{self.app_name}\t{message}\n")
            self._copy.flush()
        if not self.address:
            return
        line = rfc5424(code, self.hostname, self.app_name, message, now, os.getpid())
        try:
            self._queue.put_nowait(line)
        except queue.Full:
            self.dropped += 1

    def flush(self, timeout_s: float = 2.0) -> None:
        """Wait (briefly) until the queued lines are sent: before a deliberate exit."""
        deadline = threading.Event()
        waited = 0.0
        while not self._queue.empty() and waited < timeout_s:
            deadline.wait(0.05)
            waited += 0.05

    def _send_forever(self) -> None:
        assert self.address is not None
        host, _, port = self.address.rpartition(":")
        connection: socket.socket | None = None
        pending: bytes | None = None
        while True:
            line = pending if pending is not None else self._queue.get()
            pending = line
            try:
                if connection is None:
                    connection = socket.create_connection((host, int(port)), timeout=5)
                connection.sendall(b"%d %s" % (len(line), line))
                pending = None
            except OSError:
                if connection is not None:
                    connection.close()
                connection = None
                threading.Event().wait(1.0)  # the worker is restarting or not up yet: keep the line, retry

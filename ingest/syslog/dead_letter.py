"""The rotating dead-letter file: lines we could not process, with the reason, one JSON per line."""

from __future__ import annotations

import base64
import json
import logging
import logging.handlers
import threading
import time
from pathlib import Path

from ingest.syslog.private_files import open_private, private_dir


class _PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """Size-rotated file whose every generation is created 0600 (the lines are raw log bytes)."""

    def _open(self):
        return open(self.baseFilename, self.mode, encoding=self.encoding, errors=self.errors, opener=open_private)


class DeadLetters:
    """Appends rejected lines to ``path`` (rotated by size), keeping the raw bytes recoverable."""

    def __init__(self, path: Path, max_bytes: int, backups: int, on_write=None):
        private_dir(path.parent)
        self.path = path
        # RotatingFileHandler gives size-based rotation and thread safety without our own code.
        self._handler = _PrivateRotatingFileHandler(path, maxBytes=max_bytes, backupCount=backups, encoding="utf-8")
        self._handler.setFormatter(logging.Formatter("%(message)s"))
        self._lock = threading.Lock()
        self._on_write = on_write

    def put(self, reason: str, raw: bytes, source: str = "", length: int | None = None) -> None:
        """Keep ``raw`` (base64, plus a readable preview) with the reason it was set aside."""
        entry = {
            "ts": time.time(),
            "reason": reason,
            "source": source,
            "length": len(raw) if length is None else length,
            "preview": raw[:200].decode("utf-8", errors="replace"),
            "raw_b64": base64.b64encode(raw).decode("ascii"),
        }
        record = logging.LogRecord("dead_letter", logging.ERROR, "", 0, json.dumps(entry), None, None)
        with self._lock:
            self._handler.emit(record)
        if self._on_write:
            self._on_write(reason)

    def close(self) -> None:
        """Flush and close the file."""
        self._handler.close()

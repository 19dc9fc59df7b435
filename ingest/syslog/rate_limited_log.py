"""A log line that repeats at most once per interval, saying how many were held back."""

from __future__ import annotations

import logging
import threading
import time


class RateLimitedLog:
    """Logs the first message, then at most one per ``interval_s`` with the count of those suppressed."""

    def __init__(self, logger: logging.Logger, interval_s: float, clock=time.monotonic):
        self.logger = logger
        self.interval_s = interval_s
        self._clock = clock
        self._last: float | None = None
        self._suppressed = 0
        self._lock = threading.Lock()

    def warning(self, message: str, *args) -> bool:
        """Log ``message % args`` at WARNING unless one was logged within the interval; True if logged."""
        now = self._clock()
        with self._lock:
            if self._last is not None and now - self._last < self.interval_s:
                self._suppressed += 1
                return False
            suppressed, self._suppressed, self._last = self._suppressed, 0, now
        if suppressed:
            message += " (and %d more like this since the last such line)"
            args = (*args, suppressed)
        self.logger.warning(message, *args)
        return True

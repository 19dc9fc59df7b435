"""The lab's user traffic: requests at the entry services at the estate's rates (lab.load), Poisson-timed.

Runs as threads of the supervisor: one scheduler per entry service draws exponential gaps (so the
traffic is bursty as users are) and hands each request to a small pool, so a slow service makes
requests pile up rather than slowing the schedule down. Counts what it sent and how it went.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import urllib3

MAX_IN_FLIGHT = 64  # requests waiting on slow services beyond this are skipped (counted), not queued for ever


class LoadGenerator:
    """Drives user requests at each entry service until stopped."""

    def __init__(self, targets: dict[str, tuple[str, float]], timeout_s: float) -> None:
        self.targets = targets  # entry service -> (url, requests per second)
        self.timeout_s = timeout_s
        self.outcomes: Counter[tuple[str, str]] = Counter()  # (service, status or error) -> requests
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._in_flight = threading.Semaphore(MAX_IN_FLIGHT)
        self._pool = ThreadPoolExecutor(max_workers=16, thread_name_prefix="loadgen")
        self._http = urllib3.PoolManager(maxsize=16, retries=False)
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        """Start one scheduler thread per entry service."""
        for service, (url, rate) in self.targets.items():
            thread = threading.Thread(
                target=self._drive, args=(service, url, rate), name=f"load-{service}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        """Stop scheduling; requests in flight end at their timeout."""
        self._stop.set()
        self._pool.shutdown(wait=False, cancel_futures=True)

    def summary(self) -> dict[str, dict[str, int]]:
        """Requests per entry service and outcome so far."""
        with self._lock:
            out: dict[str, dict[str, int]] = {}
            for (service, outcome), count in self.outcomes.items():
                out.setdefault(service, {})[outcome] = count
            return out

    def _drive(self, service: str, url: str, rate: float) -> None:
        # Arrival times on an absolute schedule: a thread that wakes late (a busy machine) sends the overdue
        # requests at once, so the rate holds; gaps slept one after the other would add every delay up.
        draw = random.Random()
        due = time.monotonic()
        while True:
            due += draw.expovariate(rate)
            if self._stop.wait(max(0.0, due - time.monotonic())):
                return
            if not self._in_flight.acquire(blocking=False):
                self._count(service, "skipped")
                continue
            try:
                self._pool.submit(self._request, service, url)
            except RuntimeError:  # the pool shut down meanwhile
                self._in_flight.release()
                return

    def _request(self, service: str, url: str) -> None:
        try:
            response = self._http.request("GET", url, timeout=self.timeout_s)
            self._count(service, str(response.status))
        except urllib3.exceptions.HTTPError as error:
            self._count(service, type(error).__name__)
        finally:
            self._in_flight.release()

    def _count(self, service: str, outcome: str) -> None:
        with self._lock:
            self.outcomes[(service, outcome)] += 1

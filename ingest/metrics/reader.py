"""Reads Prometheus through prometheus-api-client, with retries and clear error kinds."""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import requests
from prometheus_api_client import PrometheusApiClientException, PrometheusConnect
from urllib3.util.retry import Retry

from settings.ingest import MetricsSettings

log = logging.getLogger(__name__)


class PrometheusUnavailable(RuntimeError):
    """Prometheus could not be reached (or kept failing) after every retry."""


class QueryRejected(ValueError):
    """Prometheus refused a query (bad PromQL, bad range); the message is Prometheus's own."""


@dataclass
class Series:
    """One returned series: its labels and its finite samples; non-finite ones are counted."""

    labels: dict[str, str]
    ts: np.ndarray
    values: np.ndarray
    non_finite: int = 0
    history_from: float = float("-inf")  # start of the query that returned it
    keep_from: float = float("-inf")  # oldest sample the detector still needs


def _to_series(result: dict) -> Series:
    pairs = result.get("values") or ([result["value"]] if "value" in result else [])
    ts = np.fromiter((float(p[0]) for p in pairs), dtype=float, count=len(pairs))
    values = np.fromiter((float(p[1]) for p in pairs), dtype=float, count=len(pairs))  # "NaN", "+Inf" parse
    finite = np.isfinite(values)
    return Series(dict(result.get("metric") or {}), ts[finite], values[finite], int((~finite).sum()))


class PrometheusReader:
    """Range and instant queries against one Prometheus, retried with backoff on outages."""

    def __init__(self, settings: MetricsSettings, sleep=time.sleep):
        self.settings = settings
        self._sleep = sleep
        # Retries are ours (with our backoff and reporting); the client's adapter must not retry too.
        self._client = PrometheusConnect(
            url=settings.prometheus_url, disable_ssl=True, retry=Retry(total=0), timeout=settings.timeout_s
        )
        self.retries_used = 0

    def close(self) -> None:
        """Release the HTTP session."""
        self._client.close()

    def query_range(self, promql: str, start: float, end: float, step_s: float) -> list[Series]:
        """Series of a range query between two epoch times."""
        results = self._call(
            lambda: self._client.custom_query_range(promql, _dt(start), _dt(end), step=f"{step_s:g}s"),
            promql,
        )
        return [_to_series(r) for r in results]

    def query(self, promql: str, at: float) -> list[Series]:
        """Series of an instant query evaluated at ``at``."""
        results = self._call(lambda: self._client.custom_query(promql, params={"time": f"{at:.3f}"}), promql)
        return [_to_series(r) for r in results]

    def ready(self) -> bool:
        """True when Prometheus answers its readiness endpoint."""
        try:
            return requests.get(f"{self.settings.prometheus_url}/-/ready", timeout=self.settings.timeout_s).ok
        except requests.RequestException:
            return False

    def _call(self, fn, promql: str):
        delay = self.settings.backoff_s
        for attempt in range(self.settings.retries + 1):
            try:
                return fn()
            except PrometheusApiClientException as exc:
                text = str(exc)
                if not _is_server_error(text):
                    raise QueryRejected(_prometheus_error(text)) from None
                problem = text
            except (requests.ConnectionError, requests.Timeout) as exc:
                problem = f"{type(exc).__name__}: {exc}"
            if attempt == self.settings.retries:
                break
            self.retries_used += 1
            log.warning(
                "Prometheus at %s failed (%s); retry %d in %.1fs",
                self.settings.prometheus_url,
                _short(problem),
                attempt + 1,
                delay,
            )
            self._sleep(delay)
            delay = min(delay * 2, self.settings.backoff_max_s)
        raise PrometheusUnavailable(
            f"Prometheus at {self.settings.prometheus_url} unavailable after {self.settings.retries + 1} attempts: "
            f"{_short(problem)}"
        )


def _dt(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, tz=UTC)


def _is_server_error(text: str) -> bool:
    # the client reports "HTTP Status Code 503 (...)"; 4xx means Prometheus refused the query itself
    for code in (500, 502, 503, 504, 408, 429):
        if f"HTTP Status Code {code}" in text:
            return True
    return False


def _prometheus_error(text: str) -> str:
    marker = '"error":"'
    if marker in text:
        return text.split(marker, 1)[1].split('"', 1)[0].replace("\\\\", "\\")
    return _short(text)


def _short(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else text
    return line if len(line) <= 300 else line[:297] + "..."


def finite_or_none(value: float) -> float | None:
    """The value, or None when it is NaN or infinite."""
    return value if math.isfinite(value) else None

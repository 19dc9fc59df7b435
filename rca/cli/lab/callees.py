"""A lab service's outgoing calls: HTTP to other services, redis-py to redis, psycopg to PostgreSQL.

Each call is counted in ``http_client_requests_total{service,callee,code}`` (code: the HTTP status,
200 for a datastore answer, ``timeout``, ``refused``, ``reset``, ``error``) and timed in
``http_client_request_duration_seconds``; a failed call raises CalleeFailure with the line the
service logs (naming the callee) and the status the service answers its own caller.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from http import HTTPStatus

import psycopg
import redis
import urllib3
from prometheus_client import Counter, Histogram

from rca.cli.lab.fault_hooks import InjectedFailure

CALLS = Counter("http_client_requests_total", "outgoing calls", ["service", "callee", "code"])
CALL_DURATION = Histogram(
    "http_client_request_duration_seconds",
    "time of one outgoing call",
    ["service", "callee"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
POSTGRES_USER = "lab"
POSTGRES_DATABASE = "lab"


class CalleeFailure(Exception):
    """An outgoing call that failed: what to log and which status to answer."""

    def __init__(self, status: int, message: str, code: str) -> None:
        super().__init__(message)
        self.status, self.message, self.code = status, message, code


class Callees:
    """Clients of every callee of one service, addressed from the lab's addresses file."""

    def __init__(
        self, service: str, addresses: dict[str, dict], timeout_s: float, before_call: Callable[[str], None]
    ) -> None:
        self.service, self.addresses, self.timeout_s = service, addresses, timeout_s
        self.before_call = before_call  # the fault hook: may sleep, raise InjectedFailure or a reset
        self.http = urllib3.PoolManager(num_pools=32, maxsize=16, retries=False)
        self.redis: dict[str, redis.Redis] = {}

    def call(self, callee: str) -> None:
        """One call to ``callee``; raises CalleeFailure when it fails."""
        kind = self.addresses[callee]["kind"]
        started = time.perf_counter()
        code = "error"  # anything unforeseen (e.g. a fault hook's reset) still counts as a failed call
        try:
            self._before(callee)
            if kind == "service":
                code = self._http(callee)
            elif kind == "redis":
                code = self._redis(callee)
            else:
                code = self._postgres(callee)
        except CalleeFailure as failure:
            code = failure.code
            raise
        finally:
            CALLS.labels(self.service, callee, code).inc()
            CALL_DURATION.labels(self.service, callee).observe(time.perf_counter() - started)

    def _before(self, callee: str) -> None:
        try:
            self.before_call(callee)
        except InjectedFailure as failure:
            raise self._failure(callee, str(failure.status), HTTPStatus.BAD_GATEWAY, failure.reason) from None
        except ConnectionResetError:
            raise self._failure(callee, "reset", HTTPStatus.BAD_GATEWAY, "connection reset by peer") from None

    def _port(self, callee: str) -> int:
        return int(self.addresses[callee]["port"])

    def _http(self, callee: str) -> str:
        url = f"http://127.0.0.1:{self._port(callee)}/api"
        try:
            response = self.http.request("GET", url, timeout=self.timeout_s)
        except urllib3.exceptions.TimeoutError:
            raise self._failure(
                callee, "timeout", HTTPStatus.GATEWAY_TIMEOUT, f"timed out after {self._ms()} ms"
            ) from None
        except urllib3.exceptions.ProtocolError as error:
            reason = "connection reset by peer" if "reset" in str(error).lower() else f"connection closed ({error})"
            raise self._failure(callee, "reset", HTTPStatus.BAD_GATEWAY, reason) from None
        except urllib3.exceptions.HTTPError as error:
            reason = "connection refused" if "refused" in str(error).lower() else f"connection failed ({error})"
            raise self._failure(callee, "refused", HTTPStatus.BAD_GATEWAY, reason) from None
        if response.status >= 500:
            raise self._failure(
                callee, str(response.status), HTTPStatus.BAD_GATEWAY, f"upstream answered {response.status}"
            )
        return str(response.status)

    def _redis(self, callee: str) -> str:
        client = self.redis.get(callee)
        if client is None:
            client = self.redis[callee] = redis.Redis(
                host="127.0.0.1",
                port=self._port(callee),
                socket_timeout=self.timeout_s,
                socket_connect_timeout=self.timeout_s,
            )
        try:
            client.incr(f"{self.service}:requests")
        except redis.exceptions.TimeoutError:
            raise self._failure(
                callee, "timeout", HTTPStatus.GATEWAY_TIMEOUT, f"redis timed out after {self._ms()} ms"
            ) from None
        except redis.exceptions.ConnectionError as error:
            raise self._failure(
                callee, "refused", HTTPStatus.SERVICE_UNAVAILABLE, f"redis connection failed: {error}"
            ) from None
        except redis.exceptions.RedisError as error:
            raise self._failure(callee, "error", HTTPStatus.INTERNAL_SERVER_ERROR, f"redis error: {error}") from None
        return "200"  # a datastore answer counts as a success, as an HTTP 200 does

    def _postgres(self, callee: str) -> str:
        conninfo = (
            f"host=127.0.0.1 port={self._port(callee)} user={POSTGRES_USER} dbname={POSTGRES_DATABASE} "
            f"connect_timeout={max(2, round(self.timeout_s))} application_name={self.service}"
        )
        try:
            with psycopg.connect(conninfo, autocommit=True) as connection:
                connection.execute("SELECT 1").fetchone()
        except psycopg.errors.TooManyConnections as error:
            raise self._failure(
                callee, "refused", HTTPStatus.SERVICE_UNAVAILABLE, f"could not connect: {_first_line(error)}"
            ) from None
        except psycopg.OperationalError as error:
            text = _first_line(error)
            code = "timeout" if "timeout" in text.lower() else "refused"
            raise self._failure(callee, code, HTTPStatus.SERVICE_UNAVAILABLE, f"could not connect: {text}") from None
        except psycopg.Error as error:
            raise self._failure(callee, "error", HTTPStatus.INTERNAL_SERVER_ERROR, _first_line(error)) from None
        return "200"  # a datastore answer counts as a success, as an HTTP 200 does

    def _failure(self, callee: str, code: str, status: int, reason: str) -> CalleeFailure:
        return CalleeFailure(status, f"call to {callee} failed: {reason}", code)

    def _ms(self) -> int:
        return round(self.timeout_s * 1000)


def _first_line(error: Exception) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]

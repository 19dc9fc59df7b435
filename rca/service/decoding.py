"""Requests whose bytes are not a valid message: INVALID_ARGUMENT, counted, and one log line now and then.

gRPC decodes a request before any servicer code runs. When the decoder raises, gRPC itself answers
INTERNAL 'Exception deserializing request!' and logs a traceback for every such call, so a stream of
junk fills the log. The interceptor here wraps each method's decoder: a failure becomes a marker
request, which the wrapped method turns into INVALID_ARGUMENT 'request is not a valid <type>'
(rca_rpc_undecodable_total counts them) with at most one log line per interval.
"""

from __future__ import annotations

import functools
import logging
import threading
import time

import grpc
from google.protobuf import descriptor_pool

from rca.service import metrics

log = logging.getLogger(__name__)
LOG_INTERVAL_S = 10.0


class _Undecodable:
    """Stands in for a request whose bytes did not decode."""

    __slots__ = ("reason",)

    def __init__(self, reason: str):
        self.reason = reason


class RateLimitedLog:
    """Logs at most one warning per interval; the next one says how many were left out meanwhile."""

    def __init__(self, logger: logging.Logger, interval_s: float = LOG_INTERVAL_S):
        self._logger = logger
        self._interval_s = interval_s
        self._lock = threading.Lock()
        self._next_at = 0.0
        self._left_out = 0

    def warning(self, message: str, *args) -> bool:
        """Log ``message % args`` unless one was logged within the interval; True when it was logged."""
        with self._lock:
            now = time.monotonic()
            if now < self._next_at:
                self._left_out += 1
                return False
            left_out, self._left_out, self._next_at = self._left_out, 0, now + self._interval_s
        suffix = f" ({left_out} more like it in the last {self._interval_s:g} s not logged)" if left_out else ""
        self._logger.warning(message + suffix, *args)
        return True


@functools.lru_cache(maxsize=256)
def request_type_name(method: str) -> str:
    """The full name of a method's request message, e.g. rca.v1.InferRequest for /rca.v1.RootCause/Infer."""
    try:
        return descriptor_pool.Default().FindMethodByName(method.strip("/").replace("/", ".")).input_type.full_name
    except KeyError:
        return "request message"


class DecodeGuardInterceptor(grpc.ServerInterceptor):
    """Answers undecodable request bytes with INVALID_ARGUMENT instead of gRPC's INTERNAL and traceback."""

    def __init__(self, log_interval_s: float = LOG_INTERVAL_S):
        self._log_interval_s = log_interval_s
        self._logs: dict[str, RateLimitedLog] = {}  # one per method, so junk to one does not hide another's
        self._guarded_by_method: dict[str, tuple] = {}  # method -> (handler, its guarded copy), built once

    def intercept_service(self, continuation, handler_call_details):
        handler = continuation(handler_call_details)
        if handler is None or handler.request_deserializer is None or not hasattr(handler, "_replace"):
            return handler
        method = handler_call_details.method
        cached = self._guarded_by_method.get(method)
        if cached is None or cached[0] is not handler:
            cached = (handler, self._guarded(handler, method))
            self._guarded_by_method[method] = cached
        return cached[1]

    def _guarded(self, handler, method: str):
        decode = handler.request_deserializer
        type_name = request_type_name(method)
        method_log = self._logs.get(method) or self._logs.setdefault(method, RateLimitedLog(log, self._log_interval_s))

        def safe_decode(data: bytes):
            try:
                return decode(data)
            except Exception as exc:  # any decoder failure is the caller's bytes, not our bug
                return _Undecodable(f"{type(exc).__name__}: {str(exc)[:200]}")

        def refuse(request: _Undecodable, context) -> None:
            metrics.UNDECODABLE.labels(method).inc()
            if method.startswith("/rca.v1."):
                metrics.observe_call(method.rsplit("/", 1)[-1], grpc.StatusCode.INVALID_ARGUMENT.name)
            method_log.warning(
                "undecodable request to %s from %s: not a valid %s (%s)",
                method,
                context.peer(),
                type_name,
                request.reason,
            )
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"request is not a valid {type_name}")

        def checked(requests, context):
            for request in requests:
                if isinstance(request, _Undecodable):
                    refuse(request, context)
                yield request

        def guarded(behaviour):
            def call(request, context):
                if isinstance(request, _Undecodable):
                    refuse(request, context)
                return behaviour(request, context)

            return call

        if handler.unary_unary is not None:
            return handler._replace(request_deserializer=safe_decode, unary_unary=guarded(handler.unary_unary))
        if handler.unary_stream is not None:
            return handler._replace(request_deserializer=safe_decode, unary_stream=guarded(handler.unary_stream))
        if handler.stream_unary is not None:
            stream_unary = handler.stream_unary
            return handler._replace(
                request_deserializer=safe_decode,
                stream_unary=lambda requests, context: stream_unary(checked(requests, context), context),
            )
        stream_stream = handler.stream_stream
        return handler._replace(
            request_deserializer=safe_decode,
            stream_stream=lambda requests, context: stream_stream(checked(requests, context), context),
        )

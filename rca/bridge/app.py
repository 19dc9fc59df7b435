"""The bridge's HTTP side (aiohttp): Alertmanager's webhook in, a bounded queue, diagnoses out.

POST /alerts (and POST /) takes a notification and answers at once: 200 when it is accepted
(queued for diagnosis, or recognised as a repeat or a resolution), 400 naming the field when the
body cannot be read, 401 without the configured bearer token, 503 when the queue is full (so
Alertmanager retries later). One worker takes the queue in order: it calls Infer (in a thread: the
gRPC client blocks) and hands the diagnosis to the receivers. GET /status lists the alert groups
seen; GET /metrics serves the bridge's own counters; GET /healthz answers ok.

aiohttp was chosen for being the well-kept asyncio HTTP server and client in one: the webhook
side must answer quickly whatever the diagnosis and the deliveries are doing, and both run on the
same event loop.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import ssl
from dataclasses import dataclass

import aiohttp
import grpc
from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from rca.bridge.diagnosis import Diagnosis, diagnose
from rca.bridge.groups import AlertGroups
from rca.bridge.mapping import AlertMapping
from rca.bridge.payload import Notification, PayloadError, parse
from rca.bridge.receivers import Deliveries, Receiver
from rca.service.client import RootCauseClient
from settings.bridge import BridgeSettings

log = logging.getLogger(__name__)
CLOSED_BY = "alertmanager-bridge"  # who closes an incident whose alert group resolved


class BridgeMetrics:
    """The bridge's own metrics, on a registry of their own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.received = Counter(
            "rca_bridge_notifications_total",
            "Webhook notifications received, by outcome",
            ["outcome"],
            registry=self.registry,
        )
        self.diagnosed = Counter(
            "rca_bridge_diagnoses_total", "Diagnoses made (Infer calls that answered)", registry=self.registry
        )
        self.diagnosis_failures = Counter(
            "rca_bridge_diagnosis_failures_total", "Diagnoses whose Infer failed", registry=self.registry
        )
        self.delivered = Counter(
            "rca_bridge_deliveries_total", "Diagnoses delivered, by receiver kind", ["kind"], registry=self.registry
        )
        self.delivery_failures = Counter(
            "rca_bridge_delivery_failures_total",
            "Deliveries that failed after every retry, by receiver kind",
            ["kind"],
            registry=self.registry,
        )
        self.queue_depth = Gauge(
            "rca_bridge_queue_depth", "Notifications waiting for diagnosis", registry=self.registry
        )


@dataclass
class Job:
    """One queued notification and what the bridge decided to do with it."""

    notification: Notification
    action: str  # diagnose | close
    reason: str


class Bridge:
    """The webhook receiver with its queue, worker, alert groups and receivers."""

    def __init__(
        self, settings: BridgeSettings, mapping: AlertMapping, client: RootCauseClient, token: str | None = None
    ):
        self.settings, self.mapping, self.client, self.token = settings, mapping, client, token
        self.metrics = BridgeMetrics()
        self.groups = AlertGroups(settings.rediagnose_s)
        receivers = [Receiver(r.kind, r.url) for r in settings.receivers]
        self.deliveries = Deliveries(
            receivers,
            settings.delivery_attempts,
            settings.delivery_backoff_s,
            settings.delivery_timeout_s,
            self.metrics.delivered,
            self.metrics.delivery_failures,
        )
        self.queue: asyncio.Queue[Job] | None = None
        self._worker: asyncio.Task | None = None
        self._session: aiohttp.ClientSession | None = None

    def app(self) -> web.Application:
        """The aiohttp application (starts and stops the worker with itself)."""
        app = web.Application(client_max_size=self.settings.max_body_bytes)
        app.router.add_post("/alerts", self.receive)
        app.router.add_post("/", self.receive)
        app.router.add_get("/status", self.status)
        app.router.add_get("/metrics", self.prometheus)
        app.router.add_get("/healthz", self.healthz)
        app.on_startup.append(self._start)
        app.on_cleanup.append(self._stop)
        return app

    async def _start(self, _app: web.Application) -> None:
        self.queue = asyncio.Queue(maxsize=self.settings.queue_size)
        self._session = aiohttp.ClientSession()
        self._worker = asyncio.create_task(self._work(), name="rca-bridge-worker")

    async def _stop(self, _app: web.Application) -> None:
        if self._worker is not None:
            self._worker.cancel()
            try:
                await self._worker
            except asyncio.CancelledError:
                pass
        if self._session is not None:
            await self._session.close()

    async def receive(self, request: web.Request) -> web.Response:
        """Take one notification: 200 accepted, 400 unreadable, 401 no token, 503 queue full."""
        if self.token is not None and not _authorized(request, self.token):
            self.metrics.received.labels("unauthorized").inc()
            return web.json_response(
                {"error": "a valid bearer token is required"}, status=401, headers={"WWW-Authenticate": "Bearer"}
            )
        body = await request.content.read(self.settings.max_body_bytes + 1)
        if len(body) > self.settings.max_body_bytes:
            self.metrics.received.labels("invalid").inc()
            return web.json_response({"error": f"body exceeds {self.settings.max_body_bytes} bytes"}, status=400)
        try:
            notification = parse(body)
        except PayloadError as exc:
            self.metrics.received.labels("invalid").inc()
            return web.json_response({"error": str(exc)}, status=400)
        decision = self.groups.decide(notification)
        if decision.action in ("repeat", "ignore"):
            self.metrics.received.labels("deduplicated" if decision.action == "repeat" else "ignored").inc()
            return web.json_response({"accepted": True, "action": decision.action, "reason": decision.reason})
        assert self.queue is not None
        try:
            self.queue.put_nowait(Job(notification, decision.action, decision.reason))
        except asyncio.QueueFull:
            self.groups.failed(notification.groupKey, "queue full: the notification was refused with 503")
            self.metrics.received.labels("queue_full").inc()
            return web.json_response(
                {"error": "diagnosis queue is full; retry later"}, status=503, headers={"Retry-After": "5"}
            )
        self.metrics.queue_depth.set(self.queue.qsize())
        self.metrics.received.labels("accepted").inc()
        return web.json_response({"accepted": True, "action": decision.action, "reason": decision.reason})

    async def status(self, _request: web.Request) -> web.Response:
        """The alert groups seen, for operators and scripts."""
        depth = self.queue.qsize() if self.queue is not None else 0
        return web.json_response({"groups": self.groups.status(), "queue_depth": depth})

    async def prometheus(self, _request: web.Request) -> web.Response:
        """The bridge's own metrics in the Prometheus text format."""
        return web.Response(body=generate_latest(self.metrics.registry), headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def healthz(self, _request: web.Request) -> web.Response:
        """Liveness."""
        return web.json_response({"ok": True})

    async def _work(self) -> None:
        assert self.queue is not None and self._session is not None
        while True:
            job = await self.queue.get()
            self.metrics.queue_depth.set(self.queue.qsize())
            try:
                diagnosis = await self._handle(job)
                if diagnosis is not None:
                    await self.deliveries.deliver(self._session, diagnosis)
            except Exception:  # one bad job must not stop the worker; it is logged with its group
                log.exception("alert group %s: handling failed", job.notification.groupKey)
            finally:
                self.queue.task_done()

    async def _handle(self, job: Job) -> Diagnosis | None:
        notification = job.notification
        if job.action == "close":
            incident = self.groups.incident_of(notification.groupKey)
            if incident:
                try:  # recorded on the incident, so the dashboard and later questions see it closed
                    await asyncio.to_thread(self.client.close_incident, incident, CLOSED_BY, job.reason)
                except grpc.RpcError as exc:
                    self.metrics.diagnosis_failures.inc()
                    log.error(
                        "alert group %s: closing incident %s failed: %s",
                        notification.groupKey,
                        incident,
                        exc.details() if hasattr(exc, "details") else exc,
                    )
            return Diagnosis(
                notification.groupKey, "resolved", len(notification.alerts), incident_id=incident, reason=job.reason
            )
        try:
            diagnosis = await asyncio.to_thread(
                diagnose,
                self.client,
                notification,
                self.mapping,
                job.reason,
                timeout_s=self.settings.infer_timeout_s,
                dashboard_url=self.settings.dashboard_url,
                window_before_s=self.settings.window_before_s,
            )
        except grpc.RpcError as exc:
            message = f"Infer failed: {exc.code().name} {exc.details()}" if hasattr(exc, "code") else str(exc)
            self.groups.failed(notification.groupKey, message)
            self.metrics.diagnosis_failures.inc()
            log.error("alert group %s: %s", notification.groupKey, message)
            return None
        top_name = str(diagnosis.candidates[0]["name"]) if diagnosis.candidates else ""
        top_score = float(diagnosis.candidates[0]["score"]) if diagnosis.candidates else 0.0
        self.groups.diagnosed(notification.groupKey, diagnosis.incident_id, top_name, top_score, diagnosis.unresolved)
        self.metrics.diagnosed.inc()
        return diagnosis


def _authorized(request: web.Request, token: str) -> bool:
    """Whether the request carries `Authorization: Bearer <token>` (compared in constant time)."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode(), token.encode())


def ssl_context(settings: BridgeSettings) -> ssl.SSLContext | None:
    """The HTTPS context when a certificate is configured."""
    if settings.tls_cert is None or settings.tls_key is None:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(settings.tls_cert), str(settings.tls_key))
    return context

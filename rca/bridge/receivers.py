"""Delivering diagnoses: a generic JSON webhook, a Slack-compatible incoming webhook, a log line.

A delivery that fails (connection refused, timeout, a non-2xx answer) is retried with
exponential backoff; one that still fails is counted and logged with the diagnosis' incident id,
never dropped silently.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass

import aiohttp
from prometheus_client import Counter

from rca.bridge.diagnosis import Diagnosis

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Receiver:
    """Where diagnoses go: kind webhook (JSON body), slack (incoming-webhook message) or log."""

    kind: str
    url: str = ""


def slack_message(d: Diagnosis) -> dict:
    """A Slack incoming-webhook message: top candidates, the path, the strongest evidence, the link."""
    if d.status == "resolved":
        text = f":white_check_mark: Resolved: alert group {d.group_key} (incident {d.incident_id or 'none'})"
        return {"text": text}
    lines = [f":rotating_light: Root-cause diagnosis of {d.alerts} alert(s) ({d.reason})"]
    for rank, c in enumerate(d.candidates, start=1):
        lines.append(
            f"{rank}. *{c['name']}* ({c['label']}, score {c['score']:.2f})"
            + (f" — path {c['path']}" if c["path"] else "")
        )
        lines.extend(f"    • {e}" for e in c["evidence"][:1])
    if not d.candidates:
        lines.append("No candidate: no alert named an entity the graph knows.")
    if d.unresolved:
        lines.append("Unresolved symptoms: " + ", ".join(d.unresolved))
    if d.link:
        lines.append(f"<{d.link}|Open incident {d.incident_id}>")
    elif d.incident_id:
        lines.append(f"Incident {d.incident_id}")
    return {"text": "\n".join(lines)}


def log_line(d: Diagnosis) -> str:
    """One line for the log receiver."""
    top = d.candidates[0] if d.candidates else None
    best = f"top {top['name']} ({top['score']:.2f})" if top else "no candidate"
    unresolved = f"; unresolved: {', '.join(d.unresolved)}" if d.unresolved else ""
    return f"alert group {d.group_key} {d.status}: incident {d.incident_id or '-'}, {best}{unresolved}"


class Deliveries:
    """Sends each diagnosis to every receiver, retrying failures with backoff."""

    def __init__(
        self,
        receivers: list[Receiver],
        attempts: int,
        backoff_s: float,
        timeout_s: float,
        delivered: Counter,
        failed: Counter,
    ):
        self.receivers, self.attempts, self.backoff_s, self.timeout_s = receivers, attempts, backoff_s, timeout_s
        self.delivered, self.failed = delivered, failed

    async def deliver(self, session: aiohttp.ClientSession, diagnosis: Diagnosis) -> None:
        """Deliver to every receiver (concurrently); failures are counted and logged, never raised."""
        await asyncio.gather(*(self._one(session, r, diagnosis) for r in self.receivers))

    async def _one(self, session: aiohttp.ClientSession, receiver: Receiver, d: Diagnosis) -> None:
        if receiver.kind == "log":
            log.info("%s", log_line(d))
            self.delivered.labels(receiver.kind).inc()
            return
        body = slack_message(d) if receiver.kind == "slack" else d.as_json()
        error = ""
        for attempt in range(self.attempts):
            if attempt:
                await asyncio.sleep(self.backoff_s * 2 ** (attempt - 1))
            try:
                timeout = aiohttp.ClientTimeout(total=self.timeout_s)
                async with session.post(
                    receiver.url, data=json.dumps(body), timeout=timeout, headers={"Content-Type": "application/json"}
                ) as response:
                    if 200 <= response.status < 300:
                        self.delivered.labels(receiver.kind).inc()
                        return
                    error = f"HTTP {response.status}"
            except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                error = f"{type(exc).__name__}: {exc}"
        self.failed.labels(receiver.kind).inc()
        log.error(
            "delivery to %s receiver %s failed after %d attempts (%s); diagnosis: %s",
            receiver.kind,
            receiver.url,
            self.attempts,
            error,
            log_line(d),
        )

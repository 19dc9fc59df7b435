"""Alert groups as Alertmanager forms them (groupKey): when a notification needs a diagnosis.

Alertmanager repeats a group's notification every repeat_interval and sends it again whenever
an alert joins, leaves or resolves. A diagnosis is wanted for a new group, when the set of firing
alerts changed, or after the re-diagnosis interval; never for a plain repeat. A group whose alerts
all resolved is closed. The decision is taken when the notification arrives, so two notifications
racing each other into the queue cannot both diagnose the same alert set.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from rca.bridge.payload import Notification, fingerprint

Action = Literal["diagnose", "repeat", "close", "ignore"]
KEEP_RESOLVED_S = 24 * 3600.0  # a resolved group is forgotten after this long
MAX_GROUPS = 10_000  # beyond this many, the longest-resolved groups are forgotten first


@dataclass
class GroupState:
    """What the bridge knows of one alert group."""

    group_key: str
    state: Literal["firing", "resolved"] = "firing"
    firing: frozenset[str] = frozenset()  # fingerprints of the firing alerts last diagnosed
    decided_at: float = 0.0
    incident_id: str = ""
    top_candidate: str = ""
    top_score: float = 0.0
    unresolved: tuple[str, ...] = ()
    notifications: int = 0
    diagnoses: int = 0
    error: str = ""

    def as_status(self) -> dict:
        """The group as GET /status shows it."""
        return {
            "group_key": self.group_key,
            "state": self.state,
            "incident_id": self.incident_id,
            "top_candidate": self.top_candidate,
            "top_score": self.top_score,
            "firing_alerts": len(self.firing),
            "unresolved": list(self.unresolved),
            "notifications": self.notifications,
            "diagnoses": self.diagnoses,
            "error": self.error,
        }


@dataclass(frozen=True)
class Decision:
    """What to do with one notification, and why."""

    action: Action
    reason: str
    firing: frozenset[str] = field(default_factory=frozenset)


class AlertGroups:
    """Per group key, the firing alerts last diagnosed; thread-safe."""

    def __init__(self, rediagnose_s: float, clock: Callable[[], float] = time.time):
        self.rediagnose_s = rediagnose_s
        self.clock = clock
        self._groups: dict[str, GroupState] = {}
        self._lock = threading.Lock()

    def decide(self, notification: Notification) -> Decision:
        """Diagnose, skip as a repeat, close, or ignore (resolved and never seen) this notification."""
        now = self.clock()
        firing = frozenset(fingerprint(a) for a in notification.alerts if a.status == "firing")
        with self._lock:
            group = self._groups.get(notification.groupKey)
            if group is not None:
                group.notifications += 1
            if not firing:
                if group is None or group.state == "resolved":
                    return Decision("ignore", "resolved, and no diagnosis is open for the group")
                group.state, group.decided_at = "resolved", now
                return Decision("close", "every alert of the group resolved")
            if group is None:
                self._forget_old(now)
                group = self._groups[notification.groupKey] = GroupState(notification.groupKey, notifications=1)
                reason = "new group"
            elif group.state == "resolved":
                reason = "the group fires again"
            elif firing != group.firing:
                reason = "the firing alerts changed"
            elif now - group.decided_at >= self.rediagnose_s:
                reason = f"re-diagnosis after {self.rediagnose_s:g} s"
            else:
                return Decision("repeat", "the same alerts are still firing", firing)
            group.state, group.firing, group.decided_at = "firing", firing, now
            return Decision("diagnose", reason, firing)

    def diagnosed(self, group_key: str, incident_id: str, top: str, score: float, unresolved: list[str]) -> None:
        """Record the diagnosis of a group."""
        with self._lock:
            group = self._groups.get(group_key)
            if group is not None:
                group.incident_id, group.top_candidate, group.top_score = incident_id, top, score
                group.unresolved, group.error = tuple(unresolved), ""
                group.diagnoses += 1

    def failed(self, group_key: str, error: str) -> None:
        """Record that a group's diagnosis failed; its next notification diagnoses again."""
        with self._lock:
            group = self._groups.get(group_key)
            if group is not None:
                group.error, group.firing = error, frozenset()

    def incident_of(self, group_key: str) -> str:
        """The incident last diagnosed for a group ('' when none)."""
        with self._lock:
            group = self._groups.get(group_key)
            return group.incident_id if group else ""

    def status(self) -> list[dict]:
        """Every known group, most recently decided first."""
        with self._lock:
            groups = sorted(self._groups.values(), key=lambda g: -g.decided_at)
            return [g.as_status() for g in groups]

    def _forget_old(self, now: float) -> None:
        """Drop groups resolved long ago, and the longest-resolved ones beyond MAX_GROUPS (call under the lock)."""
        for key in [
            k for k, g in self._groups.items() if g.state == "resolved" and now - g.decided_at > KEEP_RESOLVED_S
        ]:
            del self._groups[key]
        if len(self._groups) >= MAX_GROUPS:
            resolved = sorted((g.decided_at, k) for k, g in self._groups.items() if g.state == "resolved")
            for _, key in resolved[: len(self._groups) - MAX_GROUPS + 1]:
                del self._groups[key]

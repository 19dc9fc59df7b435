"""Alertmanager's webhook notification (payload version 4), validated with pydantic.

A body that is not JSON, not version 4, or has a field of the wrong shape is refused with a
message naming the field, so an operator can tell a misconfigured sender from a bridge fault.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

MAX_ALERTS = 10_000  # far above Alertmanager's own group sizes, far below what would exhaust memory


class PayloadError(ValueError):
    """The notification cannot be read; the message names the field."""


class Alert(BaseModel):
    """One alert of a notification."""

    model_config = ConfigDict(extra="ignore")

    status: Literal["firing", "resolved"]
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    startsAt: datetime
    endsAt: datetime | None = None
    generatorURL: str = ""
    fingerprint: str = ""


class Notification(BaseModel):
    """One webhook call: a group of alerts that share Alertmanager's routing labels."""

    model_config = ConfigDict(extra="ignore")

    version: Literal["4"]
    groupKey: str = Field(min_length=1, max_length=4096)
    status: Literal["firing", "resolved"]
    receiver: str = ""
    alerts: list[Alert] = Field(max_length=MAX_ALERTS)
    groupLabels: dict[str, str] = Field(default_factory=dict)
    commonLabels: dict[str, str] = Field(default_factory=dict)
    externalURL: str = ""
    truncatedAlerts: int = 0


def parse(body: bytes) -> Notification:
    """The notification in a request body; PayloadError naming what is wrong."""
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PayloadError(f"body is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise PayloadError(f"body must be a JSON object, got {type(data).__name__}")
    try:
        return Notification.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise PayloadError(f"{where}: {first['msg']}{more}") from None


def fingerprint(alert: Alert) -> str:
    """Alertmanager's fingerprint of the alert, or one made from its labels when the sender left it out."""
    return alert.fingerprint or json.dumps(sorted(alert.labels.items()))

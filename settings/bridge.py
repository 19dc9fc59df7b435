"""Settings of the Alertmanager bridge (section ``bridge``, env ``RCA_BRIDGE__*``)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, model_validator


class ReceiverSettings(BaseModel):
    """One place diagnoses go."""

    kind: Literal["webhook", "slack", "log"] = Field(description="webhook: JSON body; slack: incoming-webhook message")
    url: str = Field("", description="http(s) URL (webhook and slack)")

    @model_validator(mode="after")
    def _url_for_http_kinds(self) -> ReceiverSettings:
        if self.kind != "log" and not self.url.startswith(("http://", "https://")):
            raise ValueError(f"a {self.kind} receiver needs an http(s) url")
        return self


class BridgeSettings(BaseModel):
    """The webhook receiver, the service it calls and where its diagnoses go."""

    listen: str = Field("127.0.0.1:9095", description="HOST:PORT the webhook receiver binds (loopback by default)")
    target: str = Field("127.0.0.1:50051", description="HOST:PORT of the RootCause service")
    token_file: Path | None = Field(
        None, description="file holding the bearer token Alertmanager must send (http_config.authorization)"
    )
    token: SecretStr | None = Field(None, description="the bearer token itself, when no token_file is given")
    tls_cert: Path | None = Field(None, description="PEM certificate chain; with tls_key the receiver speaks HTTPS")
    tls_key: Path | None = Field(None, description="PEM private key of tls_cert")
    service_token_file: Path | None = Field(None, description="bearer token file for the RootCause service")
    service_ca_cert: Path | None = Field(None, description="CA certificate of the RootCause service's TLS")
    mapping_file: Path | None = Field(None, description="alert-to-symptom mapping (default: the shipped one)")
    queue_size: int = Field(
        256, ge=1, description="notifications waiting for diagnosis; beyond it the webhook answers 503"
    )
    rediagnose_s: float = Field(900.0, gt=0, description="diagnose a group again after this long even if unchanged")
    infer_timeout_s: float = Field(10.0, gt=0)
    window_before_s: float = Field(
        1800.0, gt=0, description="Infer's window reaches this far before the group's first alert (it ends now)"
    )
    max_body_bytes: int = Field(1 << 20, ge=1024, description="largest webhook body accepted")
    receivers: list[ReceiverSettings] = Field(
        default_factory=lambda: [ReceiverSettings(kind="log")], description="where diagnoses go"
    )
    delivery_attempts: int = Field(5, ge=1)
    delivery_backoff_s: float = Field(1.0, ge=0, description="first retry delay; doubles per attempt")
    delivery_timeout_s: float = Field(5.0, gt=0)
    dashboard_url: str = Field("", description="base URL of the incident dashboard, for links in messages")

    @model_validator(mode="after")
    def _tls_pair(self) -> BridgeSettings:
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("tls_cert and tls_key go together: set both or neither")
        return self

"""A small client of the RootCause service, used by `rca infer`, `rca demo` and the benchmarks."""

from __future__ import annotations

from pathlib import Path

import grpc

from rca.service.stubs import pb, pb_grpc


def parse_symptom(text: str, observed_at: float = 0.0):
    """'checkout:errors' -> Symptom(entity_name='checkout', family='errors'); 'id=svc-1:latency' names an id."""
    entity, sep, family = text.rpartition(":")
    if not sep or not entity or not family:
        raise ValueError(f"symptom {text!r}: expected ENTITY:FAMILY, e.g. checkout:errors")
    if entity.startswith("id="):
        return pb.Symptom(entity_id=entity[3:], family=family, observed_at=observed_at)
    return pb.Symptom(entity_name=entity, family=family, observed_at=observed_at)


def open_channel(
    target: str, *, ca_cert: Path | None = None, server_name: str | None = None, options: list | None = None
) -> grpc.Channel:
    """A channel to target: TLS when a CA certificate is given, plaintext otherwise; ``options`` are gRPC's."""
    options = list(options or [])
    if ca_cert is None:
        return grpc.insecure_channel(target, options)
    options += [("grpc.ssl_target_name_override", server_name)] if server_name else []
    return grpc.secure_channel(
        target, grpc.ssl_channel_credentials(root_certificates=Path(ca_cert).read_bytes()), options
    )


class RootCauseClient:
    """Calls the service with an optional bearer token and a default deadline."""

    def __init__(self, channel: grpc.Channel, *, token: str | None = None, timeout_s: float = 10.0):
        self.channel = channel
        self.stub = pb_grpc.RootCauseStub(channel)
        self.metadata = (("authorization", f"Bearer {token}"),) if token else ()
        self.timeout_s = timeout_s

    def infer(self, request, timeout_s: float | None = None):
        """Call Infer; raises grpc.RpcError with the server's status on failure."""
        return self.stub.Infer(request, timeout=timeout_s or self.timeout_s, metadata=self.metadata)

    def feedback(self, request):
        """Call Feedback."""
        return self.stub.Feedback(request, timeout=self.timeout_s, metadata=self.metadata)

    def get_incident(self, incident_id: str, include_features: bool = False):
        """Call GetIncident."""
        request = pb.GetIncidentRequest(incident_id=incident_id, include_features=include_features)
        return self.stub.GetIncident(request, timeout=self.timeout_s, metadata=self.metadata)

    def list_incidents(self, limit: int = 20, entity_id: str = "", since: float = 0.0):
        """Call ListIncidents (newest first; since: only those created then or later)."""
        request = pb.ListIncidentsRequest(limit=limit, entity_id=entity_id, since=since)
        return self.stub.ListIncidents(request, timeout=self.timeout_s, metadata=self.metadata)

    def ask(self, request):
        """Call Ask (a question in plain English); returns the AskResponse."""
        return self.stub.Ask(request, timeout=self.timeout_s, metadata=self.metadata)

    def get_status(self):
        """Call GetStatus: the versions the service ranks with, its graph schema version and its uptime."""
        return self.stub.GetStatus(pb.GetStatusRequest(), timeout=self.timeout_s, metadata=self.metadata)

    def close_incident(self, incident_id: str, closed_by: str, reason: str = ""):
        """Call CloseIncident; returns the incident as stored."""
        request = pb.CloseIncidentRequest(incident_id=incident_id, closed_by=closed_by, reason=reason)
        return self.stub.CloseIncident(request, timeout=self.timeout_s, metadata=self.metadata)

    def close(self) -> None:
        """Close the channel."""
        self.channel.close()

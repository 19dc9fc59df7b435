"""TLS and bearer token enforced when configured; health, reflection and metrics over real channels."""

from __future__ import annotations

import urllib.request

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)

from graph_schema.embedded import free_port
from rca.service.client import RootCauseClient, open_channel
from rca.service.server import start_server
from rca.service.stubs import SERVICE_NAME, pb
from settings.service import ServiceSettings
from tests.support.tls import self_signed

TOKEN = "s3cret-token-for-tests"


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    directory = tmp_path_factory.mktemp("tls")
    return self_signed(directory, "server"), self_signed(directory, "stranger")


@pytest.fixture(scope="module")
def secure_service(service_store, engine, certs):
    (cert, key), _ = certs
    settings = ServiceSettings(port=0, metrics_port=free_port(), tls_cert=cert, tls_key=key, token=TOKEN)
    running = start_server(settings, service_store, engine)
    yield running, settings
    running.stop()


def _client(secure_service, ca, token=TOKEN):
    running, _ = secure_service
    return RootCauseClient(open_channel(running.target, ca_cert=ca), token=token, timeout_s=10)


def test_tls_with_the_right_token_is_served(secure_service, certs):
    (cert, _), _ = certs
    client = _client(secure_service, cert)
    assert isinstance(client.list_incidents(limit=1).incidents, object)
    with pytest.raises(grpc.RpcError) as err:  # reaches the servicer: a real answer, not an auth error
        client.get_incident("inc-unknown")
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    client.close()


@pytest.mark.parametrize("token, message", [(None, "missing authorization"), ("wrong-token", "invalid bearer token")])
def test_missing_or_wrong_token_is_unauthenticated(secure_service, certs, token, message):
    (cert, _), _ = certs
    client = _client(secure_service, cert, token=token)
    with pytest.raises(grpc.RpcError) as err:
        client.list_incidents(limit=1)
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED and message in err.value.details()
    client.close()


def test_plaintext_client_cannot_talk_to_the_tls_server(secure_service):
    running, _ = secure_service
    client = RootCauseClient(grpc.insecure_channel(running.target), token=TOKEN, timeout_s=3)
    with pytest.raises(grpc.RpcError) as err:
        client.list_incidents(limit=1)
    assert err.value.code() == grpc.StatusCode.UNAVAILABLE
    client.close()


def test_client_that_does_not_trust_the_certificate_is_refused(secure_service, certs):
    _, (stranger, _) = certs
    client = _client(secure_service, stranger)
    client.timeout_s = 3
    with pytest.raises(grpc.RpcError) as err:
        client.list_incidents(limit=1)
    assert err.value.code() == grpc.StatusCode.UNAVAILABLE
    client.close()


def test_health_needs_no_token_and_reflection_lists_the_service(secure_service, certs):
    (cert, _), _ = certs
    running, _ = secure_service
    channel = open_channel(running.target, ca_cert=cert)
    status = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=SERVICE_NAME), timeout=5)
    assert status.status == health_pb2.HealthCheckResponse.SERVING
    channel.close()

    authed = grpc.intercept_channel(open_channel(running.target, ca_cert=cert), _TokenInterceptor())
    services = ProtoReflectionDescriptorDatabase(authed).get_services()
    assert SERVICE_NAME in services and "grpc.health.v1.Health" in services
    authed.close()


class _TokenInterceptor(grpc.StreamStreamClientInterceptor):
    def intercept_stream_stream(self, continuation, details, request_iterator):
        metadata = list(details.metadata or []) + [("authorization", f"Bearer {TOKEN}")]
        return continuation(details._replace(metadata=metadata), request_iterator)


def test_metrics_endpoint_counts_calls_errors_and_infer_latency(secure_service, certs):
    (cert, _), _ = certs
    _, settings = secure_service
    client = _client(secure_service, cert)
    with pytest.raises(grpc.RpcError):
        client.infer(pb.InferRequest())
    client.close()
    text = urllib.request.urlopen(f"http://127.0.0.1:{settings.metrics_port}/metrics", timeout=5).read().decode()
    assert "rca_infer_latency_seconds_count" in text
    error_lines = [
        ln
        for ln in text.splitlines()
        if ln.startswith("rca_rpc_errors_total{") and 'code="INVALID_ARGUMENT"' in ln and 'method="Infer"' in ln
    ]
    assert error_lines and float(error_lines[0].rsplit(" ", 1)[1]) >= 1

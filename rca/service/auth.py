"""Bearer-token enforcement for every RPC except health checks."""

from __future__ import annotations

import hmac

import grpc

# Load balancers and orchestrators probe health without credentials.
_OPEN_SERVICES = ("/grpc.health.v1.Health/",)


def _deny(message: str):
    def handler(request, context):
        context.abort(grpc.StatusCode.UNAUTHENTICATED, message)

    return grpc.unary_unary_rpc_method_handler(handler)


class BearerTokenInterceptor(grpc.ServerInterceptor):
    """Rejects calls whose `authorization` metadata is not `Bearer <token>` with UNAUTHENTICATED."""

    def __init__(self, token: str):
        if not token:
            raise ValueError("an empty bearer token would let everyone in")
        self._expected = f"Bearer {token}".encode()

    def intercept_service(self, continuation, handler_call_details):
        if handler_call_details.method.startswith(_OPEN_SERVICES):
            return continuation(handler_call_details)
        presented = dict(handler_call_details.invocation_metadata or ()).get("authorization")
        if presented is None:
            return _deny("missing authorization metadata: send 'authorization: Bearer <token>'")
        if not hmac.compare_digest(presented.encode(), self._expected):
            return _deny("invalid bearer token")
        return continuation(handler_call_details)

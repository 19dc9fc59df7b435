"""The generated protobuf modules, imported only by the gRPC edges (server, client).

They are written by ``python -m rca.service.protogen`` at install (``scripts/setup.sh``) and at
image build (``Dockerfile``), never on import: a checkout where the command has not run gets an
ImportError that names it.
"""

from __future__ import annotations

import importlib

GENERATE_COMMAND = "python -m rca.service.protogen"


def _load():
    try:
        return importlib.import_module("rca.v1.rca_pb2"), importlib.import_module("rca.v1.rca_pb2_grpc")
    except ModuleNotFoundError as exc:
        if not (exc.name or "").startswith("rca.v1"):
            raise  # something the generated code needs (protobuf, grpc) is missing, not the stubs
        raise ImportError(
            f"the gRPC stubs rca.v1 are not generated ({exc.name} is missing): run `{GENERATE_COMMAND}` "
            "(scripts/setup.sh and the Dockerfile run it at install)",
            name=exc.name,
        ) from None


pb, pb_grpc = _load()
SERVICE_NAME: str = pb.DESCRIPTOR.services_by_name["RootCause"].full_name

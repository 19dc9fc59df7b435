"""Fuzz targets of the gRPC service's and topology sync's inputs for bench/fuzz.py: the Infer request parser
and the topology file loader.

Each checks the same properties as tests/unit/test_fuzz_infer_request.py and test_fuzz_topology_file.py
(tests/support/service_fuzz.py and topology_fuzz.py); an AssertionError is a broken property, any
other exception one that escaped.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from hypothesis import strategies as st

from bench.fuzz_targets import target

_EXAMPLE_TOPOLOGY = Path(__file__).resolve().parents[1] / "examples" / "online-boutique.yaml"


def _as_bytes_input(data: bytes) -> bytes:
    """``data`` as an input that _bytes_or_structured's check reads as raw bytes."""
    return b"\x00" + data


def _infer_inputs() -> st.SearchStrategy[bytes]:
    from tests.support.service_fuzz import infer_requests, request_bytes

    return st.one_of(infer_requests().map(lambda r: r.SerializeToString()), request_bytes()).map(_as_bytes_input)


def _infer_seeds() -> tuple[bytes, ...]:
    # plain bytes of valid requests (pb is not imported here, so atheris can instrument the parser first)
    return tuple(
        _as_bytes_input(seed)
        for seed in (
            b"\n\x1b\n\x08checkout\x1a\x06errors!\x00\x00\x00\x80t\xd2\xdaA\x18\x03",
            (
                b"\n\x13\x12\x08checkout\x1a\x07latency\x12\x12\t\x00\x00\x00\xeas\xd2\xdaA\x11\x00\x00\x00\x80t\xd2\xdaA"
                b"*\x15\n\x13\n\x08checkout\x12\x07Service"
            ),
        )
    )


@target("infer_request", instrument=("rca.service.requests",), inputs=_infer_inputs, seeds=_infer_seeds())
def infer_request() -> Callable[[bytes], None]:
    """rca.service.requests.parse_infer over decoded InferRequest bytes: a sane query or InvalidArgument
    naming the field, in a short message."""
    from tests.support.service_fuzz import check_infer_request, check_request_bytes, infer_requests

    return _bytes_or_structured(check_request_bytes, infer_requests(), check_infer_request)


def _topology_inputs() -> st.SearchStrategy[bytes]:
    from tests.support.topology_fuzz import topology_texts

    return topology_texts().map(lambda text: _as_bytes_input(text.encode("utf-8", "surrogatepass")))


def _topology_seeds() -> tuple[bytes, ...]:
    seeds = [
        b"version: 1\nhosts:\n  - id: h1\nservices:\n  - id: web\n    instances:\n      - {id: web-0, runs_on: h1}\n"
    ]
    if _EXAMPLE_TOPOLOGY.is_file():
        seeds.append(_EXAMPLE_TOPOLOGY.read_bytes())
    return tuple(_as_bytes_input(seed) for seed in seeds)


@target(
    "topology_file",
    instrument=("ingest.topology.file", "ingest.topology.yaml_lines"),
    inputs=_topology_inputs,
    seeds=_topology_seeds(),
)
def topology_file() -> Callable[[bytes], None]:
    """ingest.topology.file.parse_topology over any text: a consistent snapshot or TopologyFileError naming
    the file, line and reason."""
    from tests.support.topology_fuzz import check_topology_document, check_topology_text, topology_documents

    return _bytes_or_structured(
        lambda data: check_topology_text(data.decode("utf-8", errors="replace")),
        topology_documents(),
        check_topology_document,
    )


def _bytes_or_structured(on_bytes, strategy: st.SearchStrategy, on_value) -> Callable[[bytes], None]:
    """A check that reads an input whose first byte is even as raw bytes, one whose first byte is odd as the
    choices that build a value of ``strategy`` (hypothesis' fuzz_one_input), so that a coverage-guided
    fuzzer mutates well-formed requests and documents too, not only bytes that rarely decode."""
    from hypothesis import HealthCheck, given, settings

    @settings(database=None, deadline=None, suppress_health_check=list(HealthCheck))
    @given(strategy)
    def structured(value) -> None:
        on_value(value)

    def check(data: bytes) -> None:
        if data and data[0] % 2:
            structured.hypothesis.fuzz_one_input(data[1:])
        else:
            on_bytes(data[1:])

    return check

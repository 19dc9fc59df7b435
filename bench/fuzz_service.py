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

from bench.fuzz_choices import Choices
from bench.fuzz_targets import target

_EXAMPLE_TOPOLOGY = Path(__file__).resolve().parents[1] / "examples" / "online-boutique.yaml"


# An input's first byte says how the rest is read (_bytes_or_built): even, as the parser's raw input; odd, as
# the choices that build a structured one. With no choices left every choice is the first, valid option.
BUILT_FROM_NOTHING = b"\x01"


def _as_bytes_input(data: bytes) -> bytes:
    """``data`` as an input that _bytes_or_built's check reads as raw bytes."""
    return b"\x00" + data


def _as_choices(data: bytes) -> bytes:
    """``data`` as an input that _bytes_or_built's check reads as choices."""
    return BUILT_FROM_NOTHING + data


def _infer_inputs() -> st.SearchStrategy[bytes]:
    from tests.support.service_fuzz import infer_requests, request_bytes

    return st.one_of(
        st.one_of(infer_requests().map(lambda r: r.SerializeToString()), request_bytes()).map(_as_bytes_input),
        st.binary(max_size=400).map(_as_choices),
    )


def _infer_seeds() -> tuple[bytes, ...]:
    # plain bytes of valid requests (pb is not imported here, so atheris can instrument the parser first)
    return (BUILT_FROM_NOTHING,) + tuple(
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
    from tests.support.service_fuzz import check_infer_request, check_request_bytes

    return _bytes_or_built(check_request_bytes, _infer_request_builder(), check_infer_request)


def _infer_request_builder() -> Callable[[Choices], object]:
    """InferRequests built from choices, shaped as tests/support/service_fuzz.infer_requests draws them:
    every field, mostly valid, each one sometimes hostile (NaN/inf/huge numbers, times out of range, long
    strings, control and unprintable characters)."""
    from graph_schema.model import COVERAGE_FAMILIES, SIGNAL_FAMILIES
    from rca.service.requests import EARLIEST_TIME, EDGE_TYPES, ENTITY_LABEL_NAMES, LATEST_TIME
    from rca.service.stubs import pb
    from tests.support import service_fuzz as pool

    def text(c: Choices) -> str:
        kind = c.below(4)
        if kind == 0:
            return c.text(12)
        if kind == 1:
            return c.codepoints(*pool.CONTROL, 6)
        if kind == 2:
            return c.codepoints(*pool.UNPRINTABLE, 4)
        return c.pick(pool.HOSTILE_TEXTS)

    def mostly(c: Choices, good, bad):
        """Usually a valid value, one time in eight a hostile one."""
        return bad(c) if c.one_in(8) else good(c)

    def word(c: Choices, words) -> str:
        return mostly(c, lambda c: c.pick(words), text)

    def number(c: Choices) -> float:
        return c.double() if c.below(2) else c.pick(pool.HOSTILE_NUMBERS)

    def finite(c: Choices) -> float:
        return mostly(c, lambda c: c.uniform(-1e6, 1e6), number)

    def good_time(c: Choices) -> float:
        return c.uniform(EARLIEST_TIME, LATEST_TIME) if c.below(2) else c.pick(pool.GOOD_TIMES)

    def bad_time(c: Choices) -> float:
        return c.double() if c.below(2) else c.pick(pool.BAD_TIMES)

    def time(c: Choices) -> float:
        return mostly(c, good_time, bad_time)

    def optional_time(c: Choices) -> float:
        return mostly(c, lambda c: 0.0 if c.below(2) else good_time(c), bad_time)

    def integer(c: Choices, usual: tuple[int, int], whole: tuple[int, int]) -> int:
        return mostly(c, lambda c: c.integer(*usual), lambda c: c.integer(*whole))

    def some(c: Choices, most: int, build) -> list:
        return [build(c) for _ in range(c.below(most + 1))]

    def symptom(c: Choices):
        fields = {"family": word(c, SIGNAL_FAMILIES), "observed_at": optional_time(c)}
        which = mostly(c, lambda c: c.pick(("entity_id", "entity_name")), lambda c: None)
        if which is not None:
            fields[which] = word(c, pool.IDS)
        return pb.Symptom(**fields)

    def node(c: Choices):
        return pb.Node(
            id=word(c, pool.IDS),
            label=word(c, ENTITY_LABEL_NAMES),
            name=word(c, ("", "alpha")),
            technology=word(c, ("", "postgres")),
            observed_families=mostly(
                c, lambda c: sorted({c.pick(COVERAGE_FAMILIES) for _ in range(c.below(4))}), lambda c: some(c, 2, text)
            ),
            features=mostly(
                c,
                lambda c: {c.pick(("x", "rule_max")): finite(c) for _ in range(c.below(3))},
                lambda c: {text(c): number(c) for _ in range(c.below(3))},
            ),
        )

    def edge(c: Choices):
        return pb.Edge(source=word(c, pool.IDS), target=word(c, pool.IDS), type=word(c, EDGE_TYPES))

    def anomaly(c: Choices):
        return pb.AnomalySignal(
            entity_id=word(c, pool.IDS),
            signal=word(c, ("error_ratio",)),
            family=word(c, SIGNAL_FAMILIES),
            onset=time(c),
            end=optional_time(c),
            direction=word(c, ("up", "down", "")),
            score=finite(c),
            value=finite(c),
            baseline=finite(c),
        )

    def event(c: Choices):
        return pb.LogEventSignal(
            entity_id=word(c, pool.IDS),
            template=text(c),
            signature_class=word(c, ("timeout", "")),
            severity=integer(c, (0, 7), (-(2**31), 2**31 - 1)),
            count=integer(c, (0, 1000), (-(2**63), 2**63 - 1)),
            first_ts=time(c),
            last_ts=optional_time(c),
            sample=text(c),
        )

    def change(c: Choices):
        return pb.ChangeSignal(
            entity_id=word(c, pool.IDS), at=time(c), change_type=word(c, ("deploy",)), description=text(c)
        )

    def request(c: Choices):
        built = pb.InferRequest(
            symptoms=mostly(
                c,
                lambda c: [symptom(c) for _ in range(1 + c.below(3))],
                lambda c: c.pick(([], [pb.Symptom(entity_id="a")] * 101)),
            ),
            top_k=integer(c, (0, 50), (0, 2**32 - 1)),
            max_hops=integer(c, (0, 6), (0, 2**32 - 1)),
            unresolved_symptoms=mostly(
                c, lambda c: ["checkout: 5xx above 5%"] * c.below(3), lambda c: some(c, 3, text)
            ),
        )
        if c.below(2):
            start = time(c)
            end = mostly(c, lambda c: start + c.uniform(1.0, 86400.0), time)
            built.window.CopyFrom(pb.TimeWindow(start=start, end=end))
        if c.below(2):
            built.subgraph.CopyFrom(
                pb.Subgraph(
                    nodes=some(c, 4, node),
                    edges=some(c, 3, edge),
                    anomalies=some(c, 2, anomaly),
                    events=some(c, 2, event),
                    changes=some(c, 2, change),
                )
            )
        return built

    return request


def _topology_inputs() -> st.SearchStrategy[bytes]:
    from tests.support.topology_fuzz import topology_texts

    return st.one_of(
        topology_texts().map(lambda text: _as_bytes_input(text.encode("utf-8", "surrogatepass"))),
        st.binary(max_size=400).map(_as_choices),
    )


def _topology_seeds() -> tuple[bytes, ...]:
    seeds = [
        b"version: 1\nhosts:\n  - id: h1\nservices:\n  - id: web\n    instances:\n      - {id: web-0, runs_on: h1}\n"
    ]
    if _EXAMPLE_TOPOLOGY.is_file():
        seeds.append(_EXAMPLE_TOPOLOGY.read_bytes())
    return (BUILT_FROM_NOTHING, *(_as_bytes_input(seed) for seed in seeds))


@target(
    "topology_file",
    instrument=("ingest.topology.file", "ingest.topology.yaml_lines"),
    inputs=_topology_inputs,
    seeds=_topology_seeds(),
)
def topology_file() -> Callable[[bytes], None]:
    """ingest.topology.file.parse_topology over any text: a consistent snapshot or TopologyFileError naming
    the file, line and reason."""
    from tests.support.topology_fuzz import check_topology_text

    return _bytes_or_built(
        lambda data: check_topology_text(data.decode("utf-8", errors="replace")),
        _topology_text_builder(),
        check_topology_text,
    )


def _topology_text_builder() -> Callable[[Choices], str]:
    """Topology file texts built from choices, shaped as tests/support/topology_fuzz.topology_texts draws them:
    documents (mostly the file's shape, with wrong types, unknown keys, dangling or duplicate ids, relations
    the model does not allow) dumped as YAML or JSON, YAML-ish pieces, any text, deep nesting, alias bombs."""
    import json

    import yaml

    from ingest.topology.file import RELATION_KINDS
    from tests.support import topology_fuzz as pool

    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml's: the same text, far less time per input
    kinds = (*RELATION_KINDS, "owns")

    def text(c: Choices) -> str:
        kind = c.below(3)
        if kind == 0:
            return c.text(10)
        return c.codepoints(0, 0x1F, 4) if kind == 1 else c.pick(pool.HOSTILE_TEXTS)

    def scalar(c: Choices):
        kind = c.below(5)
        if kind == 0:
            return None
        if kind == 1:
            return bool(c.below(2))
        if kind == 2:
            return c.integer(-(2**70), 2**70) if c.below(2) else c.integer(-3, 3)
        return c.double() if kind == 3 else text(c)

    def mostly(c: Choices, good, bad):
        """Usually a valid value, one time in eight a hostile one."""
        return bad(c) if c.one_in(8) else good(c)

    def some(c: Choices, most: int, build) -> list:
        return [build(c) for _ in range(c.below(most + 1))]

    def ident(c: Choices):
        return mostly(c, lambda c: c.pick(pool.ID_POOL), scalar)

    def idents(c: Choices):
        return mostly(
            c, lambda c: list(dict.fromkeys(some(c, 3, lambda c: c.pick(pool.ID_POOL)))), lambda c: some(c, 3, scalar)
        )

    def attrs(c: Choices):
        return mostly(c, lambda c: {c.pick(("zone", "team")): scalar(c) for _ in range(c.below(3))}, scalar)

    fields = {
        "name": text,
        "technology": text,
        "runs_on": ident,
        "calls": idents,
        "depends_on": idents,
        "attrs": attrs,
        "instances": lambda c: mostly(c, lambda c: some(c, 2, lambda c: item(c, "instances")), scalar),
    }

    def item(c: Choices, section: str) -> dict:
        built = {"id": ident(c)}
        for key in pool.ITEM_FIELDS[section]:
            if c.below(2):
                built[key] = fields[key](c)
        if c.one_in(10):
            built[text(c)] = scalar(c)
        if c.one_in(10):
            del built["id"]
        return built

    def relation(c: Choices) -> dict:
        return {"from": ident(c), "kind": mostly(c, lambda c: c.pick(kinds), scalar), "to": ident(c)}

    def document(c: Choices) -> dict:
        doc: dict = {"version": mostly(c, lambda c: 1, scalar)}
        for section in pool.SECTIONS:
            if c.below(2):
                doc[section] = mostly(c, lambda c, section=section: some(c, 3, lambda c: item(c, section)), scalar)
        if c.below(2):
            doc["relations"] = mostly(c, lambda c: some(c, 3, relation), scalar)
        if c.one_in(10):
            doc[text(c)] = scalar(c)
        return doc

    def build(c: Choices) -> str:
        kind = c.below(7)
        if kind == 0:
            return yaml.dump(document(c), Dumper=dumper, allow_unicode=True, sort_keys=False)
        if kind == 1:
            return json.dumps(document(c))
        if kind == 2:
            return "".join(c.pick(pool.YAML_PIECES) if c.below(2) else c.text(20) for _ in range(c.below(7)))
        if kind == 3:
            return c.text(200)
        if kind == 4:
            depth = c.integer(1, 600)
            return "[" * depth + "]" * depth
        if kind == 5:
            depth = c.integer(1, 150)
            return "".join(f"{'  ' * i}k{i}:\n" for i in range(depth)) + "  " * depth + "v\n"
        return pool.alias_bomb(c.integer(1, 12))

    return build


def _bytes_or_built(on_bytes, build: Callable[[Choices], object], on_value) -> Callable[[bytes], None]:
    """A check that reads an input whose first byte is even as raw bytes, one whose first byte is odd as the
    choices that build a value (bench/fuzz_choices.py), so that a coverage-guided fuzzer mutates well-formed
    requests and documents too, not only bytes that rarely decode."""

    def check(data: bytes) -> None:
        if data and data[0] % 2:
            on_value(build(Choices(data[1:])))
        else:
            on_bytes(data[1:])

    return check

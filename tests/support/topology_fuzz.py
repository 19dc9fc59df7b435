"""Inputs and the property for fuzzing the topology file loader, shared by tests/unit and bench/fuzz.py.

The property: ``parse_topology`` either returns a consistent snapshot or raises TopologyFileError
whose message starts with the file name and says what is wrong; no other exception escapes.
"""

from __future__ import annotations

import json

import yaml
from hypothesis import strategies as st

from graph_schema.model import topology_relation
from ingest.topology.file import RELATION_KINDS, TopologyFileError, parse_topology

FILENAME = "fuzz.yaml"
MAX_MESSAGE_CHARS = 2000

# Values kept apart as lists so that bench/fuzz_service.py's byte-driven builder draws from the same ones.
ID_POOL = ("h1", "h2", "db", "web", "api", "web-0", "api-0")
HOSTILE_TEXTS = ("", " ", "-", "a" * 201, "x:y/z", "ünï", "null", "true", "1", "~", "&a", "*a", "!!python/none")
SECTIONS = ("hosts", "datastores", "services")
ITEM_FIELDS = {  # the optional fields of each section's items, and of a service's instances
    "hosts": ("name", "technology", "attrs"),
    "datastores": ("name", "technology", "runs_on", "attrs"),
    "services": ("name", "technology", "calls", "depends_on", "instances", "attrs"),
    "instances": ("name", "runs_on", "attrs"),
}
_TEXT = st.one_of(
    st.text(max_size=10),
    st.text(st.characters(max_codepoint=0x1F), max_size=4),
    st.sampled_from(HOSTILE_TEXTS),
)
_SCALAR = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), _TEXT)


def _mostly(good: st.SearchStrategy, bad: st.SearchStrategy) -> st.SearchStrategy:
    """Usually a valid value, one time in eight a hostile one."""
    return st.integers(0, 7).flatmap(lambda i: bad if i == 7 else good)


_ID = _mostly(st.sampled_from(ID_POOL), _SCALAR)
_IDS = _mostly(st.lists(st.sampled_from(ID_POOL), max_size=3, unique=True), st.lists(_SCALAR, max_size=3))
_ATTRS = _mostly(st.dictionaries(st.sampled_from(["zone", "team"]), _SCALAR, max_size=2), _SCALAR)


def _item(fields: dict[str, st.SearchStrategy]) -> st.SearchStrategy[dict]:
    """A mapping with ``id`` and some of ``fields``, now and then an unknown key or a missing id."""

    @st.composite
    def build(draw):
        item = {"id": draw(_ID)}
        for key, strategy in fields.items():
            if draw(st.booleans()):
                item[key] = draw(strategy)
        if draw(st.integers(0, 9)) == 0:
            item[draw(_TEXT)] = draw(_SCALAR)
        if draw(st.integers(0, 9)) == 0:
            del item["id"]
        return item

    return build()


_FIELD = {"name": _TEXT, "technology": _TEXT, "runs_on": _ID, "calls": _IDS, "depends_on": _IDS, "attrs": _ATTRS}
_INSTANCE = _item({key: _FIELD[key] for key in ITEM_FIELDS["instances"]})
_FIELD["instances"] = _mostly(st.lists(_INSTANCE, max_size=2), _SCALAR)
_HOST, _DATASTORE, _SERVICE = (_item({key: _FIELD[key] for key in ITEM_FIELDS[section]}) for section in SECTIONS)
_RELATION = st.fixed_dictionaries(
    {"from": _ID, "kind": _mostly(st.sampled_from([*RELATION_KINDS, "owns"]), _SCALAR), "to": _ID}
)


@st.composite
def topology_documents(draw) -> dict:
    """Topology documents as data: mostly the file's shape, with wrong types, unknown keys, dangling or
    duplicate ids, relations the model does not allow."""
    doc: dict = {"version": draw(_mostly(st.just(1), _SCALAR))}
    for section, item in zip(SECTIONS, (_HOST, _DATASTORE, _SERVICE), strict=True):
        if draw(st.booleans()):
            doc[section] = draw(_mostly(st.lists(item, max_size=3), _SCALAR))
    if draw(st.booleans()):
        doc["relations"] = draw(_mostly(st.lists(_RELATION, max_size=3), _SCALAR))
    if draw(st.integers(0, 9)) == 0:
        doc[draw(_TEXT)] = draw(_SCALAR)
    return doc


YAML_PIECES = (
    "version: 1\n",
    "hosts:\n",
    "  - id: h1\n",
    "  - {id: h1, runs_on: h1}\n",
    "services:\n",
    "  - id: web\n    calls: [api]\n",
    "- id: x\n",
    "&a [*a]\n",
    "x: &a [1, 2]\ny: *a\n",
    "*nope\n",
    "? [a, b]\n: c\n",
    "{a: 1, a: 2}\n",
    "!!python/object:os.system x\n",
    "!!binary AAAA\n",
    "!!set {a, b}\n",
    "version: !!int 1\n",
    "%YAML 1.1\n---\n",
    "---\n...\n",
    "\t- tab\n",
    "'unterminated\n",
    "key: [1, 2\n",
    "\x00\x07\ufeff\n",
    "2001-01-01: x\n",
    "1: one\n",
    "null: x\n",
    "[[[[[[[[[[]]]]]]]]]]\n",
)


def topology_texts() -> st.SearchStrategy[str]:
    """Text a topology file might hold: documents dumped as YAML or JSON, YAML-ish pieces, any text,
    deep nesting and alias bombs."""
    dumped = topology_documents().map(lambda doc: yaml.safe_dump(doc, allow_unicode=True, sort_keys=False))
    as_json = topology_documents().map(lambda doc: json.dumps(doc))
    pieces = st.lists(st.one_of(st.sampled_from(YAML_PIECES), st.text(max_size=20)), max_size=6).map("".join)
    deep = st.integers(1, 600).map(lambda n: "[" * n + "]" * n)
    deep_maps = st.integers(1, 150).map(lambda n: "".join(f"{'  ' * i}k{i}:\n" for i in range(n)) + "  " * n + "v\n")
    bomb = st.integers(1, 12).map(alias_bomb)
    return st.one_of(dumped, as_json, pieces, st.text(max_size=200), deep, deep_maps, bomb)


def alias_bomb(levels: int) -> str:
    """A document whose aliases expand to 10**levels values ("billion laughs")."""
    lines = ["version: 1", 'a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]")
    return "\n".join(lines) + "\n"


def check_topology_text(text: str) -> str:
    """The property for one text: 'loaded' or 'rejected'; AssertionError when it does not hold."""
    try:
        snapshot = parse_topology(text, FILENAME)
    except TopologyFileError as exc:
        message = str(exc)
        head, _, reason = message.partition(": ")
        assert head == FILENAME or head.startswith(f"{FILENAME}:"), f"no file name first: {message[:300]!r}"
        assert reason.strip(), f"no reason: {message[:300]!r}"
        assert len(message) <= MAX_MESSAGE_CHARS, f"a {len(message)}-character message: {message[:300]!r}"
        return "rejected"
    ids = [e.id for e in snapshot.entities]
    assert len(ids) == len(set(ids)), "duplicate entity ids"
    labels = {e.id: e.label for e in snapshot.entities}
    for edge in snapshot.edges:
        assert edge.source_id in labels and edge.target_id in labels, edge
        assert topology_relation(edge.relation.type, labels[edge.source_id], labels[edge.target_id]) is not None
    return "loaded"


def check_topology_document(doc) -> str:
    """The property for a document given as data (dumped to YAML first)."""
    return check_topology_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False))

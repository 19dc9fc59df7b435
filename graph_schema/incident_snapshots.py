"""The two snapshots stored with every :Incident, in the one form they are stored in.

The feature snapshot is what the engine saw: readers get entity id -> feature name -> value. It is
sparse JSON text: one list of entity ids, one of feature names and the cells as row, column and
value lists (``{"format": "sparse-1", "entities": [...], "features": [...], "rows": [...],
"columns": [...], "values": [...]}``). The engine writes it straight from its feature matrix, the
non-zero cells only (rca.rank.features.FeatureTable.snapshot_json): three numpy arrays that orjson
writes in C instead of a nested dict built per Infer. The structure snapshot is the subgraph's
edges, ``[[source, target, type], ...]``, kept only with a model (null without).

Both are stored packed, as ``features_packed`` and ``edges_packed``: zlib over the JSON text, then
base64 so that both servers keep a string. A 300-entity incident's snapshots are ~70 KB of JSON
and ~15 KB packed, which the graph server writes several times faster and keeps in a fraction of
the space.

Incidents stored by earlier versions carry other forms: the snapshots as plain JSON in
``features_json`` and ``edges_json`` (before packing), and the feature snapshot as the nested
dict itself (before the sparse form). Schema migration 4 rewrites them into this form
(``current_form`` says what to write for one stored incident); readers take this form only.
"""

from __future__ import annotations

import base64
import json
import zlib
from collections.abc import Sequence
from typing import Any

import orjson

SPARSE_FORMAT = "sparse-1"
LEVEL = 1  # the fastest level already shrinks these snapshots ~6x; higher levels gain little for their time

FeatureSnapshot = dict[str, dict[str, float]]


def pack(json_text: str) -> str:
    """The packed form of a JSON text."""
    return base64.b64encode(zlib.compress(json_text.encode(), LEVEL)).decode("ascii")


def unpack(packed: str) -> str:
    """The JSON text of a packed property."""
    return zlib.decompress(base64.b64decode(packed)).decode()


def encode_cells(entities: Sequence[str], features: Sequence[str], rows: Any, columns: Any, values: Any) -> str:
    """The feature snapshot holding the given cells (lists, or contiguous numpy arrays) as JSON text."""
    document = {
        "format": SPARSE_FORMAT,
        "entities": entities,
        "features": features,
        "rows": rows,
        "columns": columns,
        "values": values,
    }
    return orjson.dumps(document, option=orjson.OPT_SERIALIZE_NUMPY).decode()


def encode_dict(snapshot: FeatureSnapshot) -> str:
    """The feature snapshot of features already in entity -> name -> value form: every cell it holds."""
    names: dict[str, int] = {}
    rows: list[int] = []
    columns: list[int] = []
    values: list[float] = []
    for i, cells in enumerate(snapshot.values()):
        for name, value in cells.items():
            rows.append(i)
            columns.append(names.setdefault(name, len(names)))
            values.append(value)
    return encode_cells(list(snapshot), list(names), rows, columns, values)


def decode(text: str | None) -> FeatureSnapshot:
    """entity id -> feature name -> value of a feature snapshot's JSON text ({} for none)."""
    if text is None:
        return {}
    document = json.loads(text)
    if not isinstance(document, dict) or document.get("format") != SPARSE_FORMAT:
        found = document.get("format") if isinstance(document, dict) else type(document).__name__
        raise ValueError(
            f"feature snapshot not in the {SPARSE_FORMAT} form (format {found!r}): "
            "a graph written by an earlier version needs `rca graph migrate`"
        )
    entities, names = document["entities"], document["features"]
    out: FeatureSnapshot = {entity: {} for entity in entities}
    for i, j, value in zip(document["rows"], document["columns"], document["values"]):
        out[entities[i]][names[j]] = value
    return out


def features_of(incident: dict) -> FeatureSnapshot:
    """The feature snapshot of a stored :Incident's properties ({} for none)."""
    packed = incident.get("features_packed")
    return decode(unpack(packed)) if packed else {}


def edges_of(incident: dict) -> list[list[str]] | None:
    """The structure snapshot of a stored :Incident's properties (None when stored without a model)."""
    packed = incident.get("edges_packed")
    return json.loads(unpack(packed)) if packed else None


# -- the forms of earlier versions (schema migration 4) ----------------------------------------


def current_form(incident: dict) -> dict | None:
    """What to write so that a stored incident's snapshots are in the current form; None when they are.

    ``incident`` holds ``id``, ``features_packed``, ``edges_packed``, ``features_json`` and
    ``edges_json`` as stored. The result holds ``id``, ``features_packed`` and ``edges_packed``;
    the caller removes the plain properties. A packed property wins over a plain one (what readers
    of those versions did); an incident stored without a feature snapshot gets the empty one.
    """
    features_packed, edges_packed = incident.get("features_packed"), incident.get("edges_packed")
    plain = incident.get("features_json") is not None or incident.get("edges_json") is not None
    features_text: str = unpack(features_packed) if features_packed else (incident.get("features_json") or "{}")
    document = json.loads(features_text)
    if not isinstance(document, dict):
        raise ValueError(f"incident {incident['id']}: feature snapshot is {type(document).__name__}, not an object")
    if isinstance(document.get("format"), str):  # the sparse form
        if document["format"] != SPARSE_FORMAT:
            raise ValueError(f"incident {incident['id']}: feature snapshot in unknown format {document['format']!r}")
        if features_packed and not plain:
            return None
        features_packed = features_packed or pack(features_text)
    else:  # the nested form: an entity's value is a dict, never a string
        features_packed = pack(encode_dict(document))
    if not edges_packed and incident.get("edges_json"):
        edges_packed = pack(orjson.dumps(json.loads(incident["edges_json"])).decode())
    return {"id": incident["id"], "features_packed": features_packed, "edges_packed": edges_packed}

"""The feature snapshot stored with every incident: what the engine saw, as JSON text.

Readers get entity id -> feature name -> value (non-zero values only, rounded to 6 places).
It is written sparse, straight from the feature table's matrix: one list of entity ids, one of
feature names and the non-zero cells as row, column and value lists. Building the nested dict
for every Infer cost the serving process about a millisecond of interpreter time per call; the
sparse form is three numpy arrays that orjson writes in C. Incidents stored before carry the
nested dict itself, which `decode` returns unchanged.
"""

from __future__ import annotations

import json

import numpy as np
import orjson

from graph_schema import packed_json

SPARSE_FORMAT = "sparse-1"
DECIMALS = 6


def encode_table(node_ids: list[str], names: list[str], matrix: np.ndarray) -> str:
    """The snapshot of a feature matrix (rows: node_ids, columns: names) as sparse JSON text."""
    rows, cols = np.nonzero(matrix)  # views with strides: orjson writes contiguous arrays only
    document = {"format": SPARSE_FORMAT, "entities": node_ids, "features": names,
                "rows": np.ascontiguousarray(rows), "columns": np.ascontiguousarray(cols),
                "values": np.round(matrix[rows, cols], DECIMALS)}
    return orjson.dumps(document, option=orjson.OPT_SERIALIZE_NUMPY).decode()


def encode_dict(features: dict[str, dict[str, float]]) -> str:
    """The snapshot of features already in entity -> name -> value form."""
    return orjson.dumps(features, option=orjson.OPT_SORT_KEYS).decode()


def decode(text: str | None) -> dict[str, dict[str, float]]:
    """entity id -> non-zero feature name -> value, from either stored form ({} for none)."""
    document = json.loads(text or "{}")
    if not isinstance(document.get("format"), str):  # the nested form: an entity's value is a dict, never a string
        return document
    if document["format"] != SPARSE_FORMAT:
        raise ValueError(f"feature snapshot in unknown format {document['format']!r}")
    entities, names = document["entities"], document["features"]
    out: dict[str, dict[str, float]] = {entity: {} for entity in entities}
    for i, j, value in zip(document["rows"], document["columns"], document["values"]):
        out[entities[i]][names[j]] = value
    return out


def decode_stored(incident_row: dict) -> dict[str, dict[str, float]]:
    """The snapshot of a stored :Incident row, packed or as plain JSON (see graph_schema.packed_json)."""
    return decode(packed_json.json_text(incident_row, "features"))

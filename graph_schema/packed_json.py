"""Large JSON properties stored compressed: zlib over the JSON text, then base64 so that both servers keep a string.

An incident's feature snapshot and structure snapshot are ~70 KB of JSON for a 300-entity
subgraph; packed they are ~15 KB, which the graph server writes several times faster and keeps
in a fraction of the space. A packed property is named ``<name>_packed``; incidents stored before
packing carry ``<name>_json`` instead, and readers take either (``json_text``).
"""

from __future__ import annotations

import base64
import zlib

LEVEL = 1  # the fastest level already shrinks these snapshots ~6x; higher levels gain little for their time


def pack(json_text: str) -> str:
    """The packed form of a JSON text."""
    return base64.b64encode(zlib.compress(json_text.encode(), LEVEL)).decode("ascii")


def unpack(packed: str) -> str:
    """The JSON text of a packed property."""
    return zlib.decompress(base64.b64decode(packed)).decode()


def json_text(row: dict, name: str) -> str | None:
    """The JSON text of property `name` of a row: unpacked from `<name>_packed`, else `<name>_json`, else None."""
    packed = row.get(f"{name}_packed")
    return unpack(packed) if packed else row.get(f"{name}_json")

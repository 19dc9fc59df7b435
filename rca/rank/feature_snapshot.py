"""The feature snapshot's codec now lives in graph_schema.incident_snapshots (one stored form).

Kept only while rca.rank.types imports `feature_snapshot.encode_dict`; once it imports
graph_schema.incident_snapshots instead, this module goes.
"""

from graph_schema.incident_snapshots import encode_dict

__all__ = ["encode_dict"]

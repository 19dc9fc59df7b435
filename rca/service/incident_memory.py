"""Similar past incidents: the confirmed incidents whose model embeddings are closest to a new one's.

Every ranked incident is stored with the model's embedding (rca/service/incidents.py). Confirmed
incidents' embeddings are read at most every `refresh_s` seconds (and after every
Feedback given through any serving process), so a burst of Infer calls does not read them each time.
"""

from __future__ import annotations

import json
import threading
import time

import numpy as np

from graph_schema.cypher import incident_learning as cypher
from rca.service.stubs import pb

MAX_REMEMBERED = 5000  # confirmed incidents compared against; the newest are kept


class IncidentMemory:
    """Finds the most similar confirmed past incidents."""

    def __init__(self, store, refresh_s: float = 5.0, generation=lambda: 0):
        self.store = store
        self.refresh_s = refresh_s
        self.generation = generation  # changes when feedback was given in any serving process
        self._lock = threading.Lock()
        self._loaded_at = -float("inf")
        self._loaded_generation = 0
        self._rows: list[dict] = []
        self._matrix = np.zeros((0, 0))

    def _confirmed(self) -> tuple[list[dict], np.ndarray]:
        with self._lock:
            generation = self.generation()
            if time.monotonic() - self._loaded_at > self.refresh_s or generation != self._loaded_generation:
                self._loaded_generation = generation
                rows = [r for r in self.store.read(cypher.CONFIRMED_EMBEDDINGS, limit=MAX_REMEMBERED) if r["embedding"]]
                dims = {len(r["embedding"]) for r in rows}
                if len(dims) > 1:  # embeddings of another model version have another size: keep the newest kind
                    newest = len(rows[0]["embedding"])
                    rows = [r for r in rows if len(r["embedding"]) == newest]
                self._rows = rows
                self._matrix = np.array([r["embedding"] for r in rows], dtype=np.float64) if rows else np.zeros((0, 0))
                self._loaded_at = time.monotonic()
            return self._rows, self._matrix

    def similar(self, embedding: list[float], k: int, names: dict[str, str]) -> list:
        """The k confirmed incidents with the most similar embeddings, as SimilarIncident messages."""
        if k <= 0 or not embedding:
            return []
        rows, matrix = self._confirmed()
        if not rows or matrix.shape[1] != len(embedding):
            return []
        v = np.asarray(embedding, dtype=np.float64)
        sims = matrix @ v / (np.linalg.norm(matrix, axis=1) * np.linalg.norm(v) + 1e-12)
        best = sorted(range(len(rows)), key=lambda i: (-sims[i], rows[i]["id"]))[:k]
        return [
            pb.SimilarIncident(
                incident_id=rows[i]["id"],
                similarity=round(float(sims[i]), 6),
                root_cause_entity_id=rows[i]["root_cause_id"],
                root_cause_entity_name=names.get(rows[i]["root_cause_id"], rows[i]["root_cause_id"]),
                created_at=rows[i]["created_at"] or 0.0,
                symptoms=[
                    pb.ResolvedSymptom(
                        **{k2: s[k2] for k2 in ("entity_id", "entity_name", "family", "observed_at") if k2 in s}
                    )
                    for s in json.loads(rows[i].get("symptoms_json") or "[]")
                ],
            )
            for i in best
        ]

"""Similar past incidents: the confirmed incidents whose model embeddings are closest to a new one's.

Every ranked incident is stored with the model's embedding (rca/service/incidents.py). Confirmed
incidents' embeddings are read again at once after Feedback given through any serving process of
this `rca serve` (the next Infer waits for the read, so it sees the confirmation), and otherwise
every `refresh_s` seconds in the background, for confirmations written elsewhere (another host's
service). The read scans every :Incident (ArcadeDB has no index that finds the confirmed ones), so
its cost grows with the incidents stored: ~80 ms at 6,000 on an idle 2-core host, several hundred
under load. Done on the Infer path every 5 s, as before, it made the Infer p99 grow over a soak
run (docs/performance.md); an Infer now only reads what the last refresh left.
"""

from __future__ import annotations

import json
import logging
import threading
import time

import numpy as np

from graph_schema.cypher import incident_learning as cypher
from rca.service.stubs import pb

MAX_REMEMBERED = 5000  # confirmed incidents compared against; the newest are kept
# Feedback through this service is seen at once; confirmations written elsewhere within this.
REFRESH_S = 60.0

log = logging.getLogger(__name__)


class IncidentMemory:
    """Finds the most similar confirmed past incidents."""

    def __init__(self, store, refresh_s: float = REFRESH_S, generation=lambda: 0):
        self.store = store
        self.refresh_s = refresh_s
        self.generation = generation  # changes when feedback was given in any serving process
        self._lock = threading.Lock()
        self._loaded_at = -float("inf")
        self._loaded_generation: int | None = None
        self._refreshing = False
        self._rows: list[dict] = []
        self._matrix = np.zeros((0, 0))

    def _confirmed(self) -> tuple[list[dict], np.ndarray]:
        generation = self.generation()
        with self._lock:
            if generation != self._loaded_generation:  # the first call, or feedback was given: read now
                self._install(self._read(), generation)
            elif time.monotonic() - self._loaded_at > self.refresh_s and not self._refreshing:
                self._refreshing = True
                threading.Thread(
                    target=self._refresh, args=(generation,), name="rca-incident-memory", daemon=True
                ).start()
            return self._rows, self._matrix

    def _refresh(self, generation: int) -> None:
        """Read in the background; a read that feedback overtook meanwhile is dropped (the newer one stays)."""
        try:
            rows = self._read()
            with self._lock:
                if generation == self._loaded_generation:
                    self._install(rows, generation)
        except Exception as exc:  # the graph may be down: keep what was read last, try again after refresh_s
            log.warning("reading confirmed incidents failed, similar incidents stay as read before: %s", exc)
            with self._lock:
                self._loaded_at = time.monotonic()
        finally:
            self._refreshing = False

    def _read(self) -> list[dict]:
        rows = [r for r in self.store.read(cypher.CONFIRMED_EMBEDDINGS, limit=MAX_REMEMBERED) if r["embedding"]]
        dims = {len(r["embedding"]) for r in rows}
        if len(dims) > 1:  # embeddings of another model version have another size: keep the newest kind
            newest = len(rows[0]["embedding"])
            rows = [r for r in rows if len(r["embedding"]) == newest]
        return rows

    def _install(self, rows: list[dict], generation: int) -> None:
        self._rows = rows
        self._matrix = np.array([r["embedding"] for r in rows], dtype=np.float64) if rows else np.zeros((0, 0))
        self._loaded_at = time.monotonic()
        self._loaded_generation = generation

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

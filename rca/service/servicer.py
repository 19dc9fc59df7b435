"""The RootCause servicer: validate, fetch the subgraph, rank, store the incident, answer.

Every failure becomes a status code whose message names the field or entity at fault:
INVALID_ARGUMENT (malformed request), NOT_FOUND (unknown entity or incident), UNAVAILABLE
(graph unreachable; the next call reconnects), DEADLINE_EXCEEDED (the caller's deadline passed
between stages), INTERNAL (a bug, logged with its traceback).
"""

from __future__ import annotations

import contextlib
import logging
import time

import grpc
from neo4j.exceptions import ServiceUnavailable, SessionExpired, TransientError

from graph_schema.errors import GraphUnreachable
from graph_schema.migrations import LATEST_VERSION
from rca.rank.types import EngineInputError
from rca.service import convert, metrics, subgraph_fetch
from rca.service.ask import AskService
from rca.service.incident_memory import IncidentMemory
from rca.service.incident_writer import IncidentWriter
from rca.service.incidents import IncidentRecord, IncidentStore, new_incident_id
from rca.service.ledger import WriteLedger
from rca.service.rank_slots import DeadlinePassed, RankSlots, check_deadline
from rca.service.requests import InvalidArgument, NotFound, parse_infer
from rca.service.stubs import pb, pb_grpc
from settings.service import ServiceSettings

log = logging.getLogger(__name__)
GRAPH_DOWN_ERRORS = (ServiceUnavailable, SessionExpired, GraphUnreachable, TransientError, ConnectionError)
# Status details travel in a response header, which clients refuse above 16 KB (RESOURCE_EXHAUSTED instead of
# the real answer). The layers quote what the caller sent clipped (requests.clip); this bounds the rest too.
MAX_STATUS_CHARS = 1000


def bounded(message: str, limit: int = MAX_STATUS_CHARS) -> str:
    """A status message cut to ``limit`` characters, saying how long it was."""
    if len(message) <= limit:
        return message
    return f"{message[: limit - 40]}... (message of {len(message)} chars cut)"


class _Abort(Exception):
    def __init__(self, code: grpc.StatusCode, message: str):
        super().__init__(bounded(message))
        self.code = code


@contextlib.contextmanager
def _status(method: str):
    """Translate the layers' exceptions into status codes; count the call."""
    try:
        yield
    except InvalidArgument as exc:
        raise _Abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc)) from exc
    except EngineInputError as exc:
        raise _Abort(grpc.StatusCode.INVALID_ARGUMENT, f"subgraph: {exc}") from exc
    except NotFound as exc:
        raise _Abort(grpc.StatusCode.NOT_FOUND, str(exc)) from exc
    except DeadlinePassed as exc:
        raise _Abort(grpc.StatusCode.DEADLINE_EXCEEDED, str(exc)) from exc
    except GRAPH_DOWN_ERRORS as exc:
        metrics.GRAPH_UP.set(0)
        first = (str(exc).strip() or type(exc).__name__).splitlines()[0]
        raise _Abort(grpc.StatusCode.UNAVAILABLE, f"graph unavailable, retry later: {first}") from exc
    except Exception as exc:  # a bug: keep the service up, say so, log the traceback
        log.exception("%s failed", method)
        raise _Abort(grpc.StatusCode.INTERNAL, f"internal error in {method}: {type(exc).__name__}: {exc}") from exc


class RootCauseServicer(pb_grpc.RootCauseServicer):
    """Answers the RootCause service over one graph store and one ranking engine."""

    def __init__(
        self,
        store,
        engine,
        settings: ServiceSettings,
        *,
        topology=None,
        on_graph_state=None,
        similar_count: int = 3,
        ledger: WriteLedger | None = None,
        slot: int = 0,
    ):
        self.store = store
        self.topology = topology
        self.engine = engine
        self.settings = settings
        # shared with the sibling serving processes of one `rca serve` (this one is number `slot`)
        self.ledger, self.slot = ledger or WriteLedger(1), slot
        self.memory = IncidentMemory(store, generation=lambda: self.ledger.feedback_generation)
        self.similar_count = similar_count
        self.incidents = IncidentStore(store)
        self._rank_slots = RankSlots(settings.concurrent_ranks)
        self.writer = (
            IncidentWriter(
                self.incidents,
                transient=GRAPH_DOWN_ERRORS,
                ledger=self.ledger,
                slot=slot,
                linger_s=settings.store_incidents_linger_s,
                turns=self._rank_slots.background,
            )
            if settings.store_incidents_async
            else None
        )
        self._on_graph_state = on_graph_state or (lambda up: None)
        self.ask = AskService(store, settings, self.infer, self.memory, self._read_own_writes)
        self.started_at = time.time()  # GetStatus's uptime

    def _run(self, method: str, context, work):
        code = grpc.StatusCode.OK
        try:
            with _status(method):
                result = work()
            return result
        except _Abort as abort:
            code = abort.code
            if code == grpc.StatusCode.UNAVAILABLE:
                self._on_graph_state(False)
            context.abort(abort.code, str(abort))
        finally:
            metrics.observe_call(method, code.name)

    # -- RPCs --------------------------------------------------------------------------------

    def Infer(self, request, context):
        started = time.perf_counter()
        try:
            return self._run("Infer", context, lambda: self.infer(request, context))
        finally:
            metrics.INFER_LATENCY.observe(time.perf_counter() - started)

    def _read_own_writes(self) -> None:
        # Incidents answered a moment ago, by this process or a sibling, must be readable: wait for the writes pending
        # now (a fixed target, so a steady stream of new Infer calls cannot starve the read).
        if self.writer is not None and not self.ledger.wait_stored(timeout_s=30, slot=self.slot):
            raise GraphUnreachable("incidents answered earlier are still waiting to be stored; retry")

    def Feedback(self, request, context):
        def work():
            self._read_own_writes()
            record = self.incidents.feedback(request)
            self.ledger.feedback_given(self.slot)  # every serving process re-reads the confirmed incidents
            return pb.FeedbackResponse(incident_id=request.incident_id, recorded=record)

        return self._run("Feedback", context, work)

    def GetIncident(self, request, context):
        def work():
            self._read_own_writes()
            return self.incidents.get(request.incident_id, request.include_features)

        return self._run("GetIncident", context, work)

    def CloseIncident(self, request, context):
        def work():
            self._read_own_writes()
            self.incidents.close(request)
            return self.incidents.get(request.incident_id)

        return self._run("CloseIncident", context, work)

    def ListIncidents(self, request, context):
        def work():
            self._read_own_writes()
            return pb.ListIncidentsResponse(
                incidents=self.incidents.list(request.limit, request.since, request.entity_id)
            )

        return self._run("ListIncidents", context, work)

    def Ask(self, request, context):
        return self._run("Ask", context, lambda: self.ask.answer(request, context))

    def GetStatus(self, request, context):
        def work():
            now = time.time()
            return pb.ServiceStatus(
                # rankers served for comparison (baselines, rules alone) have no versions: name them at least
                versions=getattr(self.engine, "versions", None) or {"ranker": type(self.engine).__name__},
                graph_schema_version=LATEST_VERSION,
                started_at=self.started_at,
                uptime_s=round(now - self.started_at, 3),
            )

        return self._run("GetStatus", context, work)

    # -- Infer's stages ----------------------------------------------------------------------

    def infer(self, request, context):
        """Run one Infer: validate, subgraph, rank, store; returns the InferResponse."""
        timings: dict[str, float] = {}
        clock = time.perf_counter()

        def lap(stage: str) -> None:
            nonlocal clock
            now = time.perf_counter()
            timings[stage] = round((now - clock) * 1000, 3)
            clock = now

        query = parse_infer(request, self.settings)
        check_deadline(context, "fetching the subgraph")
        if query.subgraph is not None:
            subgraph, resolved = subgraph_fetch.from_request(query)
        else:
            subgraph, resolved = subgraph_fetch.from_graph(self.store, query, self.topology)
            self._graph_ok()
        lap("subgraph_ms")
        metrics.SUBGRAPH_ENTITIES.observe(len(subgraph.nodes))
        with self._rank_slots.hold(context):
            lap("rank_wait_ms")  # queued behind this process's other rankings (settings.concurrent_ranks)
            result = self.engine.rank(subgraph, query.top_k)
        lap("rank_ms")
        check_deadline(context, "storing the incident")
        response = convert.infer_response(new_incident_id(), subgraph, resolved, result, {})
        response.unresolved_symptoms.extend(query.unresolved)
        # the snapshot is built by the writer thread, off the response path
        record = IncidentRecord(response, result.feature_snapshot_json)
        embedding = result.embedding  # empty without a graph model
        if embedding:
            names = {n: node.name for n, node in subgraph.nodes.items()}
            response.similar_incidents.extend(self.memory.similar(embedding, self.similar_count, names))
            record.embedding, record.edges, record.model_version = (
                embedding,
                subgraph.edges,
                result.versions.get("model", ""),
            )
        if self.writer is not None:
            self.writer.submit(record)
        else:
            self.incidents.save([record])
            self._graph_ok()
        lap("store_ms")
        timings["total_ms"] = round(sum(timings.values()), 3)
        response.timings_ms.update(timings)
        return response

    def close(self) -> None:
        """Store the incidents still pending."""
        if self.writer is not None:
            self.writer.close()

    def _graph_ok(self) -> None:
        metrics.GRAPH_UP.set(1)
        self._on_graph_state(True)

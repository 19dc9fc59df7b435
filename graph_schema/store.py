"""The graph store: the one place that talks to the server through the official neo4j driver.

Reads run in read transactions (the hot single-statement read of every Infer, ``read_plain``, as
an auto-commit statement retried here), writes in managed write transactions that the driver
retries on transient errors and lost connections (up to ``max_retry_time_s``), and bulk writes go
in ``UNWIND $rows`` batches.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import neo4j
from neo4j import GraphDatabase
from neo4j.exceptions import (
    AuthError,
    ConstraintError,
    DriverError,
    IncompleteCommit,
    Neo4jError,
    ServiceUnavailable,
    SessionExpired,
)

from graph_schema import migrations
from graph_schema.credentials import graph_password
from graph_schema.cypher import meta
from graph_schema.errors import GraphAuthFailed, GraphUnreachable, SchemaTooOld
from graph_schema.model import Label
from settings.graph import GraphSettings

log = logging.getLogger(__name__)
T = TypeVar("T")

# Two cases the driver does not retry by itself, which the store does:
# - Two transactions that MERGE the same new node at once: Neo4j serialises them on the unique
#   constraint's lock, but ArcadeDB lets both try to create it and fails the later one with a
#   constraint error. Re-running the later one is correct (its MERGE now matches).
# - The connection dies during COMMIT (server killed or restarted): the outcome is unknown.
#   Topology, signal and incident writes are idempotent (MERGE by id, or planned from what the
#   graph holds inside the transaction), so running them again is correct either way. Syslog
#   event counts add up, so there a commit that did land is counted twice: a rare, known
#   over-count preferred to losing the batch (docs/syslog.md).
WRITE_RETRIES = 8
READ_RETRY_FIRST_DELAY_S = 0.05
READ_RETRY_MAX_DELAY_S = 1.0


@dataclass(frozen=True)
class ServerInfo:
    """What the server says it is, and the schema version applied to its graph."""

    address: str
    agent: str
    schema_version: int


def _batches(rows: Iterable[dict], size: int) -> Iterator[list[dict]]:
    batch: list[dict] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


class GraphStore:
    """Sessions, transactions, retries and batching over one driver."""

    def __init__(
        self,
        driver: neo4j.Driver,
        database: str,
        *,
        uri: str,
        user: str = "",
        batch_size: int = 2000,
        max_retry_time_s: float = 30.0,
    ):
        self._driver = driver
        self.max_retry_time_s = max_retry_time_s  # how long read_plain retries (the driver's setting for transactions)
        self.database = database
        self.uri = uri
        self.user = user  # with uri, what another process needs to connect the same way
        self.batch_size = batch_size

    @classmethod
    def connect(cls, settings: GraphSettings, uri: str | None = None, user: str | None = None) -> GraphStore:
        """Open a driver to ``uri`` (default: the configured one); does not contact the server yet."""
        target = uri or settings.uri
        if not target:
            raise ValueError("no graph URI: start the embedded server first or set NEO4J_URI")
        driver = GraphDatabase.driver(
            target,
            auth=(user or settings.user, graph_password(settings)),
            connection_timeout=settings.connect_timeout_s,
            max_transaction_retry_time=settings.max_retry_time_s,
            # ArcadeDB and Neo4j both accept keep-alive; stale pooled connections are retried anyway.
            keep_alive=True,
        )
        return cls(
            driver,
            settings.database,
            uri=target,
            user=user or settings.user,
            batch_size=settings.batch_size,
            max_retry_time_s=settings.max_retry_time_s,
        )

    def close(self) -> None:
        """Close the driver and its pooled connections."""
        self._driver.close()

    def __enter__(self) -> GraphStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- reads and writes -------------------------------------------------------------------

    def read(self, statement: str, **params: Any) -> list[dict]:
        """Run one read statement in a retried read transaction; rows as dicts."""
        with self._driver.session(database=self.database) as session:
            return session.execute_read(_collect, statement, params)

    def read_plain(self, statement: str, **params: Any) -> list[dict]:
        """Like read(), for one statement returning only scalars, lists and maps: rows as decoded.

        Made for the hot read of every Infer. The statement runs as an auto-commit transaction: one
        round trip instead of BEGIN, RUN and COMMIT, which saves the embedded server ~1.5 ms per call
        (measured). A single read statement needs no explicit transaction; it is retried here as the
        driver retries transactions (lost connection, transient error) for max_retry_time_s. It also
        skips the driver's Record.data() conversion (a recursive walk meant for nodes, relationships
        and paths), which costs milliseconds on a few dozen map rows and gives the same dicts here.
        """
        give_up = time.monotonic() + self.max_retry_time_s
        delay = READ_RETRY_FIRST_DELAY_S
        while True:
            try:
                with self._driver.session(database=self.database, default_access_mode=neo4j.READ_ACCESS) as session:
                    result = session.run(statement, params)
                    keys = result.keys()
                    return [dict(zip(keys, record.values())) for record in result]
            except (Neo4jError, DriverError) as exc:
                if not exc.is_retryable() or time.monotonic() + delay > give_up:
                    raise
                log.debug("read failed (%s: %s); retrying in %.2f s", type(exc).__name__, exc, delay)
                time.sleep(delay)
                delay = min(2 * delay, READ_RETRY_MAX_DELAY_S)

    def write(self, statement: str, **params: Any) -> list[dict]:
        """Run one write statement in a retried write transaction; rows as dicts."""
        with self._driver.session(database=self.database) as session:
            return _retry_races_and_lost_commits(session.execute_write, _collect, statement, params)

    def write_rows(self, statement: str, rows: Iterable[dict], batch_size: int | None = None, **params: Any) -> int:
        """Run ``statement`` (which starts with ``UNWIND $rows AS row``) over rows in batches.

        Each batch is its own retried transaction, so a long load survives a server restart
        between batches. ``params`` are passed to every batch. Returns the number of rows sent.
        """
        sent = 0
        with self._driver.session(database=self.database) as session:
            for batch in _batches(rows, batch_size or self.batch_size):
                _retry_races_and_lost_commits(session.execute_write, _consume, statement, {**params, "rows": batch})
                sent += len(batch)
        return sent

    def transaction(self, work: Callable[[neo4j.ManagedTransaction], T]) -> T:
        """Run ``work(tx)`` as one retried write transaction: all of it lands or none of it."""
        with self._driver.session(database=self.database) as session:
            return _retry_races_and_lost_commits(session.execute_write, work)

    def read_transaction(self, work: Callable[[neo4j.ManagedTransaction], T]) -> T:
        """Run ``work(tx)`` as one retried read transaction."""
        with self._driver.session(database=self.database) as session:
            return session.execute_read(work)

    # -- health -------------------------------------------------------------------------------

    def check(self, required_version: int | None = migrations.LATEST_VERSION) -> ServerInfo:
        """Say clearly whether the server is unreachable, the credentials wrong, or the schema too old."""
        try:
            self._driver.verify_connectivity()
            agent = self._driver.get_server_info().agent
            version = migrations.current_version(self)
        except AuthError as exc:
            raise GraphAuthFailed(f"graph at {self.uri} refused the credentials: {_first_line(exc)}") from exc
        except (ServiceUnavailable, SessionExpired, OSError) as exc:
            raise GraphUnreachable(f"graph at {self.uri} is unreachable: {_first_line(exc)}") from exc
        if required_version is not None and version < required_version:
            raise SchemaTooOld(
                f"graph at {self.uri} has schema version {version}, this code needs {required_version}: "
                "run `rca graph migrate`"
            )
        return ServerInfo(address=self.uri, agent=agent, schema_version=version)

    def counts_by_label(self, labels: Iterable[Label]) -> dict[str, int]:
        """Node count per label."""
        return {str(label): self.read(meta.COUNT_LABEL.format(label=label))[0]["count"] for label in labels}


def _retry_races_and_lost_commits(execute: Callable[..., T], *args: Any) -> T:
    for attempt in range(WRITE_RETRIES):
        try:
            return execute(*args)
        except (ConstraintError, IncompleteCommit) as exc:
            if attempt == WRITE_RETRIES - 1:
                raise
            log.debug("%s on attempt %d; retrying", type(exc).__name__, attempt + 1)
            time.sleep(0.01 * (2**attempt))
    raise AssertionError("unreachable")


def write_rows_in(
    tx: neo4j.ManagedTransaction, statement: str, rows: list[dict], batch_size: int, **params: Any
) -> int:
    """Like ``GraphStore.write_rows`` but inside a transaction the caller holds (all or nothing)."""
    for batch in _batches(rows, batch_size):
        tx.run(statement, {**params, "rows": batch}).consume()
    return len(rows)


def _collect(tx: neo4j.ManagedTransaction, statement: str, params: dict) -> list[dict]:
    return [record.data() for record in tx.run(statement, params)]


def _consume(tx: neo4j.ManagedTransaction, statement: str, params: dict) -> None:
    tx.run(statement, params).consume()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]

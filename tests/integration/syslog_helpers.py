"""Shared helpers of the syslog integration tests: a running worker on the session graph."""

from __future__ import annotations

import subprocess
import time
from contextlib import contextmanager

from graph_schema.cypher import events as cypher
from graph_schema.model import Label
from graph_schema.store import GraphStore
from ingest.syslog.aggregator import EntityRef, EventAggregator
from ingest.syslog.listeners import SyslogListeners
from ingest.syslog.pipeline import SyslogPipeline
from settings.ingest import SyslogSettings


def fast_settings(tmp_path, **overrides) -> SyslogSettings:
    """Settings that flush quickly, with state under ``tmp_path``."""
    values = {
        "state_dir": tmp_path / "state",
        "flush_interval_s": 0.3,
        "retry_interval_s": 0.3,
        "write_retry_time_s": 1.0,
    }
    values.update(overrides)
    return SyslogSettings(**values)


@contextmanager
def running_worker(settings: SyslogSettings, store):
    """A started pipeline and its listeners; stopped (and flushed) on exit."""
    pipeline = SyslogPipeline(settings, store).start()
    listeners = SyslogListeners(pipeline, poll_interval_s=0.05)
    try:
        yield pipeline, listeners
    finally:
        listeners.stop()
        pipeline.stop(timeout=60)


@contextmanager
def short_retry_store(graph_settings, graph_uri, graph_user):
    """A store whose writes give up after a second, as the worker's do, so outages reach the buffer."""
    settings = graph_settings.model_copy(update={"max_retry_time_s": 1.0})
    with GraphStore.connect(settings, uri=graph_uri, user=graph_user) as store:
        yield store


def wait_for(predicate, timeout: float = 30.0, interval: float = 0.2):
    """Poll ``predicate`` until it returns a truthy value; that value, or the last one at timeout."""
    deadline = time.monotonic() + timeout
    value = predicate()
    while not value and time.monotonic() < deadline:
        time.sleep(interval)
        value = predicate()
    return value


def events_of(store, entity_id: str) -> list[dict]:
    """The Event rows of one entity."""
    return store.read(cypher.EVENTS_OF_ENTITY, entity_id=entity_id)


def total_count(store, entity_id: str) -> int:
    """Lines counted in all Events of one entity."""
    return sum(row["count"] for row in events_of(store, entity_id))


def drained_event_rows(host: EntityRef, lines: int) -> list[dict]:
    """One worker's drain: the event rows (one fresh write token) of `lines` lines of one template in one bucket."""
    aggregator = EventAggregator(60)
    for i in range(lines):
        aggregator.add(host, "tpl-disk", 1_000_000 + i * 0.1, 3, "disk_full", "No space left on device")
    return aggregator.drain(lambda template_id: "No space left on device")["events"]


def write_event_rows(store, rows: list[dict]) -> None:
    """Write drained event rows as the syslog writer does (one upsert of a host's events)."""
    store.transaction(lambda tx: tx.run(cypher.UPSERT_EVENTS[Label.HOST], rows=rows).consume())


@contextmanager
def running_rsyslog(tmp_path, conf_text: str):
    """Debian's rsyslogd in the foreground with this configuration (its work directory made); yields the process."""
    (tmp_path / "rsyslog").mkdir(exist_ok=True)
    conf = tmp_path / "rsyslog.conf"
    conf.write_text(conf_text)
    proc = subprocess.Popen(
        ["rsyslogd", "-n", "-f", str(conf), "-i", str(tmp_path / "rsyslog.pid")],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        yield proc
    finally:
        proc.terminate()
        proc.wait(timeout=10)

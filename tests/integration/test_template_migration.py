"""Schema migration 6 against the real graph: event templates of the Drain3 miner read in today's form."""

from __future__ import annotations

from graph_schema import migrations
from graph_schema.cypher import meta
from graph_schema.model import Label
from ingest.syslog.aggregator import EntityRef, EventAggregator
from tests.integration.syslog_helpers import events_of, write_event_rows

VERSION = 6
OLD = {
    "tpl-1": ("connect to <HOST> port <NUM> refused", "connect to <*> port <*> refused"),
    "tpl-2": ("took <NUM> <NUM> ms for <ORDER>", "took <*> ms for <*>"),
    "tpl-3": ("disk full", "disk full"),
    "tpl-4": ("worker <*> restarted", "worker <*> restarted"),
}


def _write_old_events(store, host: EntityRef) -> None:
    aggregator = EventAggregator(60)
    for template_id in OLD:
        aggregator.add(host, template_id, 1_000_000.0, 3, "other", "a line")
    write_event_rows(store, aggregator.drain(lambda template_id: OLD[template_id][0])["events"])


def _as_version_5(store) -> None:
    store.write(meta.FORGET_MIGRATIONS_FROM, version=VERSION)
    assert migrations.current_version(store) == VERSION - 1


def test_event_templates_of_the_drain3_miner_are_rewritten_once(store, unique_prefix):
    host = EntityRef(Label.HOST, f"{unique_prefix}host", f"{unique_prefix}host")
    _write_old_events(store, host)
    assert {row["template"] for row in events_of(store, host.id)} == {old for old, _ in OLD.values()}

    _as_version_5(store)
    assert migrations.migrate(store) == list(range(VERSION, migrations.LATEST_VERSION + 1))
    by_template = {row["template_id"]: row["template"] for row in events_of(store, host.id)}
    assert by_template == {template_id: new for template_id, (_, new) in OLD.items()}

    (migration,) = [m for m in migrations.MIGRATIONS if m.version == VERSION]
    assert [rewrite(store) for rewrite in migration.rewrites] == [0]  # run again: nothing left to rewrite
    assert {row["template_id"]: row["template"] for row in events_of(store, host.id)} == by_template

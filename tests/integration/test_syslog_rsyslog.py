"""A real rsyslog, started by the test with its own config, reads a file (imfile) and forwards it to us."""

from __future__ import annotations

import shutil

from graph_schema.cypher import events as cypher
from tests.integration.syslog_helpers import (
    events_of,
    fast_settings,
    running_rsyslog,
    running_worker,
    total_count,
    wait_for,
)

RSYSLOG_CONF = """
global(workDirectory="{work}")
module(load="imfile" PollingInterval="1")
input(type="imfile" File="{source}" Tag="{tag}" Severity="warning" Facility="local0")
action(type="omfwd" Target="127.0.0.1" Port="{port}" Protocol="tcp" TCP_Framing="octet-counted"
       Template="RSYSLOG_SyslogProtocol23Format")
"""


def test_rsyslog_forwards_a_file(store, tmp_path, unique_prefix):
    assert shutil.which("rsyslogd"), "the Debian package rsyslog is needed"
    tag = f"{unique_prefix}payments"
    source = tmp_path / "app.log"
    source.write_text("")
    settings = fast_settings(tmp_path)
    with running_worker(settings, store) as (_pipeline, listeners):
        _, port = listeners.add_tcp("127.0.0.1", 0)
        conf = RSYSLOG_CONF.format(work=tmp_path / "rsyslog", source=source, tag=tag, port=port)
        with running_rsyslog(tmp_path, conf) as proc:
            with source.open("a") as out:
                for i in range(20):
                    out.write(f"payment {i} failed: upstream timed out after {100 + i}ms\n")
                for i in range(10):
                    out.write(f"deployed version 1.4.{i} of payments\n")
            assert wait_for(lambda: total_count(store, tag) == 30, timeout=60), (events_of(store, tag), proc.poll())
    rows = events_of(store, tag)
    by_class = {}
    for row in rows:
        by_class[row["signature_class"]] = by_class.get(row["signature_class"], 0) + row["count"]
    assert by_class == {"timeout": 20, "change": 10}
    assert all(row["severity"] == 4 for row in rows)  # Severity="warning"
    assert len({row["template_id"] for row in rows if row["signature_class"] == "timeout"}) == 1
    changes = store.read(cypher.CHANGES_OF_ENTITY, entity_id=tag)
    assert len(changes) == 10 and {c["change_type"] for c in changes} == {"deploy"}
    assert all(c["concerns"] == tag for c in changes)

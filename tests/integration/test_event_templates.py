"""A template the miner generalised between two buckets is read as one template from the graph."""

from __future__ import annotations

from ingest.syslog.miner import Masker, TemplateMiner
from ingest.syslog.worker_metrics import SyslogMetrics
from ingest.syslog.writer import GraphWriter
from rca.rank.log_change import template_changes
from rca.service import subgraph_fetch
from rca.service.requests import parse_infer
from rca.service.stubs import pb
from settings.service import ServiceSettings
from tests.support import signal_writes

T0 = 1_760_000_000.0
HEAD = "ERROR f.m.s.BasicServiceImpl#233 TraceID: 3f2a SpanID: 9b1c"
FIRST = f"18:13:36.478 {HEAD} [getRoutes][Get Route By Ids Failed]"
VARIANT = f"18:20:01.112 {HEAD} [getRoutes][getRoutes][Get Route By Ids Failed]"


def _event(p: str, template_id: str, text: str, bucket: float, batch: str) -> dict:
    return {
        "id": f"{p}{template_id}|{bucket:.0f}",
        "entity_id": f"{p}basic",
        "entity_label": "Service",
        "template_id": template_id,
        "template": text,
        "bucket": bucket,
        "bucket_seconds": 60.0,
        "count": 10,
        "first_ts": bucket + 5,
        "last_ts": bucket + 55,
        "severity": 3,
        "signature_class": "other",
        "sample": "",
        "batch": batch,
    }


def test_a_template_generalised_by_the_miner_between_buckets_is_one_template_not_a_new_one(store, unique_prefix):
    p = unique_prefix
    miner, masker = TemplateMiner(), Masker()
    number = miner.add(masker.tokens(FIRST))
    before_text = miner.templates[number].text
    assert miner.add(masker.tokens(VARIANT)) == number  # the variant joins the template ...
    after_text = miner.templates[number].text
    assert after_text != before_text  # ... and generalises its text
    template_id = f"{p}miner-{number}"
    signal_writes.write_entities(store, [{"id": f"{p}basic", "label": "Service", "name": f"{p}basic"}])
    writer = GraphWriter(store, None, SyslogMetrics(), rows_per_statement=100, retry_interval_s=1.0)
    # the syslog writer writes each bucket with the text the template had when the bucket was flushed
    writer.write_batch({"events": [_event(p, template_id, before_text, T0 - 1500, f"{p}b1")]})
    writer.write_batch({"events": [_event(p, template_id, after_text, T0 + 600, f"{p}b2")]})

    end = T0 + 900
    request = pb.InferRequest(
        symptoms=[pb.Symptom(entity_id=f"{p}basic", family="errors", observed_at=end)],
        window=pb.TimeWindow(start=T0 - 1800, end=end),
    )
    subgraph, _ = subgraph_fetch.from_graph(store, parse_infer(request, ServiceSettings(), now=end))
    assert [e.template for e in subgraph.events] == [after_text, after_text]
    # ten lines before the split and ten after: not new, not faster
    assert template_changes(subgraph.events, subgraph.window_start, subgraph.alert_time, subgraph.window_end) == []

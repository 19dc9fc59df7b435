"""A template the miner generalised between two buckets is read as one template from the graph."""

from __future__ import annotations

from datetime import UTC

from ingest.syslog.miner import Masker, TemplateMiner
from ingest.syslog.worker_metrics import SyslogMetrics
from ingest.syslog.writer import GraphWriter
from rca.nlq.answers import Answerer
from rca.nlq.parser import Parsed
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


def _write_generalised_template(store, p: str) -> tuple[str, str]:
    """Two buckets of one template, the second written after the miner generalised its text; the texts."""
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
    return before_text, after_text


def test_a_template_generalised_by_the_miner_between_buckets_is_one_template_not_a_new_one(store, unique_prefix):
    p = unique_prefix
    _, after_text = _write_generalised_template(store, p)

    end = T0 + 900
    request = pb.InferRequest(
        symptoms=[pb.Symptom(entity_id=f"{p}basic", family="errors", observed_at=end)],
        window=pb.TimeWindow(start=T0 - 1800, end=end),
    )
    subgraph, _ = subgraph_fetch.from_graph(store, parse_infer(request, ServiceSettings(), now=end))
    assert [e.template for e in subgraph.events] == [after_text, after_text]
    # ten lines before the split and ten after: not new, not faster
    assert template_changes(subgraph.events, subgraph.window_start, subgraph.alert_time, subgraph.window_end) == []


def test_the_errors_answer_counts_a_generalised_template_once_under_its_latest_text(store, unique_prefix):
    p = unique_prefix
    _, after_text = _write_generalised_template(store, p)
    answerer = Answerer(store, catalog=None, structure=None, infer=None, similar=None)
    answer = answerer.answer(Parsed(intent="errors"), now=T0 + 900, tz=UTC, max_rows=1000)
    mine = [row for row in answer.rows if row[1] == f"{p}basic"]
    assert mine == [["20", f"{p}basic", "other", after_text, mine[0][4], mine[0][5]]]

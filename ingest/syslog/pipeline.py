"""The processor: frames from the listeners -> parse -> entity -> template -> class -> aggregate -> buffer.

Listeners put ``(transport, source, frames)`` tuples on one bounded queue; one thread here
does the per-line work and flushes aggregates on a timer, so the graph sees batches, never lines.
With the journal on, ``submit`` journals a batch and queues it under one lock, so the queue holds
batches in journal order and a flush covers every line up to the last one it processed.
"""

from __future__ import annotations

import logging
import queue
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from graph_schema.model import Label
from ingest.syslog.aggregator import EventAggregator, merge_batches
from ingest.syslog.buffer import JOURNAL_KEY, WriteBuffer
from ingest.syslog.classes import OTHER, SignatureClassifier, load_class_rules
from ingest.syslog.dead_letter import DeadLetters
from ingest.syslog.entities import EntityMapper, load_entity_rules
from ingest.syslog.framing import Oversize
from ingest.syslog.journal import Journal
from ingest.syslog.parser import DEFAULT_PRI, UNPARSED, SyslogParser
from ingest.syslog.private_files import private_dir, write_private
from ingest.syslog.rate_limited_log import RateLimitedLog
from ingest.syslog.templates import LogTemplates, load_masks
from ingest.syslog.trace_hops import TraceHops
from ingest.syslog.worker_metrics import SyslogMetrics
from ingest.syslog.writer import GraphWriter
from settings.ingest import SyslogSettings

log = logging.getLogger(__name__)
STOP = object()


@dataclass
class Paths:
    """Where the worker keeps its state under ``state_dir``."""

    root: Path

    @property
    def templates(self) -> Path:
        return self.root / "templates.json"

    @property
    def templates_uid(self) -> Path:
        return self.root / "templates.uid"

    @property
    def drain3_templates(self) -> Path:
        """Where versions before the shape miner kept their Drain3 state (taken over once)."""
        return self.root / "drain3_state.bin"

    @property
    def drain3_templates_uid(self) -> Path:
        return self.root / "drain3_state.uid"

    @property
    def spool(self) -> Path:
        return self.root / "spool"

    @property
    def dead_letters(self) -> Path:
        return self.root / "dead_letters.jsonl"

    @property
    def offsets(self) -> Path:
        return self.root / "file_offsets.json"

    @property
    def journal(self) -> Path:
        return self.root / "journal"


class SyslogPipeline:
    """Owns the queue, the processing thread, the aggregator, the buffer and the graph writer."""

    def __init__(
        self, settings: SyslogSettings, store, metrics: SyslogMetrics | None = None, keep_hop_series: bool = False
    ):
        self.settings = settings
        self.paths = Paths(settings.state_dir)
        private_dir(self.paths.root)
        self.metrics = metrics or SyslogMetrics()
        self.queue: queue.Queue = queue.Queue(maxsize=settings.queue_batches)
        self.parser = SyslogParser(default_tz=ZoneInfo(settings.default_timezone))
        self.templates = LogTemplates(
            load_masks(extra=[m.model_dump() for m in settings.extra_masks]),
            max_templates=settings.max_templates,
            state_file=self.paths.templates,
            legacy_state_file=self.paths.drain3_templates,
        )
        self._template_prefix = self._templates_uid()
        self.classifier = SignatureClassifier(load_class_rules(extra=settings.extra_classes))
        self.dead_letters = DeadLetters(
            self.paths.dead_letters,
            settings.dead_letter_max_bytes,
            settings.dead_letter_backups,
            on_write=lambda reason: self.metrics.dead_lettered.labels(reason).inc(),
        )
        self.aggregator = EventAggregator(settings.bucket_seconds)
        self.buffer = WriteBuffer(
            self.paths.spool,
            settings.buffer_memory_rows,
            merge=merge_batches,
            merge_limit=settings.max_aggregates,
            durable=settings.journal,
        )
        self.journal: Journal | None = None
        if settings.journal:
            self.journal = Journal(
                self.paths.journal,
                segment_bytes=settings.journal_segment_bytes,
                max_bytes=settings.journal_max_bytes,
                sync_lines=settings.journal_sync_lines,
                sync_interval_s=settings.journal_sync_interval_s,
                covered=self.buffer.journal_covered,
            )
            journal = self.journal
            self.metrics.journal_lines.set_function(lambda: journal.position)
            self.metrics.journal_synced_lines.set_function(lambda: journal.synced)
            self.metrics.journal_released_lines.set_function(lambda: journal.released)
            self.metrics.journal_bytes.set_function(lambda: journal.size)
        self._submit_lock = threading.Lock()
        self._processed = self.journal.released if self.journal else 0  # the last journal line processed
        self.writer = GraphWriter(
            store,
            self.buffer,
            self.metrics,
            rows_per_statement=settings.write_batch_rows,
            retry_interval_s=settings.retry_interval_s,
        )
        self.mapper = EntityMapper(load_entity_rules(extra=settings.extra_entity_rules), self.writer.lookup)
        self.trace_hops = TraceHops(settings.bucket_seconds, keep_series=keep_hop_series)
        self._hop_kinds: dict[str, str] = {}  # entity id -> the kind its hops are observed under
        self._thread = threading.Thread(target=self._run, name="syslog-processor", daemon=True)
        self._next_flush = time.monotonic() + settings.flush_interval_s
        self.lines_processed = 0
        self.lines_replayed = 0
        self._state_log = RateLimitedLog(log, settings.error_log_interval_s)

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> SyslogPipeline:
        """Replay what the journal holds past its checkpoint, then start the writer and the processing thread."""
        self.writer.start()
        if self.journal is not None and self.journal.pending:
            records, self.journal.pending = self.journal.pending, []
            for record in records:
                self._process_item(record.transport, record.source, record.frames, record.received_at, record.end)
                self.lines_replayed += len(record.frames)
                if len(self.aggregator) >= self.settings.max_aggregates:
                    self.flush()
            self.flush()
            log.info("replayed %d lines from the journal in %s", self.lines_replayed, self.paths.journal)
        self._thread.start()
        return self

    def stop(self, timeout: float = 30.0) -> bool:
        """Process what is queued, flush, write (or spill) everything; True when all reached the graph."""
        self.queue.put(STOP)
        self._thread.join()
        self.flush()
        done = self.writer.stop(timeout)
        self.templates.save()
        self.dead_letters.close()
        if self.journal is not None:
            self.journal.close()
        return done

    def submit(self, transport: str, source: str, frames: list, block: bool = True, cursor: str = "") -> bool:
        """Journal and queue frames from a listener; False when the queue or journal is full and ``block`` is False.

        ``cursor`` is where the source stands after these frames (a followed file's offset), kept with
        them in the journal so that a restart resumes the source after what the journal holds.
        """
        journal = self.journal
        if journal is None:
            try:
                self.queue.put((transport, source, frames, None, 0), block=block)
            except queue.Full:
                return False
            return True
        while True:
            with self._submit_lock:
                if not self.queue.full():
                    received_at = time.time()
                    end = journal.append(transport, source, frames, received_at, cursor)
                    if end is not None:
                        self.queue.put_nowait((transport, source, frames, received_at, end))
                        return True
            if not block:
                return False
            time.sleep(0.005)

    def submit_acknowledged(self, transport: str, source: str, frames: list) -> int | None:
        """Journal and queue frames without waiting; the journal's number of their last line, None when full.

        Without the journal the frames are only queued (and 0 is returned): an acknowledgement then
        promises less, since a crash loses what is queued.
        """
        if self.journal is None:
            try:
                self.queue.put_nowait((transport, source, frames, time.time(), 0))
            except queue.Full:
                return None
            return 0
        with self._submit_lock:
            if self.queue.full():
                return None
            received_at = time.time()
            end = self.journal.append(transport, source, frames, received_at)
            if end is not None:
                self.queue.put_nowait((transport, source, frames, received_at, end))
            return end

    # -- processing ---------------------------------------------------------------------------

    def _run(self) -> None:
        get = self.queue.get
        interval = self.settings.flush_interval_s
        while True:
            try:
                item = get(timeout=min(interval, 0.5))
            except queue.Empty:
                item = None
            if item is STOP:
                return
            if item is not None:
                self._process_item(*item)
            self.metrics.queue_depth.set(self.queue.qsize())
            if (
                time.monotonic() >= self._next_flush
                or len(self.aggregator) >= self.settings.max_aggregates
                or (self.journal is not None and self.journal.wants_release())
            ):
                self.flush()

    def _observe_hop(self, entity_id: str, kind: str, seconds: float) -> None:
        """One hop into the entity, in the histogram the metrics poll reads back (log_trace_hop_latency) as
        the entity of that kind. An entity whose kind changed (decided by the rules alone while the graph
        was down, then known) leaves no child under its old kind: it would stay a phantom entity."""
        earlier = self._hop_kinds.get(entity_id)
        if earlier != kind:
            if earlier is not None:
                self.metrics.trace_hop_seconds.remove(entity_id, earlier)
            self._hop_kinds[entity_id] = kind
        self.metrics.trace_hop_seconds.labels(entity_id, kind).observe(seconds)

    def _process_item(self, transport: str, source: str, frames: list, received_at: float | None, end: int) -> None:
        try:
            self.process(transport, source, frames, received_at)
        except Exception:
            log.exception("processing a batch from %s failed; its lines are dead-lettered", source)
            for frame in frames:
                if isinstance(frame, bytes):
                    self.dead_letters.put("processing error", frame, source)
        if end:
            self._processed = end

    def process(self, transport: str, source: str, frames: list, received_at: float | None = None) -> None:
        """Turn frames into aggregate counts (the per-line hot path); ``received_at`` times lines that carry none."""
        max_len = self.settings.max_line_bytes
        parse = self.parser.parse
        add_template = self.templates.add
        template_text = self.templates.template
        classify = self.classifier.for_template
        mapper = self.mapper.map
        aggregate = self.aggregator.add
        trace_hop = self.trace_hops.add
        observe_hop = self._observe_hop
        prefix = self._template_prefix
        parsed_counts: dict[str, int] = {}
        now = received_at if received_at is not None else time.time()
        for frame in frames:
            if isinstance(frame, Oversize):
                self.dead_letters.put("oversize", frame.head, source, frame.length)
                continue
            if len(frame) > max_len:
                self.dead_letters.put("oversize", frame[:256], source, len(frame))
                continue
            try:
                line = frame.decode("utf-8")
            except UnicodeDecodeError:
                self.dead_letters.put("not valid UTF-8", frame, source)
                continue
            record = parse(line)
            parsed_counts[record.format] = parsed_counts.get(record.format, 0) + 1
            entity = mapper(record.hostname or _host_of(source), record.app_name)
            template_id = add_template(record.message)
            rule = classify(template_text(template_id))
            severity = record.severity if record.severity is not None else DEFAULT_PRI & 7
            at = record.timestamp if record.timestamp is not None else now
            hop = trace_hop(entity.id, at, record.message)
            if hop is not None and entity.label in HOP_LABELS:
                observe_hop(entity.id, str(entity.label), hop)
            aggregate(
                entity,
                f"{prefix}-{template_id}",
                at,
                severity,
                rule.signature_class if rule else OTHER,
                record.raw,
                rule.change_type if rule else None,
                record.message,
            )
        self.metrics.received.labels(transport).inc(len(frames))
        for fmt, count in parsed_counts.items():
            self.metrics.parsed.labels(fmt).inc(count)
            if fmt == UNPARSED:
                self.metrics.unparsed.inc(count)
            self.lines_processed += count

    def flush(self) -> None:
        """Hand the open aggregates to the buffer as one batch; the journal drops the lines it covers."""
        self._next_flush = time.monotonic() + self.settings.flush_interval_s
        covered = self._processed
        if self.aggregator.has_pending():
            prefix_len = len(self._template_prefix) + 1
            batch = self.aggregator.drain(lambda tid: self.templates.template(int(tid[prefix_len:])))
            # Templates first: a batch on disk never names a template id the saved state lacks.
            self._until_done(self.templates.save)
            if self.journal is not None:
                batch[JOURNAL_KEY] = covered
            self._until_done(lambda: self.buffer.put(batch))  # durable (spooled and synced) when journaling
            self.metrics.templates.set(len(self.templates))
        if self.journal is not None:
            journal = self.journal
            self._until_done(lambda: journal.release(covered))

    def _until_done(self, step) -> None:
        """Run a step that writes state files, retrying while the disk or descriptors run out.

        Meanwhile the processor waits and input backs up (TCP senders wait, UDP is counted
        dropped): a batch or checkpoint skipped here would lose lines or count them twice.
        """
        backoff = 0.05
        while True:
            try:
                step()
                return
            except OSError as exc:
                self._state_log.warning("writing the syslog state failed (%s); retrying", exc)
                time.sleep(backoff)
                backoff = min(backoff * 2, 2.0)

    # -- helpers ------------------------------------------------------------------------------

    def _templates_uid(self) -> str:
        # The miner numbers templates 1, 2, ...; a uid kept with its state keeps ids from two
        # different states (say, after the state file was deleted) from colliding in the graph.
        # Templates taken over from a Drain3 state keep that state's uid, so their ids go on.
        path = self.paths.templates_uid
        if path.exists() and self.paths.templates.exists():
            return path.read_text().strip()
        legacy = self.paths.drain3_templates_uid
        if legacy.exists() and self.paths.drain3_templates.exists():
            uid = legacy.read_text().strip()
        else:
            uid = uuid.uuid4().hex[:8]
        write_private(path, uid)
        return uid


HOP_LABELS = (Label.SERVICE, Label.DATASTORE)  # the histogram's `service` names one of these, its `kind` says which


def _host_of(source: str) -> str:
    """The sender of a line without hostname: the peer address for network sources, else this host."""
    transport, _, rest = source.partition(":")
    if transport in ("udp", "tcp", "relp") and rest:
        return rest.rsplit(":", 1)[0]
    return _LOCAL_HOST


_LOCAL_HOST = socket.gethostname()

"""The journal: every accepted line is on disk before the pipeline sees it, and replayed after a crash.

Lines are numbered as they are appended (a line sequence number that never goes back, across
restarts). Each listener batch becomes one record in an append-only segment file
(``<state_dir>/journal/*.seg``, 0600) with one ``write`` call, so a killed worker leaves every
appended record in the page cache and thus on disk; ``fdatasync`` runs in groups (every
``sync_lines`` lines or ``sync_interval_s``, whichever comes first), which bounds what a power
loss or kernel crash can take.

A flush hands its aggregates to the buffer with the number of the last line it covers; the buffer
makes that batch durable (a spool file) before the journal is told it may drop those lines
(``release``), which writes ``checkpoint`` and deletes the segments wholly covered. On start,
records past the checkpoint (and past what any spool file covers) are replayed. A line is thus
either in the journal past the checkpoint or in a durable batch, never both and never neither;
the batch's write token makes a write repeated after a crash count once.

Record layout: ``MAGIC | body length u32 | crc32 u32 | body``; body: ``first line u64 | lines u32 |
received_at f64 | transport | source | cursor | frames``, strings as ``u16 length + UTF-8``, frames
as ``kind u8 | length u32 | bytes`` (kind 1 is an oversize frame: its length and its head).
A torn record at the end (a crash during ``write``) ends the segment.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import struct
import threading
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ingest.syslog.framing import Oversize
from ingest.syslog.private_files import FILE_MODE, private_dir, write_private
from ingest.syslog.rate_limited_log import RateLimitedLog

log = logging.getLogger(__name__)
MAGIC = b"RJ"
_HEAD = struct.Struct("<2sII")
_BODY = struct.Struct("<QId")
_FRAME = struct.Struct("<BI")
_STR = struct.Struct("<H")
CHECKPOINT = "checkpoint"


@dataclass(slots=True)
class Record:
    """One listener batch as journaled: lines ``first+1 .. first+len(frames)``."""

    first: int
    received_at: float
    transport: str
    source: str
    cursor: str
    frames: list

    @property
    def end(self) -> int:
        """The number of the record's last line (``first`` when it has none)."""
        return self.first + len(self.frames)


def encode(first: int, received_at: float, transport: str, source: str, cursor: str, frames: list) -> bytes:
    """The bytes of one record."""
    parts = [_BODY.pack(first, len(frames), received_at)]
    for text in (transport, source, cursor):
        raw = text.encode("utf-8", "surrogateescape")[:65535]
        parts += [_STR.pack(len(raw)), raw]
    for frame in frames:
        if isinstance(frame, Oversize):
            parts += [_FRAME.pack(1, frame.length), _STR.pack(len(frame.head)), frame.head]
        else:
            parts += [_FRAME.pack(0, len(frame)), frame]
    body = b"".join(parts)
    return _HEAD.pack(MAGIC, len(body), zlib.crc32(body)) + body


def decode(body: bytes) -> Record:
    """A record from its body (after the header's checks)."""
    first, count, received_at = _BODY.unpack_from(body, 0)
    pos = _BODY.size
    texts = []
    for _ in range(3):
        (n,) = _STR.unpack_from(body, pos)
        pos += _STR.size
        texts.append(body[pos : pos + n].decode("utf-8", "surrogateescape"))
        pos += n
    frames: list = []
    for _ in range(count):
        kind, length = _FRAME.unpack_from(body, pos)
        pos += _FRAME.size
        if kind == 1:
            (n,) = _STR.unpack_from(body, pos)
            pos += _STR.size
            frames.append(Oversize(body[pos : pos + n], length))
            pos += n
        else:
            frames.append(body[pos : pos + length])
            pos += length
    return Record(first, received_at, texts[0], texts[1], texts[2], frames)


def read_segment(path: Path) -> Iterator[Record]:
    """The whole records of one segment, in order; stops at a torn or corrupt tail."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return
    pos = 0
    while pos + _HEAD.size <= len(data):
        magic, length, crc = _HEAD.unpack_from(data, pos)
        body = data[pos + _HEAD.size : pos + _HEAD.size + length]
        if magic != MAGIC or len(body) < length or zlib.crc32(body) != crc:
            if pos + _HEAD.size + length < len(data) or magic != MAGIC:
                log.warning("journal segment %s is damaged at byte %d; the rest of it is skipped", path, pos)
            return
        yield decode(body)
        pos += _HEAD.size + length


def read_checkpoint(directory: Path) -> tuple[int, dict[str, str]]:
    """The last line known to be in a durable batch (0 when none), and the sources' cursors at that line."""
    try:
        data = json.loads((directory / CHECKPOINT).read_text())
        return int(data["upto"]), dict(data.get("cursors") or {})
    except (OSError, ValueError, KeyError, TypeError):
        return 0, {}


@dataclass(slots=True)
class _Segment:
    path: Path
    end: int  # the last line it holds
    size: int


class Journal:
    """Append-only segments of records, synced in groups, bounded in size, released by checkpoint."""

    def __init__(
        self,
        directory: Path,
        *,
        segment_bytes: int,
        max_bytes: int,
        sync_lines: int,
        sync_interval_s: float,
        covered: int = 0,
    ):
        self.directory = private_dir(Path(directory))
        self.segment_bytes = segment_bytes
        self.max_bytes = max_bytes
        self.sync_lines = sync_lines
        self.sync_interval_s = sync_interval_s
        self._lock = threading.Condition()
        self._sync_lock = threading.Lock()
        self._segments: list[_Segment] = []
        self._fd: int | None = None
        self._retired: list[int] = []  # descriptors of rolled segments, to sync once more and close
        self._closed = False
        self._error_log = RateLimitedLog(log, 10.0)
        self._sync_wanted = False
        checkpoint, cursors = read_checkpoint(self.directory)
        self.released = max(checkpoint, covered)
        self.pending: list[Record] = []  # records past the checkpoint, for the pipeline to replay
        self._released_cursors = cursors  # per source, the cursor of its last released record
        self._cursor_log: list[tuple[int, str, str]] = []  # (end, source, cursor) of records not released
        self.cursors: dict[str, str] = dict(cursors)  # the last cursor per source (followed files' offsets)
        last = self.released
        for path in sorted(self.directory.glob("*.seg")):
            end = 0
            for record in read_segment(path):
                end = max(end, record.end)
                last = max(last, record.end)
                if record.cursor:
                    self.cursors[record.source] = record.cursor
                    if record.end > self.released:
                        self._cursor_log.append((record.end, record.source, record.cursor))
                if record.end > self.released:
                    self.pending.append(record)
            self._segments.append(_Segment(path, end, path.stat().st_size))
        self.position = last  # the last line appended
        self.synced = last
        self._seq = int(self._segments[-1].path.stem) + 1 if self._segments else 0
        self._thread = threading.Thread(target=self._sync_loop, name="syslog-journal-sync", daemon=True)
        self._thread.start()

    # -- appending ----------------------------------------------------------------------------

    def append(self, transport: str, source: str, frames: list, received_at: float, cursor: str = "") -> int | None:
        """Journal one batch; the number of its last line, or None when the journal is full."""
        with self._lock:
            record = encode(self.position, received_at, transport, source, cursor, frames)
            if self._segments and self.size + len(record) > self.max_bytes:
                return None
            try:
                if self._fd is None or self._segments[-1].size >= self.segment_bytes:
                    self._roll()
                assert self._fd is not None
                view = memoryview(record)
                while view:
                    view = view[os.write(self._fd, view) :]
            except OSError as exc:
                self._failed(exc)
                return None
            self.position += len(frames)
            if cursor:
                self._cursor_log.append((self.position, source, cursor))
            segment = self._segments[-1]
            segment.end, segment.size = self.position, segment.size + len(record)
            if self.position - self.synced >= self.sync_lines:
                self._lock.notify_all()
            return self.position

    @property
    def size(self) -> int:
        """Bytes held by the segments."""
        return sum(s.size for s in self._segments)

    def _roll(self) -> None:
        path = self.directory / f"{self._seq:012d}.seg"
        self._seq += 1
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, FILE_MODE)
        os.fchmod(fd, FILE_MODE)
        if self._fd is not None:
            self._retired.append(self._fd)
        self._fd = fd
        self._segments.append(_Segment(path, self.position, 0))

    def _failed(self, exc: OSError) -> None:
        # Out of descriptors or disk space: the batch is refused (the caller waits or, for UDP,
        # counts it dropped), a partly written record is cut off, and the next append starts a new
        # segment, so no record ever follows a torn one.
        self._error_log.warning("journal write failed (%s); input waits until it succeeds", exc)
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, self._segments[-1].size)
            self._retired.append(self._fd)
            self._fd = None

    # -- syncing ------------------------------------------------------------------------------

    def sync(self) -> None:
        """Make every line appended so far durable (fdatasync)."""
        with self._sync_lock:
            with self._lock:
                target, fd, retired, self._retired = self.position, self._fd, self._retired, []
            for old in retired:
                with contextlib.suppress(OSError):
                    os.fdatasync(old)
                os.close(old)
            if target > self.synced and fd is not None:
                with contextlib.suppress(OSError):  # closed by release meanwhile: nothing left to sync
                    os.fdatasync(fd)
            with self._lock:
                self.synced = max(self.synced, target)
                self._lock.notify_all()

    def request_sync(self) -> None:
        """Sync now rather than at the next group (someone waits for an acknowledgement)."""
        with self._lock:
            self._sync_wanted = True
            self._lock.notify_all()

    def wait_synced(self, line: int, timeout: float | None = None) -> bool:
        """Block until line ``line`` is durable; True when it is."""
        with self._lock:
            return self._lock.wait_for(lambda: self.synced >= line, timeout)

    def _sync_loop(self) -> None:
        while True:
            with self._lock:
                self._lock.wait_for(
                    lambda: self._closed or self._sync_wanted or self.position - self.synced >= self.sync_lines,
                    self.sync_interval_s,
                )
                if self._closed:
                    return
                self._sync_wanted = False
                due = self.position > self.synced or self._retired
            if due:
                self.sync()

    # -- releasing ----------------------------------------------------------------------------

    def release(self, upto: int) -> None:
        """Lines up to ``upto`` are in durable batches: record it and delete the segments they fill."""
        if upto <= self.released:
            return
        with self._lock:
            done = [entry for entry in self._cursor_log if entry[0] <= upto]
            self._cursor_log = self._cursor_log[len(done) :]
        for _, source, cursor in done:
            self._released_cursors[source] = cursor
        checkpoint = {"upto": upto, "cursors": self._released_cursors}
        write_private(self.directory / CHECKPOINT, json.dumps(checkpoint), sync=True)
        with self._lock:
            self.released = upto
            keep = []
            for segment in self._segments:
                current = segment is self._segments[-1]
                if segment.end <= upto and (not current or self.position <= upto):
                    if current and self._fd is not None:
                        self._retired.append(self._fd)
                        self._fd = None
                    segment.path.unlink(missing_ok=True)
                else:
                    keep.append(segment)
            self._segments = keep

    def wants_release(self) -> bool:
        """True when the journal is past half its bound: flush early to make room."""
        with self._lock:
            return self.size * 2 > self.max_bytes

    def close(self) -> None:
        """Sync what is left and stop the sync thread (segments stay for the next start)."""
        self.sync()
        with self._lock:
            self._closed = True
            self._lock.notify_all()
        self._thread.join(timeout=5)
        with self._lock:
            fds = [*self._retired, *([self._fd] if self._fd is not None else [])]
            self._retired, self._fd = [], None
        for fd in fds:
            os.close(fd)

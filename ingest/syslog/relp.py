"""RELP (Reliable Event Logging Protocol, what rsyslog's omrelp speaks): syslog acknowledged per message.

A frame is ``TXNR SP COMMAND SP DATALEN [SP DATA] LF``. The client opens with ``open`` (its offers),
sends ``syslog`` commands and ends with ``close``; every command gets ``TXNR rsp DATALEN DATA``. A
``syslog`` command is answered ``200 OK`` only once its line is in the journal and the journal has
synced it, so a sender that got the answer may forget the line: it survives a crash of the worker
(and, with the journal synced, of the machine). Lines the worker did not answer are sent again by
the client after it reconnects. The connection handling (cap, idle timeout, shedding, clean close)
is the TCP server's.
"""

from __future__ import annotations

import asyncio
import logging
import time

from ingest.syslog.framing import Oversize
from ingest.syslog.tcp import READ_CHUNK, TcpServer, _Connection

log = logging.getLogger(__name__)
MAX_TXNR_DIGITS = 9
MAX_COMMAND = 32
OK = b"200 OK"
OFFERS = b"relp_version=0\nrelp_software=rca-syslog\ncommands=syslog"


class RelpError(ValueError):
    """The peer broke the framing: the connection is closed."""


class RelpParser:
    """Splits a RELP byte stream into ``(txnr, command, data)``; data longer than ``max_data`` becomes Oversize."""

    def __init__(self, max_data: int):
        self.max_data = max_data
        self._buf = bytearray()
        self._skip: tuple[int, bytes, int, int] | None = None  # (txnr, head, length, bytes left) of an oversize frame

    def feed(self, data: bytes) -> list[tuple[int, bytes, bytes | Oversize]]:
        """The commands completed by ``data``."""
        out: list[tuple[int, bytes, bytes | Oversize]] = []
        buf = self._buf
        buf += data
        while True:
            if self._skip is not None:
                txnr, head, length, left = self._skip
                cut = min(left, len(buf))
                head += bytes(buf[: max(0, min(cut, 256 - len(head), left - 1))])
                del buf[:cut]
                left -= cut
                if left:
                    self._skip = (txnr, head, length, left)
                    return out
                self._skip = None
                out.append((txnr, b"syslog", Oversize(head, length)))
                continue
            header = self._header()
            if header is None:
                return out
            txnr, command, length, start = header
            if length > self.max_data:
                self._skip = (txnr, b"", length, length + 1)  # the data and its trailer LF
                del buf[:start]
                continue
            end = start + length
            if len(buf) <= end:
                return out
            if buf[end] != 0x0A:
                raise RelpError(f"frame {txnr} does not end with LF")
            out.append((txnr, command, bytes(buf[start:end])))
            del buf[: end + 1]

    def _header(self) -> tuple[int, bytes, int, int] | None:
        """(txnr, command, data length, where the data starts) once the header is complete."""
        buf = self._buf
        limit = MAX_TXNR_DIGITS + MAX_COMMAND + MAX_TXNR_DIGITS + 4
        first = buf.find(b" ", 0, MAX_TXNR_DIGITS + 1)
        second = buf.find(b" ", first + 1, first + 2 + MAX_COMMAND) if first > 0 else -1
        if first <= 0 or second < 0:
            if len(buf) > limit or (first < 0 and len(buf) > MAX_TXNR_DIGITS):
                raise RelpError(f"bad RELP header {bytes(buf[:40])!r}")
            return None
        txnr_text, command = bytes(buf[:first]), bytes(buf[first + 1 : second])
        pos = second + 1
        while pos < len(buf) and pos - second <= MAX_TXNR_DIGITS and 0x30 <= buf[pos] <= 0x39:
            pos += 1
        if pos == len(buf):
            if pos - second > MAX_TXNR_DIGITS + 1:
                raise RelpError("RELP data length too long")
            return None
        length_text = bytes(buf[second + 1 : pos])
        if not (txnr_text.isdigit() and length_text.isdigit() and command.isalpha()):
            raise RelpError(f"bad RELP header {bytes(buf[:40])!r}")
        length = int(length_text)
        if length == 0:
            return int(txnr_text), command, 0, pos  # the trailer LF follows the length at once
        if buf[pos] != 0x20:
            raise RelpError(f"bad RELP header {bytes(buf[:40])!r}")
        return int(txnr_text), command, length, pos + 1


def response(txnr: int, data: bytes) -> bytes:
    """One ``rsp`` frame."""
    return b"%d rsp %d %s\n" % (txnr, len(data), data) if data else b"%d rsp 0\n" % txnr


class RelpServer(TcpServer):
    """A RELP listener: the TCP server's connection handling, RELP commands per connection."""

    protocol = "relp"

    async def _converse(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, record: _Connection) -> None:
        """RELP commands until the client closes the session, an error, or we close the connection."""
        parser = RelpParser(self.pipeline.settings.max_line_bytes)
        while True:
            try:
                data = await reader.read(READ_CHUNK)
            except (ConnectionError, OSError) as exc:
                log.debug("RELP connection from %s ended: %s", record.source, exc)
                data = b""
            record.last_active = time.monotonic()
            if not data:
                break
            try:
                commands = parser.feed(data)
            except RelpError as exc:
                log.warning("closing RELP connection from %s: %s", record.source, exc)
                break
            if not await self._answer(commands, record, writer):
                break

    async def _answer(self, commands: list, record: _Connection, writer: asyncio.StreamWriter) -> bool:
        """Handle one read's commands in order; False once the client closed the session."""
        pending: list[int] = []
        frames: list = []
        for txnr, command, data in commands:
            if command == b"syslog":
                pending.append(txnr)
                frames.append(data.rstrip(b"\r\n") if isinstance(data, bytes) else data)
                continue
            await self._acknowledge(pending, frames, record, writer)
            pending, frames = [], []
            if command == b"open":
                writer.write(response(txnr, OK + b"\n" + OFFERS))
            elif command == b"close":
                writer.write(response(txnr, b""))
                await writer.drain()
                return False
            else:
                writer.write(response(txnr, b"500 unknown command"))
        await self._acknowledge(pending, frames, record, writer)
        await writer.drain()
        return True

    async def _acknowledge(self, txnrs: list[int], frames: list, record: _Connection, writer) -> None:
        """Journal ``frames``, wait until the journal has synced them, then answer each ``200 OK``."""
        if not txnrs:
            return
        while (end := self.pipeline.submit_acknowledged("relp", record.source, frames)) is None:
            await asyncio.sleep(0.005)  # queue or journal full: the client waits for its answers
            record.last_active = time.monotonic()
        journal = self.pipeline.journal
        if journal is not None:
            journal.request_sync()
            while journal.synced < end:
                await asyncio.sleep(0.002)
        writer.write(b"".join(response(txnr, OK) for txnr in txnrs))

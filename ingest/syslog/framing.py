"""RFC 6587 TCP framing: octet counting ("LEN SP MSG") and LF-delimited lines, mixed per frame."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Oversize:
    """A frame longer than the limit; its head is kept for the dead-letter file."""

    head: bytes
    length: int


class Deframer:
    """Splits a TCP byte stream into frames, bounded in memory by ``max_frame``."""

    def __init__(self, max_frame: int):
        self.max_frame = max_frame
        self._buf = bytearray()
        self._skip = 0  # bytes of an oversize octet-counted frame still to discard
        self._discarding_line = False  # inside an oversize LF frame, until its newline

    def feed(self, data: bytes) -> list[bytes | Oversize]:
        """Frames completed by ``data``; an oversize frame yields one Oversize marker."""
        out: list[bytes | Oversize] = []
        if self._skip:
            cut = min(self._skip, len(data))
            self._skip -= cut
            data = data[cut:]
        buf = self._buf
        buf += data
        pos, n = 0, len(buf)
        while pos < n:
            if self._discarding_line:
                nl = buf.find(b"\n", pos)
                if nl < 0:
                    pos = n
                    break
                self._discarding_line = False
                pos = nl + 1
                continue
            first = buf[pos]
            if 0x31 <= first <= 0x39:  # a digit 1-9 starts an octet count (RFC 6587 3.4.1)
                sp = buf.find(b" ", pos, pos + 11)
                if sp > pos and buf[pos:sp].isdigit():
                    length = int(buf[pos:sp])
                    start = sp + 1
                    if length > self.max_frame:
                        out.append(Oversize(bytes(buf[start : start + 256]), length))
                        available = n - start
                        if available >= length:
                            pos = start + length
                            continue
                        self._skip = length - available
                        pos = n
                        break
                    if n - start < length:
                        break  # wait for the rest of this frame
                    out.append(bytes(buf[start : start + length]))
                    pos = start + length
                    continue
                if sp < 0 and n - pos < 11 and buf[pos:n].isdigit():
                    break  # the count itself is still arriving
            nl = buf.find(b"\n", pos)
            if nl < 0:
                if n - pos > self.max_frame:
                    # Trailing CRs are stripped if LF comes next, so they alone do not make a line too long.
                    content = len(bytes(buf[pos:n]).rstrip(b"\r"))
                    if content > self.max_frame:
                        out.append(Oversize(bytes(buf[pos : pos + 256]), n - pos))
                        self._discarding_line = True
                        pos = n
                    else:  # keep one CR past the limit: enough to tell if anything but LF follows
                        del buf[pos + self.max_frame + 1 :]
                break
            frame = bytes(buf[pos:nl]).rstrip(b"\r")
            if len(frame) > self.max_frame:
                out.append(Oversize(frame[:256], len(frame)))
            elif frame:
                out.append(frame)
            pos = nl + 1
        del buf[:pos]
        return out

    def finish(self) -> list[bytes]:
        """The unterminated tail when the connection closes (a last line without LF)."""
        tail = bytes(self._buf).rstrip(b"\r\n")
        self._buf.clear()
        return [tail] if tail and not self._discarding_line and not self._skip else []

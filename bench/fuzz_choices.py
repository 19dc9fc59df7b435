"""Decisions read from a fuzzer's bytes, to build structured inputs (requests, documents) cheaply.

A coverage-guided fuzzer mutates bytes; a target that reads those bytes as a sequence of choices
(how many symptoms, which field gets a hostile value, which hostile value) lets it mutate structure
too. hypothesis does the same with ``fuzz_one_input``, but costs milliseconds per input; reading
choices here costs microseconds, so a million inputs fit in minutes. Any bytes are valid: past
the end every choice reads as zero, which is always the first, well-formed option.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")
_DOUBLE = struct.Struct("<d")


class Choices:
    """A cursor over fuzzer bytes that answers small questions: a number below n, one of a list, a float, a text."""

    __slots__ = ("_at", "_data")

    def __init__(self, data: bytes):
        self._data = data
        self._at = 0

    def take(self, n: int) -> bytes:
        """The next ``n`` bytes, zero-padded past the end."""
        chunk = self._data[self._at : self._at + n]
        self._at += n
        return chunk if len(chunk) == n else chunk.ljust(n, b"\x00")

    def below(self, n: int) -> int:
        """A number in [0, n): one byte for n up to 256, eight otherwise."""
        if n <= 256:
            at = self._at
            self._at = at + 1
            return self._data[at] % n if at < len(self._data) else 0
        return int.from_bytes(self.take(8), "big") % n

    def one_in(self, n: int) -> bool:
        """True about once in ``n`` (never once the bytes run out)."""
        return self.below(n) == n - 1

    def pick(self, options: Sequence[T]) -> T:
        """One of ``options`` (the first once the bytes run out)."""
        return options[self.below(len(options))]

    def integer(self, low: int, high: int) -> int:
        """An integer in [low, high]."""
        return low + self.below(high - low + 1)

    def double(self) -> float:
        """Any double: NaN, infinities, subnormals and negative zero included."""
        return float(_DOUBLE.unpack(self.take(8))[0])

    def uniform(self, low: float, high: float) -> float:
        """A float in [low, high)."""
        return low + (high - low) * (int.from_bytes(self.take(4), "big") / 2**32)

    def text(self, max_chars: int) -> str:
        """Up to ``max_chars`` characters: the bytes as UTF-8, so mutations reach any code point (bad sequences
        become U+FFFD)."""
        return self.take(self.below(max_chars + 1)).decode("utf-8", errors="replace")

    def codepoints(self, low: int, high: int, max_chars: int) -> str:
        """Up to ``max_chars`` characters from [low, high] (control or unprintable characters)."""
        return "".join(chr(self.integer(low, high)) for _ in range(self.below(max_chars + 1)))

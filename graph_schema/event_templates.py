"""Template texts stored on :Event nodes: the form earlier versions wrote, today's, and which one to read.

The Drain3 miner of earlier versions named each mask in its templates (``<NUM>``, ``<HOST>``,
a user's ``<ORDER>``); the shape miner writes every value as ``<*>`` and never two in a row.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

WILDCARD = "<*>"
_NAMED_MASK = re.compile(r"<[A-Z][A-Z0-9_]*>")
_WILDCARD_RUN = re.compile(r"<\*>(?:\s+<\*>)+")


def in_current_form(template: str) -> str:
    """A stored template text with named masks read as ``<*>`` (unchanged when already so)."""
    if "<" not in template:
        return template
    return _WILDCARD_RUN.sub(WILDCARD, _NAMED_MASK.sub(WILDCARD, template))


def latest_bucket(last_ts: Sequence[float | None], texts: Sequence[str | None]) -> int:
    """Index of the bucket whose text a template is read by: the latest (by its last line, then by text,
    so a tie is settled the same way by every reader). The miner generalises a template's text as
    variants arrive and each :Event keeps the text it was written with; the latest is the settled one."""
    return max(range(len(texts)), key=lambda i: (last_ts[i] or 0.0, texts[i] or ""))

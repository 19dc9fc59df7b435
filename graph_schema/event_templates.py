"""Template texts stored on :Event nodes: the form earlier versions wrote, and today's.

The Drain3 miner of earlier versions named each mask in its templates (``<NUM>``, ``<HOST>``,
a user's ``<ORDER>``); the shape miner writes every value as ``<*>`` and never two in a row.
"""

from __future__ import annotations

import re

WILDCARD = "<*>"
_NAMED_MASK = re.compile(r"<[A-Z][A-Z0-9_]*>")
_WILDCARD_RUN = re.compile(r"<\*>(?:\s+<\*>)+")


def in_current_form(template: str) -> str:
    """A stored template text with named masks read as ``<*>`` (unchanged when already so)."""
    if "<" not in template:
        return template
    return _WILDCARD_RUN.sub(WILDCARD, _NAMED_MASK.sub(WILDCARD, template))

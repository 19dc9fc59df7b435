"""The question asked again once the user picked one of a clarification's candidate entities."""

from __future__ import annotations

import re


def clarified_question(question: str, unclear: str, entity_name: str) -> str:
    """``question`` with its first ``unclear`` words (any case) replaced by the chosen entity's name.

    The name, not the id: the service links an exact name with certainty. When the words are not found
    as written (the service quotes them as it read them), the name is added at the end instead.
    """
    if unclear.strip():
        pattern = re.compile(rf"(?<!\w){re.escape(unclear.strip())}(?!\w)", re.IGNORECASE)
        replaced, count = pattern.subn(lambda _: entity_name, question, count=1)
        if count:
            return replaced
    return f"{question.rstrip()} {entity_name}"

"""Words of a question: lower case, names split at - _ . /, times and dates kept whole."""

from __future__ import annotations

import re

# An ISO 8601 timestamp (date, T or space, time, optional zone), a date, a clock time with an
# optional am/pm ("14:30", "2:30pm", "2pm", "2 pm"), a number, or a word.
_TOKEN = re.compile(
    r"(?P<iso>\d{4}-\d{2}-\d{2}[t ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:z|[+-]\d{2}:?\d{2})?)"
    r"|(?P<date>\d{4}-\d{2}-\d{2})"
    r"|(?P<clock>\d{1,2}:\d{2}(?:\s?[ap]\.?m\.?\b)?|\d{1,2}\s?[ap]\.?m\.?(?![a-z]))"
    r"|(?P<word>[a-z0-9]+(?:'[a-z]+)?)"
)


def tokenize(text: str) -> list[str]:
    """The question's tokens: 'Why did Frontend-0 fail at 2 PM?' -> why did frontend 0 fail at 2pm."""
    out = []
    for match in _TOKEN.finditer(text.lower().replace("\u2019", "'")):
        kind = match.lastgroup
        token = match.group()
        if kind == "iso":
            token = token.replace(" ", "t")
        elif kind == "clock":
            token = token.replace(" ", "").replace(".", "")
        elif "'" in token:
            head, _, tail = token.partition("'")
            token = (
                head if tail in ("s", "re", "ve", "ll", "d") else head + tail
            )  # payment's -> payment, didn't -> didnt
        out.append(token)
    return out

"""The first look at a question: text that is not a plain question is refused before anything reads it.

Refused here, with a reason: control and invisible format characters, letters of more than one
writing system in one word or question (homoglyph tricks: a Cyrillic "a" inside a Latin name),
questions in a script the parser does not read, and text that looks like a query language or code
(Cypher or SQL keywords with their syntax, comment markers, statement separators, parameters,
braces, backticks, quote tricks). The parser never builds a query from the text anyway; refusing
such text keeps hostile input from being "understood" into some other question.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

MAX_QUESTION_CHARS = 500
MAX_WORDS = 50  # more is not one question (a paste, a repeated phrase, a payload padded out)

# Code shapes, each with the reason given back. Keywords alone are English words ("what was
# created", "match"), so a keyword counts only with the syntax that makes it code.
_CODE_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), reason)
    for pattern, reason in (
        (r"\b(match|merge|create)\s*\(", "it looks like a Cypher statement"),
        (
            r"\bdetach\s+delete\b|\bdelete\s+from\b|\bdrop\s+(table|index|constraint|database)\b",
            "it looks like a statement that deletes data",
        ),
        (r"\b(set|remove)\s+\w+\.\w+", "it looks like a statement that changes data"),
        (r"\bcall\s+(db|dbms|apoc)\.", "it looks like a procedure call"),
        (
            r"\b(load\s+csv|union\s+(all\s+)?select|select\s+.+\s+from|insert\s+into|update\s+\w+\s+set)\b",
            "it looks like a query",
        ),
        (r"\breturn\s+\w+(\.\w+|\s*,|\s*$)", "it looks like a Cypher statement"),
        (r"-\[.*\]-|<-\s*\[|\]\s*->", "it looks like a graph pattern"),
        (r"//|/\*|\*/|--|#|;", "it holds comment markers or statement separators"),
        (r"[{}`$\\<>|]", "it holds characters of code, not of a question"),
        (r"['\"]\s*(or|and)\s+['\"0-9]|=\s*['\"]|['\"]\s*=|['\"]\s*\+|\+\s*['\"]", "it holds a quoting trick"),
        (r"<\s*script|javascript:|\.\./|%[0-9a-f]{2}", "it looks like markup or an encoded payload"),
    )
)


@dataclass(frozen=True)
class Screened:
    """The question ready for parsing (``text``), or why it is refused (``refusal``)."""

    text: str
    refusal: str = ""


def _scripts(text: str) -> set[str]:
    """The writing systems of the letters in ``text`` (LATIN, CYRILLIC, GREEK, CJK, ...)."""
    found = set()
    for ch in text:
        if ch.isalpha():
            name = unicodedata.name(ch, "UNKNOWN")
            found.add(name.split(" ")[0])
    return found


def screen(question: str) -> Screened:
    """Refuse text that is not a plain English question; otherwise return it normalised (NFKC, one-spaced)."""
    for ch in question:
        category = unicodedata.category(ch)
        if category in ("Cc", "Cf", "Co", "Cs") and ch not in "\t\n\r":
            return Screened("", f"the question holds a control or invisible character (U+{ord(ch):04X})")
    text = " ".join(unicodedata.normalize("NFKC", question).split())
    if not text:
        return Screened("", "the question is empty")
    scripts = _scripts(text)
    if len(scripts) > 1:
        return Screened("", f"the question mixes writing systems ({', '.join(sorted(scripts))})")
    if scripts and scripts != {"LATIN"}:
        return Screened("", "only questions in English are understood")
    if any(ch.isalpha() and not ch.isascii() for ch in text):
        text_ascii = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
        text = text_ascii  # accents dropped: entity names are ASCII
    for pattern, reason in _CODE_PATTERNS:
        if pattern.search(text):
            return Screened("", f"{reason}, not a question")
    if len(text.split()) > MAX_WORDS:
        return Screened("", f"the question is too long ({len(text.split())} words, at most {MAX_WORDS}): ask one thing")
    if not re.search(r"[a-zA-Z]{2,}", text):
        return Screened("", "the question has no words")
    return Screened(text)

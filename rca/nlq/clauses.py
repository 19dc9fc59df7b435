"""Several questions in one: where a question joins clauses that each ask something different.

"what changed and who calls payment" asks two things; "why are checkout and payment both failing" asks
one thing about two entities. The split is decided on what the intent rules read, not on the words
alone: the question is cut at its joints ("and", "and also", "and then", "also", "plus", "as well as",
a "?" followed by more words), each piece is read by the rules, and a piece to which no rule gives an
intent ("payment both failing", "14:30 today") or which asks the same as the clause before it stays
with that clause. Two or more clauses left with different intents are parsed one by one; a clause that
names no entity or time takes the question's ("errors and anomalies on checkout": checkout's errors
too; "is cart healthy and what does it depend on": cart's dependencies). A ";" never gets this far: the
screen refuses statement separators in the whole question before anything is split.
"""

from __future__ import annotations

import re
from datetime import tzinfo

from rca.nlq.entities import Link
from rca.nlq.parser import LlmFallback, Parsed, QuestionParser, Shared
from rca.nlq.screen import screen

# A joint between clauses, with the comma before it; after a "?" the next clause starts.
_JOINT = re.compile(r",?\s+(?:and also|and then|as well as|and|also|plus)\s+|(?<=\?)\s+", re.IGNORECASE)


def split(parser: QuestionParser, text: str, now: float, tz: tzinfo) -> list[str]:
    """The clauses of screened ``text`` that ask different things, in order; [text] when it asks one thing.

    A clause the rules read as a request to change something is returned alone: the question is refused.
    """
    groups: list[list[str]] = []  # [clause text, its rule intent ("" for none yet)]
    start, joint = 0, ""
    for match in [*_JOINT.finditer(text), None]:
        piece = text[start : match.start() if match else len(text)]
        read = parser.read(piece, now, tz, refer=True)
        intent = read.intent if read is not None else ""
        if intent == "refused":  # "show errors and delete the incidents": refused, whatever else it asks
            return [piece]
        if groups and (not intent or groups[-1][1] in ("", intent)):
            groups[-1][0] += joint + piece
            groups[-1][1] = groups[-1][1] or intent
        else:
            groups.append([piece, intent])
        if match is not None:
            start, joint = match.end(), match.group()
    return [clause for clause, _ in groups] if len(groups) > 1 else [text]


def parse_question(
    parser: QuestionParser, question: str, now: float, tz: tzinfo, llm: LlmFallback | None = None
) -> list[Parsed]:
    """The question as understood: one Parsed per thing it asks (one for most questions).

    When a clause needs asking back (an unknown name) or is refused, that one Parsed is the answer to
    the whole question: nothing is answered from a question half understood.
    """
    screened = screen(question)
    clauses = [question] if screened.refusal else split(parser, screened.text, now, tz)
    if len(clauses) == 1:  # the question as asked, or its clause that is refused
        return [parser.parse(question if screened.refusal or clauses[0] == screened.text else clauses[0], now, tz, llm)]
    reads = [parser.read(clause, now, tz) for clause in clauses]
    links: dict[str, Link] = {}
    for read in reads:
        for link in read.links if read is not None else ():
            links.setdefault(link.entity.id, link)
    window = next((read.window for read in reads if read is not None and read.window is not None), None)
    shared = Shared(tuple(links.values()), window)
    parts = [parser.parse(clause, now, tz, llm, shared) for clause in clauses]
    for part, clause in zip(parts, clauses, strict=True):
        part.clause = clause
    stopped = next((part for part in parts if part.intent in ("clarify", "refused")), None)
    return [stopped] if stopped is not None else parts

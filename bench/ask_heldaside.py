"""How Ask's understanding generalises: held-aside questions written by hand, never tuned on, parsed in process.

``python bench/ask_heldaside.py [bench/data/ask_heldaside.yaml ...] [--show-misses]`` parses each question
with the parser the service uses (rca.nlq.clauses.parse_question over the example estate, no graph and no
gRPC: what is measured is the understanding, not the answer) at the scene's fixed time (2026-12-06T14:42Z,
UTC) and reports, per file:

- intent accuracy: the intent (or, for a question asking several things, every part's intent in order) is
  the expected one, or one of the alternatives written "a|b";
- entity accuracy: of the questions expected to be answered (not clarify/refused), those whose linked
  entities (all parts) are exactly the expected names;
- window exact: of those, the ones whose window read from the question is the expected one to the minute
  (or none when the question names no time);
- asked back / refused: how many answerable questions came back as clarify or refused, and how many of
  the questions expected to be asked back or refused were.

The files' format is described at the top of bench/data/ask_heldaside.yaml.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rca.nlq.clauses import parse_question
from rca.nlq.parser import Parsed, QuestionParser
from tests.support.ask_fuzz import NOW, estate_parser

DATA = Path(__file__).with_name("data")
SETS = (DATA / "ask_heldaside.yaml", DATA / "ask_heldaside2.yaml")
NOT_ANSWERED = ("clarify", "refused")


@dataclass
class Outcome:
    """One question as understood, against what was expected."""

    question: str
    expected: dict
    intents: list[str]
    entities: list[str]
    window: tuple[str, str] | None
    intent_ok: bool
    entity_ok: bool
    window_ok: bool


@dataclass
class Score:
    """The figures of one set."""

    name: str
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def answerable(self) -> list[Outcome]:
        return [o for o in self.outcomes if not _expects_no_answer(o.expected)]

    def figures(self) -> dict[str, float | int]:
        answerable = self.answerable
        unanswerable = [o for o in self.outcomes if _expects_no_answer(o.expected)]
        return {
            "questions": len(self.outcomes),
            "intent": _ratio(sum(o.intent_ok for o in self.outcomes), len(self.outcomes)),
            "entity": _ratio(sum(o.entity_ok for o in answerable), len(answerable)),
            "window": _ratio(sum(o.window_ok for o in answerable), len(answerable)),
            "answerable": len(answerable),
            "answerable_asked_back": sum(o.intents[0] == "clarify" for o in answerable),
            "answerable_refused": sum(o.intents[0] == "refused" for o in answerable),
            "expected_unanswered": len(unanswerable),
            "expected_unanswered_ok": sum(o.intent_ok for o in unanswerable),
        }


def _ratio(hits: int, total: int) -> float:
    return round(hits / total, 3) if total else 1.0


def _expects_no_answer(expected: dict) -> bool:
    intent = expected["intent"]
    return isinstance(intent, str) and all(choice in NOT_ANSWERED for choice in intent.split("|"))


def _minute(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M")


def judge(parser: QuestionParser, expected: dict) -> Outcome:
    """Parse one question and compare it with what was expected."""
    parts: list[Parsed] = parse_question(parser, expected["q"], NOW, UTC)
    intents = [p.intent for p in parts]
    names = sorted({link.entity.name for p in parts for link in p.links})
    first = parts[0]
    window = (_minute(first.window.start), _minute(first.window.end)) if first.window else None
    want = expected["intent"]
    if isinstance(want, list):
        intent_ok = intents == want
    else:
        intent_ok = len(intents) == 1 and intents[0] in want.split("|")
    want_window = tuple(expected["window"]) if expected.get("window") else None
    return Outcome(
        expected["q"],
        expected,
        intents,
        names,
        window,
        intent_ok,
        names == sorted(expected.get("entities") or []),
        window == want_window,
    )


def score(path: Path, parser: QuestionParser | None = None) -> Score:
    """The figures of one held-aside file."""
    parser = parser or estate_parser()
    result = Score(path.name)
    for expected in yaml.safe_load(path.read_text()):
        result.outcomes.append(judge(parser, expected))
    return result


def report(result: Score, show_misses: bool) -> None:
    f = result.figures()
    print(
        f"{result.name}: {f['questions']} questions | intent {f['intent']:.3f} | entity {f['entity']:.3f} | "
        f"window exact {f['window']:.3f} | answerable asked back {f['answerable_asked_back']}/{f['answerable']}, "
        f"refused {f['answerable_refused']}/{f['answerable']} | expected clarify/refused "
        f"{f['expected_unanswered_ok']}/{f['expected_unanswered']}"
    )
    if not show_misses:
        return
    for o in result.outcomes:
        answerable = not _expects_no_answer(o.expected)
        misses = [
            label
            for label, ok in (
                ("intent", o.intent_ok),
                ("entity", o.entity_ok or not answerable),
                ("window", o.window_ok or not answerable),
            )
            if not ok
        ]
        if misses:
            print(
                f"  MISS {'/'.join(misses):20s} {o.question!r}: got {o.intents} {o.entities} {o.window}; "
                f"want {o.expected['intent']} {o.expected.get('entities')} {o.expected.get('window')}"
            )


def main(argv: list[str] | None = None) -> int:
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("files", nargs="*", type=Path)
    args.add_argument("--show-misses", action="store_true")
    options = args.parse_args(argv)
    for path in options.files or [p for p in SETS if p.exists()]:
        report(score(path), options.show_misses)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Ask benchmark: how well questions are understood, and how fast Ask answers, against the example estate.

Replays the demo incident at a fixed time on a graph of its own (tests/support/ask_scene.py), serves
RootCause in this process and asks every question of bench/data/nlq_questions.txt over a real gRPC
channel with a fixed `now`. Prints, for the tuned part and for the part held aside while tuning
(flag h) and the questions that ask several things at once (flag m) separately: intent accuracy (for
flag m: every part's intent, in order), entity precision/recall/F1 (micro, over entity ids), window
exactness (start and end within 1 s, or the same "default"/"none"), refusal correctness (expected
refusals refused, and answerable questions not refused), hostile questions refused, and p50/p99 of
the Ask latency seen by the client minus the time spent inside Infer. Targets (issue 21): intent
>= 0.95, entity F1 >= 0.95, window exact >= 0.95, hostile refused 100%, p50 <= 30 ms, p99 <= 100 ms.

    python bench/nlq.py [--part tune|held|multi|all] [--show-misses]
"""

from __future__ import annotations

import argparse
import codecs
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.machine import describe_machine
from rca.rank.engine import model_engine
from tests.support.ask_scene import NOW, ask_scene

QUESTIONS = Path(__file__).with_name("data") / "nlq_questions.txt"
LONG_CHARS = 490
TOLERANCE_S = 1.0


@dataclass(frozen=True)
class Question:
    """One line of the question file."""

    line: int
    intent: str
    entities: frozenset[str]
    window: str
    held: bool
    hostile: bool
    multi: bool  # asks several things: intent is the parts' intents joined by "+"
    zone: str
    text: str


def load_questions(path: Path = QUESTIONS) -> list[Question]:
    """The questions with their expectations; flags decoded (escapes, long repeats, zones)."""
    out = []
    for number, raw in enumerate(path.read_text().splitlines(), 1):
        if not raw.strip() or raw.startswith("#"):
            continue
        intent, entities, window, flags, text = (part.strip() for part in raw.split(";", 4))
        zone = next((f[3:] for f in flags.split() if f.startswith("tz=")), "UTC")
        letters = flags.split()[0] if flags and not flags.startswith("tz=") else ""
        if "e" in letters:
            text = codecs.decode(text, "unicode_escape")
        if "L" in letters:
            text = (text + " ") * (LONG_CHARS // (len(text) + 1))
        ids = frozenset() if entities == "-" else frozenset(entities.split(","))
        out.append(Question(number, intent, ids, window, "h" in letters, "x" in letters, "m" in letters, zone, text))
    return out


def expected_window(q: Question) -> tuple[str, float, float]:
    """('none'|'default'|'exact', start, end) for the question at NOW."""
    if q.window == "-":
        return ("none", 0.0, 0.0)
    if q.window == "d":
        return ("default", 0.0, 0.0)
    if q.window.startswith("r"):
        return ("exact", NOW - float(q.window[1:]), NOW)
    start, end = q.window[1:].split("/")
    zone = ZoneInfo(q.zone)
    return (
        "exact",
        datetime.fromisoformat(start).replace(tzinfo=zone).timestamp(),
        datetime.fromisoformat(end).replace(tzinfo=zone).timestamp(),
    )


def window_ok(q: Question, response: Any) -> bool:
    kind, start, end = expected_window(q)
    has = response.HasField("window")
    if kind == "none":
        return not has
    if kind == "default":
        return has and response.window.source == "default"
    return (
        has
        and response.window.source == "question"
        and abs(response.window.start - start) <= TOLERANCE_S
        and abs(response.window.end - end) <= TOLERANCE_S
    )


def intent_of(response: Any) -> str:
    """The response's intent; for a question answered in parts, the parts' intents joined by "+"."""
    return "+".join(part.intent for part in response.parts) or response.intent


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def score(results: list[tuple[Question, Any, float]], show_misses: bool) -> list[str]:
    """The figures of one part."""
    tp = fp = fn = 0
    intent_ok = window_hits = refused_ok = answerable = answerable_ok = hostile = hostile_ok = 0
    latencies = []
    for q, response, latency in results:
        latencies.append(latency)
        got = {e.id for e in response.entities}
        tp += len(got & q.entities)
        fp += len(got - q.entities)
        fn += len(q.entities - got)
        hit = intent_of(response) == q.intent
        intent_ok += hit
        window_hit = window_ok(q, response)
        window_hits += window_hit
        if q.intent == "refused":
            refused_ok += response.intent == "refused"
        else:
            answerable += 1
            answerable_ok += response.intent != "refused"
        if q.hostile:
            hostile += 1
            hostile_ok += response.intent == "refused"
        if show_misses and (not hit or got != q.entities or not window_hit):
            shown = q.text if len(q.text) < 80 else q.text[:77] + "..."
            print(
                f"  miss line {q.line}: {shown!r}: intent {intent_of(response)} (want {q.intent}), entities "
                f"{sorted(got)} (want {sorted(q.entities)}), window {'ok' if window_hit else 'WRONG'} "
                f"[{response.window.source if response.HasField('window') else 'none'}]",
                file=sys.stderr,
            )
    if show_misses:
        for q, response, latency in sorted(results, key=lambda r: -r[2])[:6]:
            print(
                f"  slow: {latency:.1f} ms {response.intent} {q.text[:60]!r} {dict(response.timings_ms)}",
                file=sys.stderr,
            )
    n = len(results)
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    refusals = sum(q.intent == "refused" for q, _, _ in results)
    return [
        f"questions {n}",
        f"intent accuracy {intent_ok / n:.3f} ({intent_ok}/{n})",
        f"entities precision {precision:.3f} recall {recall:.3f} F1 {f1:.3f} (tp {tp}, fp {fp}, fn {fn})",
        f"window exact {window_hits / n:.3f} ({window_hits}/{n})",
        f"refusals: expected ones refused {refused_ok}/{refusals}, answerable ones answered "
        f"{answerable_ok}/{answerable}; hostile refused {hostile_ok}/{hostile}"
        + (f" ({100 * hostile_ok / hostile:.0f}%)" if hostile else ""),
        (
            f"Ask latency without Infer: p50 {percentile(latencies, 50):.1f} ms, "
            f"p99 {percentile(latencies, 99):.1f} ms, mean {statistics.fmean(latencies):.1f} ms"
        ),
    ]


def part_of(q: Question) -> str:
    return "multi" if q.multi else "held" if q.held else "tune"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--part", choices=("tune", "held", "multi", "all"), default="all", help="which questions to ask"
    )
    parser.add_argument("--show-misses", action="store_true", help="print every question not fully right")
    args = parser.parse_args()
    questions = [q for q in load_questions() if args.part in ("all", part_of(q))]
    print(f"machine: {describe_machine()}")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="rca-nlq-") as workdir, ask_scene(Path(workdir), model_engine()) as scene:
        print(f"scene ready in {time.monotonic() - started:.1f}s (incident {scene.incident_id}); asking ...")
        scene.ask("how is checkout")  # first call loads the catalog and the intent model
        results = []
        for q in tqdm(questions, desc="ask", file=sys.stderr, leave=False):
            began = time.perf_counter()
            response = scene.ask(q.text, time_zone=q.zone)
            wall_ms = (time.perf_counter() - began) * 1000
            results.append((q, response, wall_ms - response.timings_ms.get("infer_ms", 0.0)))
    for part, chosen in (
        ("tuned part", [r for r in results if part_of(r[0]) == "tune"]),
        ("held-aside part", [r for r in results if part_of(r[0]) == "held"]),
        ("several things asked in one question (m)", [r for r in results if part_of(r[0]) == "multi"]),
    ):
        if chosen:
            print(f"\n{part}:")
            for line in score(chosen, args.show_misses):
                print(f"  {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

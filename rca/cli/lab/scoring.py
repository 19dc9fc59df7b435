"""The figures `rca lab run` prints: accuracy of the live diagnosis and its timing, beside the baselines.

AC@1, AC@3 and Avg@5 (rca.rank.scoring) per fault kind and overall, for the live diagnosis (the
incident the lab's own chain stored) and for every ranker of bench/accuracy.py run on the recorded
case folders; and the time from the fault to the diagnosis with its two parts (fault -> alert firing,
alert -> incident), as medians.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

from rca.rank.scoring import summarise

LIVE = "live"
OVERALL = "OVERALL"


@dataclass
class ScenarioResult:
    """What one scenario gave: the live ranking and when each step happened (epoch seconds)."""

    name: str
    fault: str
    expect: tuple[str, ...]
    fault_at: float
    ranking: list[str] = field(default_factory=list)  # entity ids, best first; empty: no diagnosis
    alert_at: float | None = None  # the alert began firing (Prometheus' activeAt)
    diagnosed_at: float | None = None  # the incident was stored (or the lab's own Infer answered)
    diagnosis: str = "none"  # "incident" (the bridge's), "infer" (the lab called Infer), "none"
    recovered_at: float | None = None  # no alert pending or firing any more after the revert (None: not seen)
    case_dir: str | None = None
    notes: list[str] = field(default_factory=list)
    # the live diagnosis' first candidates as the service explained them (score, breakdown, evidence), so a
    # live miss can be read after the lab is gone
    explained: list[dict] = field(default_factory=list)

    def rank(self) -> int:
        """1-based rank of the best-ranked expected root cause; 0 when none is ranked."""
        truth = set(self.expect)
        return next((i for i, entity in enumerate(self.ranking, start=1) if entity in truth), 0)

    def to_alert_s(self) -> float | None:
        """Fault -> alert firing."""
        return None if self.alert_at is None else self.alert_at - self.fault_at

    def to_incident_s(self) -> float | None:
        """Alert firing -> incident stored."""
        return None if self.alert_at is None or self.diagnosed_at is None else self.diagnosed_at - self.alert_at

    def to_diagnosis_s(self) -> float | None:
        """Fault -> diagnosis."""
        return None if self.diagnosed_at is None else self.diagnosed_at - self.fault_at


def _median(values: list[float | None]) -> str:
    present = [v for v in values if v is not None]
    return f"{statistics.median(present):.0f} s" if present else "-"


def groups(results: list[ScenarioResult]) -> dict[str, list[ScenarioResult]]:
    """The results per fault kind (sorted), then all of them under OVERALL."""
    out: dict[str, list[ScenarioResult]] = {}
    for result in sorted(results, key=lambda r: r.fault):
        out.setdefault(result.fault, []).append(result)
    out[OVERALL] = list(results)
    return out


def timing_table(results: list[ScenarioResult]) -> str:
    """Live accuracy and the medians of fault -> diagnosis and its parts, per fault kind and overall."""
    header = (
        f"{'fault kind':18s} {'n':>3s} {'diagnosed':>9s} {'live AC@1 / AC@3 / Avg@5':>26s} "
        f"{'fault->diagnosis p50':>21s} {'fault->alert p50':>17s} {'alert->incident p50':>20s}"
    )
    lines = [header]
    for name, members in groups(results).items():
        scores = " / ".join(f"{v:.3f}" for v in summarise([r.rank() for r in members]))
        diagnosed = sum(1 for r in members if r.diagnosis != "none")
        lines.append(
            f"{name:18s} {len(members):>3d} {diagnosed:>9d} {scores:>26s} "
            f"{_median([r.to_diagnosis_s() for r in members]):>21s} "
            f"{_median([r.to_alert_s() for r in members]):>17s} "
            f"{_median([r.to_incident_s() for r in members]):>20s}"
        )
    return "\n".join(lines)


def side_by_side(results: list[ScenarioResult], replayed: dict[str, dict]) -> str:
    """AC@1 / AC@3 / Avg@5 of the live diagnosis and of every ranker on the recorded cases, per fault kind.

    ``replayed`` is bench/accuracy.py's --ranks-json: case name -> {"fault", "ranks": {ranker: rank}}.
    A scenario without a recording (or not replayed) counts as missed by every replayed ranker.
    """
    rankers = list(dict.fromkeys(name for entry in replayed.values() for name in entry["ranks"]))
    names = [LIVE, *rankers]
    lines = [f"{'fault kind':18s} {'n':>3s} " + " ".join(f"{n:>20s}" for n in names)]
    for group, members in groups(results).items():
        cells = []
        for ranker in names:
            if ranker == LIVE:
                ranks = [r.rank() for r in members]
            else:
                ranks = [replayed.get(r.name, {}).get("ranks", {}).get(ranker, 0) for r in members]
            cells.append(" / ".join(f"{v:.3f}" for v in summarise(ranks)))
        lines.append(f"{group:18s} {len(members):>3d} " + " ".join(f"{c:>20s}" for c in cells))
    return "\n".join(lines)


def verdicts(results: list[ScenarioResult], replayed: dict[str, dict], baselines: tuple[str, ...]) -> str:
    """The issue's targets on this run: AC@1 >= 0.85, AC@3 >= 0.95, p50 <= 60 s, +10 points over the best baseline."""
    ac1, ac3, _ = summarise([r.rank() for r in results])
    times = [t for t in (r.to_diagnosis_s() for r in results) if t is not None]
    p50 = statistics.median(times) if times else None
    present = [b for b in baselines if any(b in e["ranks"] for e in replayed.values())]
    base = {b: summarise([replayed.get(r.name, {}).get("ranks", {}).get(b, 0) for r in results])[0] for b in present}
    lines = [
        (
            f"live AC@1 {ac1:.3f} (target >= 0.85): {'MET' if ac1 >= 0.85 else 'NOT MET'}; "
            f"AC@3 {ac3:.3f} (target >= 0.95): {'MET' if ac3 >= 0.95 else 'NOT MET'}"
        ),
        "fault -> diagnosis p50 "
        + (f"{p50:.0f} s (target <= 60 s): {'MET' if p50 <= 60 else 'NOT MET'}" if p50 is not None else "- (none)"),
    ]
    if base:
        name = max(base, key=lambda b: base[b])
        lead = 100 * (ac1 - base[name])
        lines.append(
            f"best baseline {name} AC@1 {base[name]:.3f}, live lead {lead:+.1f} points (target >= +10): "
            f"{'MET' if lead >= 10 else 'NOT MET'}"
        )
    return "\n".join(lines)


def scenario_lines(results: list[ScenarioResult]) -> str:
    """One line per scenario: its truth, the live top 3 and the timing."""
    lines = []
    for r in results:
        top = ", ".join(r.ranking[:3]) or "-"
        parts = [
            f"{r.name}: {r.fault} -> {'/'.join(r.expect)}; rank {r.rank() or '-'} ({r.diagnosis}); top {top}",
            f"alert {_seconds(r.to_alert_s())}, incident {_seconds(r.to_incident_s())}",
        ]
        lines.append("; ".join(parts) + ("; " + "; ".join(r.notes) if r.notes else ""))
    return "\n".join(lines)


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"+{value:.0f} s"

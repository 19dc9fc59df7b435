"""What `rca diagnose` prints: the readable report or JSON lines, and the accuracy summary."""

from __future__ import annotations

import json

from rca.cli.diagnose.case import LOGS_DIR
from rca.cli.diagnose.session import CaseResult
from rca.rank.scoring import summarise


def ranking_json(result: CaseResult) -> list[dict]:
    """Every entity of the case's topology, best first (those Infer did not reach last, score 0)."""
    return [{"entity": r.entity, "score": round(r.score, 6)} for r in result.ranking]


def case_json(result: CaseResult) -> str:
    """`rca diagnose CASE --json`."""
    return json.dumps({"ranking": ranking_json(result), "incident": result.response.incident_id})


def all_case_json(result: CaseResult) -> str:
    """One line of `rca diagnose --all DIR --json`."""
    return json.dumps({"case": result.case.name, "ranking": ranking_json(result)})


def summary(results: list[CaseResult], seconds: float) -> dict | None:
    """AC@1, AC@3, Avg@5 over the cases that name their root causes; None when none does."""
    ranks = [r.rank_of_truth() for r in results]
    scored = [r for r in ranks if r is not None]
    if not scored:
        return None
    ac1, ac3, avg5 = summarise(scored)
    return {
        "cases": len(results),
        "scored": len(scored),
        "AC@1": round(ac1, 4),
        "AC@3": round(ac3, 4),
        "Avg@5": round(avg5, 4),
        "seconds": round(seconds, 2),
        "cases_per_s": round(len(results) / seconds, 2) if seconds > 0 else None,
    }


def case_text(result: CaseResult, top: int) -> str:
    """The readable report of one case: what ingest did, the ranking with paths and evidence, the verdict."""
    from rca.service.report import clock, format_infer

    case = result.case
    lines = [
        f"case {case.name}: {len(case.labels)} entities, {len(case.topology.edges)} relations; "
        f"alert at {clock(case.alert_at)} UTC on " + ", ".join(f"{s.entity} {s.family}" for s in case.symptoms)
    ]
    if result.logs is not None:
        logs = result.logs
        formats = ", ".join(f"{n} {fmt}" for fmt, n in logs.parsed.items())
        lines.append(
            f"logs: {logs.lines} lines ({formats}), {logs.dead_lettered} dead-lettered, "
            f"{len(logs.templates)} templates, {logs.events_written} :Event buckets, {logs.changes_written} :Change"
        )
    elif (case.path / LOGS_DIR).is_dir():  # said apart: an export whose logs went missing looks like this
        lines.append("logs: none (logs/ holds no lines)")
    else:
        lines.append("logs: none (no logs/ folder)")
    lines.append(f"metrics: {result.series} series every {case.step_s:.0f} s; {result.anomalies} anomalies detected")
    lines += [f"  {note}" for note in result.notes]
    lines += [f"  bad input: {problem}" for problem in result.metric_problems]
    shown = type(result.response)()
    shown.CopyFrom(result.response)
    del shown.candidates[top:]
    lines.append("")
    lines.append(format_infer(shown))
    rest = len(result.ranking) - len(shown.candidates)
    if rest > 0:
        unreached = sum(1 for r in result.ranking if not r.reached)
        lines.append(
            f"... {rest} more entities ranked ({unreached} outside the neighbourhood Infer walked, score 0); "
            "--json prints them all"
        )
    rank = result.rank_of_truth()
    if rank is not None:
        truth = ", ".join(case.root_causes)
        verdict = f"ranked #{rank}" if rank else "not reached by Infer"
        lines.append(f"true root cause ({truth}): {verdict}")
    return "\n".join(lines)


def all_line_text(result: CaseResult) -> str:
    """One line per case of `rca diagnose --all DIR`."""
    first = result.ranking[0] if result.ranking else None
    top = f"#1 {first.entity} ({first.score:.2f})" if first else "no ranking"
    rank = result.rank_of_truth()
    truth = (
        ""
        if rank is None
        else f"; truth {', '.join(result.case.root_causes)} " + (f"#{rank}" if rank else "not reached")
    )
    return f"{result.case.name}: {top}{truth}; {result.anomalies} anomalies; {result.seconds:.2f} s"


def summary_text(results: list[CaseResult], seconds: float) -> str:
    """The closing lines of `rca diagnose --all DIR`."""
    figures = summary(results, seconds)
    rate = f"{len(results)} cases in {seconds:.1f} s ({len(results) / seconds:.2f} cases/s)" if seconds > 0 else ""
    if figures is None:
        return rate + "; no case names its root causes, so no accuracy"
    return (
        f"{rate}\nAC@1 {figures['AC@1']:.3f}  AC@3 {figures['AC@3']:.3f}  Avg@5 {figures['Avg@5']:.3f} "
        f"over {figures['scored']} cases with root_causes"
    )

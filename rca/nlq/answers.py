"""Answers: each intent's read-only graph query (graph_schema.cypher.ask) or Infer, put into words and a table.

Every graph read of an answer runs in one read transaction (``GraphStore.read_transaction``); the
statements take only parameters. Root-cause questions go through the service's own Infer (the
``InferPort`` the service passes in), so they are ranked, stored and explained as any alert is.
"""

from __future__ import annotations

from datetime import tzinfo

from graph_schema.cypher import ask as cypher
from graph_schema.event_templates import latest_bucket
from rca.nlq import wording as w
from rca.nlq.answer_types import Answer, InferPort, SimilarPort, Window
from rca.nlq.entities import Entity, EntityCatalog
from rca.nlq.parser import Parsed
from rca.nlq.structure import Structure
from rca.nlq.structure_words import relation_words, structure_sentence

# The window an intent covers when the question says no time (seconds back from now).
DEFAULT_WINDOW_S = {
    "changes": 86400.0,
    "anomalies": 3600.0,
    "errors": 3600.0,
    "incidents": 30 * 86400.0,
    "health": 3600.0,
}
HEALTH_CHANGES_S = 86400.0  # a health answer mentions the changes of the last day
MAX_LOG_SEVERITY = 4  # syslog warning: the "errors" answers count warning and worse


class Answerer:
    """Answers parsed questions from one graph store and the service's Infer."""

    def __init__(self, store, catalog: EntityCatalog, structure: Structure, infer: InferPort, similar: SimilarPort):
        self.store = store
        self.catalog = catalog
        self.structure = structure
        self.infer = infer
        self.similar = similar

    def answer(self, parsed: Parsed, now: float, tz: tzinfo, max_rows: int) -> Answer:
        """The answer to a question the parser understood (not a refusal or a clarification)."""
        handler = getattr(self, f"_{parsed.intent}")
        window = _window(parsed, now)
        return handler(parsed, window, now, tz, max_rows)

    def _read(self, statement: str, **params) -> list[dict]:
        return self.store.read_transaction(lambda tx: [r.data() for r in tx.run(statement, params)])

    def _signals(self, statement: str, parsed: Parsed, window: Window, tz: tzinfo, now: float, **params):
        """The rows of a signal statement over the question's entities and window, and the words for that
        scope (" on payment between 13:42 and 14:42 UTC")."""
        rows = self._read(statement, **_filter(parsed, window), **params)
        return rows, f"{_on(parsed.entities)} {w.span(window.start, window.end, tz, now)}"

    # -- signals -------------------------------------------------------------------------------
    def _changes(self, parsed: Parsed, window: Window, now: float, tz: tzinfo, max_rows: int) -> Answer:
        rows, scope = self._signals(cypher.CHANGES, parsed, window, tz, now, limit=max_rows)
        if not rows:
            return Answer(f"No deploys or config changes{scope}.", window=window)
        items = [
            f"{r['change_type']} on {r['entity_id']} at {w.when(r['at'], tz, now)} ({w.clip(r['description'], 70)})"
            for r in rows
        ]
        text = f"{w.plural(len(rows), 'change')}{scope}, newest first: {w.listing(items, 3)}."
        table = [[w.when(r["at"], tz, now), r["entity_id"], r["change_type"], w.clip(r["description"])] for r in rows]
        evidence = [("change", r["id"]) for r in rows] + [("entity", e) for e in _unique(r["entity_id"] for r in rows)]
        return Answer(text, ["time", "entity", "type", "description"], table, evidence, window)

    def _anomalies(self, parsed: Parsed, window: Window, now: float, tz: tzinfo, max_rows: int) -> Answer:
        rows, scope = self._signals(cypher.ANOMALIES, parsed, window, tz, now, limit=max_rows)
        if not rows:
            return Answer(f"No metric anomalies{scope}.", window=window)
        items = [_anomaly_words(r, tz, now) for r in rows]
        count = w.plural(len(rows), "metric anomaly", "metric anomalies")
        text = f"{count}{scope}, strongest first: {w.listing(items, 3)}."
        table = [
            [
                r["entity_id"],
                r["signal"],
                r["direction"] or "",
                w.when(r["onset"], tz, now),
                r["status"] or "",
                w.number(r["score"]),
                w.number(r["value"]),
                w.number(r["baseline"]),
            ]
            for r in rows
        ]
        evidence = [("anomaly", r["id"]) for r in rows] + [("entity", e) for e in _unique(r["entity_id"] for r in rows)]
        columns = ["entity", "signal", "direction", "onset", "status", "score", "value", "baseline"]
        return Answer(text, columns, table, evidence, window)

    def _errors(self, parsed: Parsed, window: Window, now: float, tz: tzinfo, max_rows: int) -> Answer:
        rows, scope = self._signals(
            cypher.ERROR_SIGNATURES, parsed, window, tz, now, limit=max_rows, max_severity=MAX_LOG_SEVERITY
        )
        rows = _settled_signatures(rows)
        if not rows:
            return Answer(f"No warning or error log lines{scope}.", window=window)
        items = [
            f'{r["lines"]} x "{w.clip(r["template"], 60)}" on {r["entity_id"]} ({r["signature_class"]})' for r in rows
        ]
        total = sum(r["lines"] for r in rows)
        count = f"{w.plural(total, 'warning or error log line')} in {w.plural(len(rows), 'signature')}"
        text = f"{count}{scope}; most frequent: {w.listing(items, 3)}."
        table = [
            [
                str(r["lines"]),
                r["entity_id"],
                r["signature_class"] or "",
                w.clip(r["template"]),
                w.when(r["first_ts"], tz, now),
                w.when(r["last_ts"], tz, now),
            ]
            for r in rows
        ]
        evidence = [("event", i) for r in rows for i in r["event_ids"][:3]] + [
            ("entity", e) for e in _unique(r["entity_id"] for r in rows)
        ]
        return Answer(text, ["lines", "entity", "class", "signature", "first", "last"], table, evidence, window)

    def _health(self, parsed: Parsed, window: Window, now: float, tz: tzinfo, max_rows: int) -> Answer:
        entity = parsed.entities[0]
        ids = [entity.id]

        def work(tx):
            def run(statement, **params):
                return [r.data() for r in tx.run(statement, params)]

            base = {"all_entities": False, "ids": ids, "limit": max_rows}
            return (
                run(cypher.ANOMALIES, start=window.start, end=window.end, **base),
                _settled_signatures(
                    run(
                        cypher.ERROR_SIGNATURES,
                        start=window.start,
                        end=window.end,
                        max_severity=MAX_LOG_SEVERITY,
                        **base,
                    )
                ),
                run(cypher.CHANGES, start=min(window.start, now - HEALTH_CHANGES_S), end=window.end, **base),
                run(cypher.INCIDENTS, start=now - DEFAULT_WINDOW_S["incidents"], end=now, status="open", **base),
            )

        anomalies, errors, changes, incidents = self.store.read_transaction(work)
        open_anomalies = [a for a in anomalies if a["status"] == "open"]
        lines = sum(e["lines"] for e in errors)
        parts = [f"{entity.name} ({entity.label}) {w.span(window.start, window.end, tz, now)}:"]
        parts.append(
            f"{w.plural(len(open_anomalies), 'open anomaly', 'open anomalies')}"
            + (f" ({w.listing([_anomaly_words(a, tz, now) for a in open_anomalies], 2)})" if open_anomalies else "")
            + f", {w.plural(len(anomalies) - len(open_anomalies), 'ended one', 'ended ones')};"
        )
        parts.append(
            f"{w.plural(lines, 'warning or error log line')}"
            + (f', most often "{w.clip(errors[0]["template"], 60)}" ({errors[0]["lines"]})' if errors else "")
            + ";"
        )
        parts.append(
            f"{w.plural(len(changes), 'change')} since {w.when(min(window.start, now - HEALTH_CHANGES_S), tz, now)}"
            + (f" (latest: {changes[0]['change_type']} at {w.when(changes[0]['at'], tz, now)})" if changes else "")
            + ";"
        )
        parts.append(
            f"{w.plural(len(incidents), 'open incident')}"
            + (f" ({w.listing([i['id'] for i in incidents], 3)})" if incidents else "")
            + "."
        )
        verdict = "looks healthy" if not open_anomalies and not lines and not incidents else "shows trouble"
        text = " ".join(parts) + f" In short, {entity.name} {verdict}."
        table = [
            ["open anomalies", str(len(open_anomalies))],
            ["ended anomalies", str(len(anomalies) - len(open_anomalies))],
            ["warning or error log lines", str(lines)],
            ["changes", str(len(changes))],
            ["open incidents", str(len(incidents))],
        ]
        evidence = (
            [("entity", entity.id)]
            + [("anomaly", a["id"]) for a in open_anomalies]
            + [("change", c["id"]) for c in changes]
            + [("incident", i["id"]) for i in incidents]
        )
        return Answer(text, ["what", "count"], table, evidence, window)

    # -- structure -------------------------------------------------------------------------------
    def _dependencies(self, parsed: Parsed, window: Window | None, now: float, tz: tzinfo, max_rows: int) -> Answer:
        return self._structure(parsed, max_rows, downstream=True)

    def _dependents(self, parsed: Parsed, window: Window | None, now: float, tz: tzinfo, max_rows: int) -> Answer:
        return self._structure(parsed, max_rows, downstream=False)

    def _structure(self, parsed: Parsed, max_rows: int, *, downstream: bool) -> Answer:
        table: list[list[str]] = []
        sentences, evidence = [], []
        for entity in parsed.entities:
            reached = self.structure.downstream(entity.id) if downstream else self.structure.upstream(entity.id)
            for r in reached:
                known = self.catalog.by_id.get(r.id)
                how = relation_words(r.relation, downstream) if r.depth == 1 else f"{r.depth} hops away"
                table.append([entity.name, known.name if known else r.id, known.label if known else "", how])
            evidence += [("entity", entity.id)] + [("entity", r.id) for r in reached]
            sentences.append(structure_sentence(entity, reached, downstream))
        return Answer(" ".join(sentences), ["of", "entity", "label", "how"], table[:max_rows], evidence)

    # -- incidents -------------------------------------------------------------------------------
    def _incidents(self, parsed: Parsed, window: Window, now: float, tz: tzinfo, max_rows: int) -> Answer:
        if parsed.similar:
            return self._similar(parsed, window, now, tz, max_rows)
        rows = self._read(cypher.INCIDENTS, **_filter(parsed, window), status=parsed.status, limit=max_rows)
        during = w.span(window.start, window.end, tz, now)
        what = f"{parsed.status} incidents" if parsed.status else "incidents"
        where = f" involving {w.listing([e.name for e in parsed.entities])}" if parsed.entities else ""
        if not rows:
            return Answer(f"No {what}{where} {during}.", window=window)
        items = [
            f"{r['id']} at {w.when(r['created_at'], tz, now)} "
            f"(symptoms {', '.join(r['symptom_ids'] or [])}; top candidate {r['top_candidate_id']})"
            for r in rows
        ]
        text = f"{w.plural(len(rows), what[:-1], what)}{where} {during}, newest first: {w.listing(items, 3)}."
        table = [_incident_row(r, tz, now) for r in rows]
        return Answer(
            text,
            ["created", "incident", "symptoms", "top candidate", "score", "status"],
            table,
            [("incident", r["id"]) for r in rows],
            window,
        )

    def _similar(self, parsed: Parsed, window: Window, now: float, tz: tzinfo, max_rows: int) -> Answer:
        ids = [e.id for e in parsed.entities]
        params = {"start": 0.0, "end": now, "all_entities": not ids, "ids": ids, "status": "", "limit": max_rows + 1}
        history = self._read(cypher.INCIDENTS, **params)
        about = w.listing([e.name for e in parsed.entities]) or "the estate"
        if not history:
            return Answer(f"No incident of {about} is stored, so nothing to compare with.", window=window)
        latest, earlier = history[0], history[1:]
        cases = [c for c in self.similar(latest.get("embedding") or []) if c.incident_id != latest["id"]][:max_rows]
        text = f"The latest incident of {about} is {latest['id']} ({w.when(latest['created_at'], tz, now)}). "
        if cases:
            best = cases[0]
            text += (
                f"Yes, it has happened before: {w.plural(len(cases), 'confirmed past incident')} resemble it; "
                f"the closest, {best.incident_id} ({w.when(best.created_at, tz, now)}, similarity "
                f"{best.similarity:.2f}), was confirmed to be caused by {best.root_cause}."
            )
        else:
            text += (
                "No confirmed past incident resembles it "
                "(the similar-incident memory holds only incidents confirmed by feedback)."
            )
        if earlier:
            listed = w.listing([r["id"] for r in earlier], 3)
            text += f" {w.plural(len(earlier), 'earlier incident')} of {about} stored: {listed}."
        table = [[c.incident_id, w.when(c.created_at, tz, now), f"{c.similarity:.2f}", c.root_cause] for c in cases]
        table += [[r["id"], w.when(r["created_at"], tz, now), "", r["confirmed_root_cause_id"] or ""] for r in earlier][
            : max(0, max_rows - len(table))
        ]
        evidence = (
            [("incident", latest["id"])]
            + [("incident", c.incident_id) for c in cases]
            + [("incident", r["id"]) for r in earlier]
        )
        return Answer(text, ["incident", "created", "similarity", "root cause"], table, evidence, window)

    # -- root cause ------------------------------------------------------------------------------
    def _root_cause(self, parsed: Parsed, window: Window | None, now: float, tz: tzinfo, max_rows: int) -> Answer:
        suspects = set(parsed.hypotheses)
        symptoms = [e for e in parsed.entities if e not in suspects] or parsed.entities
        given = (window.start, window.end) if window is not None and window.source == "question" else None
        observed_at = given[1] if given else now
        report = self.infer(symptoms, parsed.family, min(observed_at, now), given)
        used = Window(
            report.start, report.end, "question" if given else "default", window.text if given and window else ""
        )
        names = w.listing([e.name for e in symptoms])
        if not report.candidates:
            text = (
                f"Nothing around {names} showed a fault {w.span(used.start, used.end, tz, now)}; "
                f"no root cause to name (incident {report.incident_id})."
            )
            return Answer(
                text,
                window=used,
                incident_id=report.incident_id,
                evidence=[("incident", report.incident_id)],
                infer_ms=report.infer_ms,
            )
        top = report.candidates[0]
        others = ", ".join(f"{c.name} ({c.score:.2f})" for c in report.candidates[1:3])
        text = (
            f"Most likely root cause of the {names} {parsed.family}: {top.name} ({top.label}, score {top.score:.2f})"
            + (f"; then {others}" if others else "")
            + "."
        )
        if len(top.path) > 1:
            text += f" Path: {' -> '.join(top.path)}."
        if top.evidence:
            text += f" Strongest evidence: {top.evidence}."
        for suspect in parsed.hypotheses:
            ranks = [c for c in report.candidates if c.entity_id == suspect.id]
            text += (
                f" {suspect.name} is ranked #{ranks[0].rank} (score {ranks[0].score:.2f})."
                if ranks
                else f" {suspect.name} is not among the top {len(report.candidates)} candidates."
            )
        text += f" Stored as incident {report.incident_id}."
        table = [
            [str(c.rank), c.name, c.label, f"{c.score:.3f}", " -> ".join(c.path)] for c in report.candidates[:max_rows]
        ]
        evidence = [("incident", report.incident_id)] + [("entity", c.entity_id) for c in report.candidates[:max_rows]]
        return Answer(
            text,
            ["rank", "entity", "label", "score", "path"],
            table,
            evidence,
            used,
            report.incident_id,
            report.infer_ms,
        )


def _window(parsed: Parsed, now: float) -> Window | None:
    if parsed.window is not None:
        return Window(parsed.window.start, parsed.window.end, "question", parsed.window.text)
    seconds = DEFAULT_WINDOW_S.get(parsed.intent)
    return Window(now - seconds, now, "default") if seconds else None


def _settled_signatures(rows: list[dict]) -> list[dict]:
    """ERROR_SIGNATURES rows with the template text and class of each signature's latest bucket: the
    text the miner has settled on (graph_schema.cypher.ask says why a signature holds several)."""
    out = []
    for row in rows:
        latest = latest_bucket(row["text_times"], row["texts"])
        out.append({**row, "template": row["texts"][latest] or "", "signature_class": row["classes"][latest]})
    return out


def _filter(parsed: Parsed, window: Window) -> dict:
    ids = [e.id for e in parsed.entities]
    return {"start": window.start, "end": window.end, "all_entities": not ids, "ids": ids}


def _on(entities: list[Entity]) -> str:
    return f" on {w.listing([e.name for e in entities])}" if entities else ""


def _unique(values) -> list[str]:
    return list(dict.fromkeys(values))


def _anomaly_words(r: dict, tz: tzinfo, now: float) -> str:
    return (
        f"{r['entity_id']} {r['signal']} {r['direction'] or ''} from {w.when(r['onset'], tz, now)} "
        f"(score {w.number(r['score'])}, {w.number(r['value'])} vs baseline {w.number(r['baseline'])}"
        + (", ended)" if r["status"] == "closed" else ")")
    )


def _incident_row(r: dict, tz: tzinfo, now: float) -> list[str]:
    status = "confirmed" if r["confirmed_root_cause_id"] else ("closed" if r["closed_at"] else "open")
    return [
        w.when(r["created_at"], tz, now),
        r["id"],
        ", ".join(r["symptom_ids"] or []),
        r["top_candidate_id"] or "",
        w.number(r["top_score"]),
        status,
    ]

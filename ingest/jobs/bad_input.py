"""Accounting of bad input met by a poll or sync: counted by kind and named, never fatal."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

# What each kind means, for reports and the exported metric's documentation.
KINDS = {
    "rejected_template": "Prometheus refused the template's query",
    "empty_template": "the template returned no series (its metrics do not exist here)",
    "missing_series": "a series seen by the previous poll is gone",
    "non_finite": "NaN or infinite samples dropped",
    "counter_reset": "a raw counter went down (restart); the rate skips that step",
    "unmapped": "a series whose labels name no entity under the template's mapping rule",
    "duplicate_series": "two series of one template map to the same entity; the first is kept",
    "unlabelled_kind": "the rule reads the entity's kind from a label the series lacks; its name decides the kind",
}


@dataclass
class BadInput:
    """Counts per (kind, template or series name), with one example message per pair."""

    counts: Counter = field(default_factory=Counter)
    examples: dict[tuple[str, str], str] = field(default_factory=dict)

    def add(self, kind: str, name: str, detail: str = "", n: int = 1) -> None:
        """Count ``n`` occurrences of ``kind`` for ``name``."""
        assert kind in KINDS, kind
        self.counts[(kind, name)] += n
        if detail and (kind, name) not in self.examples:
            self.examples[(kind, name)] = detail

    def by_kind(self) -> dict[str, int]:
        """Totals per kind."""
        totals: Counter = Counter()
        for (kind, _), n in self.counts.items():
            totals[kind] += n
        return dict(totals)

    def problems(self, include_empty: bool = False) -> list[str]:
        """One readable line per (kind, name)."""
        lines = []
        for (kind, name), n in sorted(self.counts.items()):
            if kind == "empty_template" and not include_empty:
                continue
            detail = self.examples.get((kind, name))
            lines.append(f"{kind} {name}: {n}" + (f" ({detail})" if detail else ""))
        return lines

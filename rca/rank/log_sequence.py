"""Logs as sequence evidence: a routine line that stopped keeping pace with the line it always kept pace with.

A handler that logs "query received" and then "query answered" for each request prints the two in a
steady ratio, minute after minute, whatever the load. When the code between them starts to throw (a
code defect on the request path), the entity goes on logging the first line and stops logging the
second: no template is new, none is faster, none is more severe, nothing shows in the metrics; only a
sequence is broken. `log_change` cannot see that, and without it such a fault is invisible at its
root (its callers' errors are what shows). Nezha (Yu et al., FSE 2023) finds root causes of injected
code defects by the same kind of evidence, read from traces; here it is read from the per-minute counts
of the log templates alone.

For each entity, a template is steady when it was logged in at least STEADY_SHARE of the minutes the
entity was heard in before the recent ones. Each steady routine template (informational or quieter: an
error or warning that stops is a recovery, not a fault) is paired with the steady template of the same
entity that kept the steadiest split with it over those minutes: the smallest dispersion of its share
of the two counts, minute by minute, against a binomial at the overall share (over the steadiest nine
tenths of the minutes, so that an earlier break of the same pair in the window does not pass for a
pair that never kept pace). A template's own
variants (the same statement printed with other values, `same_statement`) are never its partner: the
data mix trades them, not the code path. The recent minutes are the last SEQUENCE_RECENT_S before the
alert and the alert's own minute, those most surely inside the fault. The surprise is -log10 of the
chance that the template falls this far below its partner's count at the earlier split, its variance
widened by the dispersion seen (never narrowed below a binomial).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from rca.rank.log_change import BURST_MIN_HISTORY, HEARD_S, SEVERE, statement_of
from rca.rank.types import EventSignal

SEQUENCE_RECENT_S = 120.0  # the recent minutes: the last two before the alert, and the alert's own
STEADY_SHARE = 0.75  # a template logged in at least this share of the entity's heard minutes is steady
# the dispersion is read over this share of the minutes, the steadiest (at least one left out): a fault
# that broke the pair earlier in the window (a recurring defect) would otherwise make the pair look
# unsteady and hide the same break now; a split the load decides stays unsteady in most minutes
STEADIEST_SHARE = 0.9
MIN_PAIR_LINES = 5  # recent lines of a template and its partner together, at least, to judge the split
SAME_STATEMENT_SHARE = 1 / 3  # templates of one length differing in at most this share of tokens: one statement
# the surprise from which a broken sequence is evidence: a chance under one in a hundred; the routine
# shifts of a busy service's request mix stay under it on the real faults (docs/accuracy.md)
SEQUENCE_FROM = 2.0
LOWEST_CHANCE = 1e-300  # the chance a surprise is computed from never reaches 0 (log10 of it is finite)


def _steadiest_chance_mean(share: float) -> float:
    """What the mean over the steadiest ``share`` of minutes reads for a pair that splits as chance
    would, against the mean over all (1): the mean of a chi-square with one degree of freedom below its
    ``share`` quantile z^2, which is P(chi2_3 < z^2) / share = (erf(z / sqrt 2) - z sqrt(2 / pi)
    e^(-z^2 / 2)) / share."""
    z = NormalDist().inv_cdf((1.0 + share) / 2.0)
    return (math.erf(z / math.sqrt(2.0)) - z * math.sqrt(2.0 / math.pi) * math.exp(-z * z / 2.0)) / share


# dividing by it keeps the dispersion a chance split's 1 (0.623 at nine tenths): left out of the
# minutes, the unsteadiest tenth would read every pair 38 % steadier than it is
STEADIEST_CHANCE_MEAN = _steadiest_chance_mean(STEADIEST_SHARE)


@dataclass(frozen=True)
class BrokenSequence:
    """One entity's most improbable template to fall behind its partner over the recent minutes."""

    entity_id: str
    template: str  # the line that fell behind ...
    partner: str  # ... the line it kept pace with before
    surprise: float  # -log10 of the chance of falling this far behind at the earlier split
    lines_recent: int  # recent lines of the template ...
    partner_recent: int  # ... and of its partner
    lines_before: int  # lines of the template before the recent minutes ...
    partner_before: int  # ... and of its partner

    @property
    def is_broken(self) -> bool:
        """Past SEQUENCE_FROM: evidence, not a shift in the request mix."""
        return self.surprise > SEQUENCE_FROM


def broken_sequences(events: Iterable[EventSignal], alert: float) -> dict[str, BrokenSequence]:
    """Entity id -> its most improbable template to fall behind its partner in the recent minutes (module
    docstring); an entity heard in fewer than BURST_MIN_HISTORY minutes before them, or with fewer than
    two steady templates, is not judged. Minutes are the events' buckets."""
    split = alert - SEQUENCE_RECENT_S
    before: dict[str, dict[str, dict[int, int]]] = {}  # entity -> template -> minute -> lines
    recent: dict[tuple[str, str], int] = {}
    severity: dict[tuple[str, str], int] = {}
    for e in events:
        key = (e.entity_id, statement_of(e.template))
        severity[key] = min(severity.get(key, e.severity), e.severity)
        if e.last_ts < split:
            minutes = before.setdefault(e.entity_id, {}).setdefault(key[1], {})
            minute = int(e.first_ts // HEARD_S)
            minutes[minute] = minutes.get(minute, 0) + e.count
        elif e.first_ts <= alert + HEARD_S:
            recent[key] = recent.get(key, 0) + e.count
    out: dict[str, BrokenSequence] = {}
    for entity_id, templates in before.items():
        found = _most_broken(entity_id, templates, recent, severity)
        if found is not None:
            out[entity_id] = found
    return out


def _most_broken(
    entity_id: str,
    templates: dict[str, dict[int, int]],
    recent: dict[tuple[str, str], int],
    severity: dict[tuple[str, str], int],
) -> BrokenSequence | None:
    heard = sorted({m for minutes in templates.values() for m in minutes})
    if len(heard) < BURST_MIN_HISTORY:
        return None
    steady = [t for t, minutes in templates.items() if len(minutes) >= STEADY_SHARE * len(heard)]
    if len(steady) < 2:
        return None
    column = {m: i for i, m in enumerate(heard)}
    counts = np.zeros((len(heard), len(steady)))  # heard minutes x steady templates
    for j, t in enumerate(steady):
        for m, lines in templates[t].items():
            counts[column[m], j] = lines
    dispersion, share = _pair_dispersion(counts)
    for j, t in enumerate(steady):
        dispersion[j, j] = np.inf
        for k in range(j + 1, len(steady)):
            if same_statement(t, steady[k]):
                dispersion[j, k] = dispersion[k, j] = np.inf
    best: BrokenSequence | None = None
    totals = counts.sum(axis=0)
    for j, t in enumerate(steady):
        k = int(np.argmin(dispersion[j]))
        if severity[(entity_id, t)] <= SEVERE or not np.isfinite(dispersion[j, k]):
            continue
        lines, partner_lines = recent.get((entity_id, t), 0), recent.get((entity_id, steady[k]), 0)
        surprise = _shortfall_surprise(lines, lines + partner_lines, share[j, k], dispersion[j, k])
        if best is None or surprise > best.surprise:
            best = BrokenSequence(
                entity_id, t, steady[k], surprise, lines, partner_lines, int(totals[j]), int(totals[k])
            )
    return best


def _pair_dispersion(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(dispersion, share), both (templates, templates): share[j, k] is template j's share of the lines of
    j and k together over the minutes; dispersion[j, k] the mean squared deviation of its share minute by
    minute from that, in binomial variances (1 for a split that varies as chance would, near 0 for lines
    printed together, well above 1 for lines whose mix the load decides), over the steadiest
    STEADIEST_SHARE of the minutes and scaled back to what all minutes would read for a chance split."""
    pair = counts[:, :, None] + counts[:, None, :]  # minutes x j x k
    share = counts.sum(axis=0)[:, None] / pair.sum(axis=0)
    expected = pair * share[None, :, :]
    variance = expected * (1.0 - share[None, :, :])
    with np.errstate(divide="ignore", invalid="ignore"):
        # a minute neither line was logged in says nothing of the split: it sorts last and is never kept
        terms = np.where(pair > 0, (counts[:, :, None] - expected) ** 2 / variance, np.inf)
    minutes = (pair > 0).sum(axis=0)
    kept = np.floor(minutes * STEADIEST_SHARE).astype(int)
    steadiest = np.sort(terms, axis=0)
    rows = np.arange(len(counts))[:, None, None]
    dispersion = np.where(rows < kept[None, :, :], steadiest, 0.0).sum(axis=0) / np.maximum(kept - 1, 1)
    dispersion /= STEADIEST_CHANCE_MEAN
    # a pair always split the same way (variance 0) is the steadiest there is
    return np.nan_to_num(dispersion, nan=0.0, posinf=0.0), share


def _shortfall_surprise(lines: int, pair_lines: int, share: float, dispersion: float) -> float:
    """-log10 of the chance of at most `lines` of `pair_lines` at `share`, in a normal approximation with
    the binomial variance widened by the dispersion seen before; 0 when too few lines to judge."""
    if pair_lines < MIN_PAIR_LINES or share >= 1.0:
        return 0.0
    variance = max(dispersion, 1.0) * pair_lines * share * (1.0 - share)
    z = (pair_lines * share - lines) / math.sqrt(variance)
    chance = 0.5 * math.erfc(z / math.sqrt(2.0))
    return -math.log10(max(chance, LOWEST_CHANCE))


def same_statement(a: str, b: str) -> bool:
    """Whether two templates are one statement printed with other values: as many tokens, at most
    SAME_STATEMENT_SHARE of them different (a template miner keeps literal lists apart)."""
    ta, tb = a.split(), b.split()
    return len(ta) == len(tb) and sum(x != y for x, y in zip(ta, tb)) <= SAME_STATEMENT_SHARE * len(ta)


def sequence_surprise(sequences: dict[str, BrokenSequence], entity_ids: Iterable[str]) -> np.ndarray:
    """Per entity, in the order given: its broken sequence's surprise, 0 when it has none."""
    return np.array([sequences[e].surprise if e in sequences else 0.0 for e in entity_ids])

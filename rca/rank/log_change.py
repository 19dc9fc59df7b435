"""Logs as change evidence: which templates are new, or logged faster, at an entity since the incident began.

A log line is evidence about an entity only when it says something changed there: a template the
entity had not logged before, or one it now logs much faster than it did. Routine lines, errors
included, that the entity was already writing before the incident say nothing about this incident;
counting them by severity made the busiest, noisiest services look guilty on every real system.

The subgraph's window gives the history: everything an entity logged from the window's start up
to ``RECENT_S`` before the alert is "before", what it logged after that is "after"; in a window
that reaches less than twice ``RECENT_S`` before the alert, the split is halfway to the alert. Severity is
one input: a new warning or error weighs more than a new informational line, and both count.
Templates are compared as statements (`statement_of`): a line printing a list of five items is
the line it printed with four. A template is new only when the history was long enough to have
shown it: were the entity logging it at one rate all along, each of its n lines would fall after
the split with the chance A / (H + A) (A and H the seconds the logs were heard after and before
it), and all n with (A / (H + A))^n; that must be under e^-NEW_SURPRISE_NATS, 5 %. Four lines
after the fault are new against an hour of history, and say nothing against the one minute an
export kept before the day's first fault. When no line at all was heard before the split (a
recording that starts with the fault) there is no history to judge by, and what an entity logs is
new, as a service that logs only when it fails writes it; a single line heard before makes the
test strict (one minute of history against ten after asks for 32 lines), as a recording or a
replay can give and a live window only when its logs went undelivered for nearly all of it.

Rates are lines per second the logs were heard: ``GAP_S`` or more without a line among the events
given (the subgraph's, for the features) is a gap in delivery (a shipper down, an export that kept
only the minutes around a fault), not a quiet spell, and neither is the time before the first line
or after the last (a window whose end lies after the call); counting them would make every routine
template look "faster" on the side with fewer gaps.

`log_bursts` asks the question another way, for templates that come and go: how improbable it
is that the entity logged a template in as many of the last minutes before the alert as it did,
given in how many of the minutes heard before it logged it (a binomial tail over minutes, not lines,
so one chatty minute is not a burst). A failing code path that was last hit in an earlier incident
is not "new" and, its lines being bursty, seldom "faster" against its mean rate; it is still an
improbable run of minutes.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Collection, Iterable
from dataclasses import dataclass

from rca.rank.types import EventSignal

RECENT_S = 600.0  # the onset lies at most this long before the alert (features.ONSET_SCALE_S)
RATE_FACTOR = 4.0  # "logged faster": at least this many times the entity's earlier rate ...
MIN_EXCESS = 5  # ... and at least this many lines more than that rate predicts
SEVERE = 4  # syslog warning (4) and worse
WEIGHT_SEVERE = 1.0
WEIGHT_OTHER = 0.35  # a new informational template is evidence too, weaker than a new error
WEIGHT_FASTER = 0.5  # a known template logged faster counts half a new one
# "new" only when it is this improbable, in nats, that every line of the template fell after the split if
# the entity had logged it at one rate all along: e^-3, a chance of 5 %
NEW_SURPRISE_NATS = 3.0
HEARD_S = 60.0  # the time one line stands for: an event's bucket
GAP_S = 300.0  # no line at all for this long is a gap in delivery, not a quiet spell
MAX_BLOCK_TOKENS = 12  # the longest repeated block statement_of cuts (a printed record of a dozen fields)
BURST_RECENT_S = 300.0  # log_bursts' recent minutes: the last five before the alert, and the alert's
BURST_MIN_HISTORY = 5  # heard minutes before those, at least, to judge what is usual (else nothing is judged)
# surprise (-log10 of a chance) a run must pass to be a burst: one minute of a line never logged before,
# in five heard, scores about 0.9 (the simulator's services do that all the time); a run over most of
# the recent minutes scores 2 to 5
BURST_FROM = 1.0


@dataclass(frozen=True)
class TemplateChange:
    """One template of one entity that changed after the onset."""

    entity_id: str
    template: str
    signature_class: str
    severity: int
    kind: str  # "new" | "faster"
    lines_after: int
    lines_before: int
    first_after: float
    weight: float
    sample: str = ""  # one raw line of it after the split (names the peer a templated line leaves as <*>)


def template_changes(
    events: Iterable[EventSignal],
    window_start: float,
    alert: float,
    window_end: float,
    entities: Collection[str] | None = None,
) -> list[TemplateChange]:
    """The new and faster templates of every entity (of `entities` when given: the others' events count
    only towards the time the logs were heard), ordered by entity, then weight (largest first)."""
    # the recent part never takes more than half of what the window holds before the alert: with a
    # short look-back (a bridge set to 120 s) everything would otherwise be "new", routine lines too
    split = max(alert - RECENT_S, window_start + (alert - window_start) / 2)
    before: dict[tuple[str, str], int] = {}
    after: dict[tuple[str, str], list] = {}  # key -> [lines, first_ts, severity, class, sample]
    heard_before: list[float] = []  # line times on either side of the split (module docstring)
    heard_after: list[float] = []
    for e in events:
        if e.last_ts < split:
            heard_before.append(e.first_ts)
        elif e.first_ts <= window_end:
            heard_after.append(e.first_ts)
        else:
            continue
        if entities is not None and e.entity_id not in entities:
            continue
        key = (e.entity_id, statement_of(e.template))
        if e.last_ts < split:
            before[key] = before.get(key, 0) + e.count
        else:
            seen = after.setdefault(key, [0, e.first_ts, e.severity, e.signature_class, e.sample])
            seen[0] += e.count
            seen[1] = min(seen[1], e.first_ts)
            seen[2] = min(seen[2], e.severity)
    # the time the logs were heard, not the wall time
    history_s = _heard_s(heard_before) if heard_before else None
    after_s = _heard_s(heard_after)
    changes = []
    for (entity_id, template), (lines, first, severity, cls, sample) in after.items():
        weight = WEIGHT_SEVERE if severity <= SEVERE else WEIGHT_OTHER
        earlier = before.get((entity_id, template), 0)
        if earlier == 0:
            if history_s is not None and lines * math.log1p(history_s / after_s) < NEW_SURPRISE_NATS:
                continue  # a history too short to have shown it: absent there by chance, not new
            kind = "new"
        else:
            assert history_s is not None  # a template logged before the split was heard there
            expected = earlier / history_s * after_s
            if lines < RATE_FACTOR * expected or lines - expected < MIN_EXCESS:
                continue
            kind, weight = "faster", weight * WEIGHT_FASTER
        changes.append(TemplateChange(entity_id, template, cls, severity, kind, lines, earlier, first, weight, sample))
    changes.sort(key=lambda c: (c.entity_id, -c.weight, c.first_after, c.template))
    return changes


@functools.lru_cache(maxsize=8192)  # the distinct templates of a fleet: a few thousand
def statement_of(template: str) -> str:
    """The template with each run of a repeated block of tokens cut to one block.

    A statement that prints a collection ("soldTickets=[Ticket(...), Ticket(...), ...]") gives the
    template miner one template per collection size (it groups lines by their token count), so the
    size a service had not printed before would look like a new line. It is the same statement.
    """
    tokens = template.split()
    out: list[str] = []
    i = 0
    while i < len(tokens):
        for size in range(1, min(MAX_BLOCK_TOKENS, (len(tokens) - i) // 2) + 1):
            block = tokens[i : i + size]
            if tokens[i + size : i + 2 * size] == block:
                repeats = 2
                while tokens[i + repeats * size : i + (repeats + 1) * size] == block:
                    repeats += 1
                out.extend(block)
                i += repeats * size
                break
        else:
            out.append(tokens[i])
            i += 1
    return " ".join(out)


@dataclass(frozen=True)
class LogBurst:
    """One entity's most improbable run of a template over the recent minutes (log_bursts)."""

    entity_id: str
    template: str
    surprise: float  # -log10 of the run's chance, weighted by severity
    minutes_recent: int  # recent heard minutes the template was logged in ...
    heard_recent: int  # ... of these
    minutes_before: int  # earlier heard minutes it was logged in ...
    heard_before: int  # ... of these

    @property
    def is_burst(self) -> bool:
        """Past BURST_FROM: evidence, not a stray line."""
        return self.surprise > BURST_FROM


def log_bursts(events: Iterable[EventSignal], alert: float) -> dict[str, LogBurst]:
    """Entity id -> its most improbable template run of the recent minutes: -log10 of the chance of
    logging the template in at least as many of the recent heard minutes as it did, at the share of
    earlier heard minutes it logged it in (a template never logged before counts as half a minute),
    times WEIGHT_SEVERE or WEIGHT_OTHER by severity. Minutes are the events' buckets; a minute is
    heard when any entity logged in it. Empty when fewer than BURST_MIN_HISTORY minutes were heard
    before the recent ones: without a history nothing is improbable."""
    split = alert - BURST_RECENT_S
    heard_before: set[int] = set()
    heard_recent: set[int] = set()
    before: dict[tuple[str, str], set[int]] = {}
    recent: dict[tuple[str, str], set[int]] = {}
    severity: dict[tuple[str, str], int] = {}
    for e in events:
        minute = int(e.first_ts // HEARD_S)
        key = (e.entity_id, statement_of(e.template))
        if e.last_ts < split:
            heard_before.add(minute)
            before.setdefault(key, set()).add(minute)
        elif e.first_ts <= alert + HEARD_S:
            heard_recent.add(minute)
            recent.setdefault(key, set()).add(minute)
            severity[key] = min(severity.get(key, e.severity), e.severity)
    if len(heard_before) < BURST_MIN_HISTORY:
        return {}
    out: dict[str, LogBurst] = {}
    for key, minutes in recent.items():
        earlier = len(before.get(key, ()))
        share = (earlier + 0.5) / (len(heard_before) + 1)
        chance = _at_least(len(minutes), len(heard_recent), share)
        weight = WEIGHT_SEVERE if severity[key] <= SEVERE else WEIGHT_OTHER
        surprise = -math.log10(chance) * weight
        best = out.get(key[0])
        if best is None or surprise > best.surprise:
            out[key[0]] = LogBurst(
                key[0], key[1], surprise, len(minutes), len(heard_recent), earlier, len(heard_before)
            )
    return out


def _at_least(k: int, n: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p): n is a handful of minutes, so the sum is exact and cheap."""
    return sum(math.comb(n, j) * p**j * (1 - p) ** (n - j) for j in range(k, n + 1))


def _heard_s(times: list[float]) -> float:
    """Seconds the logs were heard over these line times: from the first to the last, less the gaps."""
    heard = HEARD_S  # the first line's bucket
    for earlier, later in itertools.pairwise(sorted(times)):
        heard += HEARD_S if later - earlier >= GAP_S else later - earlier
    return heard


def change_strength(changes: Iterable[TemplateChange]) -> dict[str, float]:
    """Entity id -> the summed weight of its changed templates."""
    out: dict[str, float] = {}
    for c in changes:
        out[c.entity_id] = out.get(c.entity_id, 0.0) + c.weight
    return out


def change_onsets(changes: Iterable[TemplateChange]) -> dict[str, float]:
    """Entity id -> when its first changed template appeared after the split."""
    out: dict[str, float] = {}
    for c in changes:
        out[c.entity_id] = min(out.get(c.entity_id, c.first_after), c.first_after)
    return out

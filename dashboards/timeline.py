"""The evidence timeline of an incident: its data (pure) and its Altair chart.

Anomalies are points per entity and signal (at their onset, sized by score); deviations under the
anomaly threshold are hollow diamonds per entity and family (a family with an anomaly shows
through the anomaly); changes are vertical rules; log signature counts are bars per time bucket
and class; the alert time is a red rule.
Times go in as epoch seconds and come out as UTC datetimes, which Altair draws on a time axis.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

import altair as alt
import pandas as pd

from rca.rank.features import WEAK_DEVIATION

LOG_BUCKET_S = 60.0
# the same room for both charts' y axes (labels up to ~40 characters), so their time axes line up
Y_AXIS = alt.Axis(labelLimit=280, minExtent=280, maxExtent=280)


@dataclass
class TimelineData:
    """The frames the chart layers: one row per anomaly, per log bucket and class, per change."""

    anomalies: pd.DataFrame
    deviations: pd.DataFrame
    logs: pd.DataFrame
    changes: pd.DataFrame
    alert: pd.DataFrame
    start: datetime
    end: datetime


def _when(epoch: float) -> datetime:
    return datetime.fromtimestamp(float(epoch), tz=UTC)


def timeline_data(
    anomalies: Iterable[Mapping],
    events: Iterable[Mapping],
    changes: Iterable[Mapping],
    names: Mapping[str, str],
    alert_at: float,
    window: tuple[float, float],
    deviations: Iterable[Mapping] = (),
) -> TimelineData:
    """The timeline's frames for signals of an incident's entities (``names``: id -> name) in ``window``."""
    start, end = window

    def name(entity_id: str) -> str:
        return names.get(entity_id, entity_id)

    anomaly_rows = [
        {
            "time": _when(max(a["onset"], start)),
            "series": f"{name(a['entity_id'])} · {a['signal']}",
            "entity": name(a["entity_id"]),
            "signal": a["signal"],
            "family": a.get("family") or "",
            "score": round(float(a.get("score") or 0.0), 2),
            "direction": a.get("direction") or "",
            "value": a.get("value"),
            "baseline": a.get("baseline"),
        }
        for a in anomalies
    ]
    anomalous = {(a["entity_id"], a.get("family") or "") for a in anomalies}
    deviation_rows = [
        {
            "time": _when(max(float(d["at"]), start)),
            "series": f"{name(d['entity_id'])} · {d['family']} (under threshold)",
            "entity": name(d["entity_id"]),
            "family": d["family"],
            "peak": round(float(d["peak"]), 2),
        }
        for d in deviations
        if float(d["peak"]) >= WEAK_DEVIATION and (d["entity_id"], d["family"]) not in anomalous
    ]
    buckets: dict[tuple[float, str, str], int] = {}
    for e in events:
        first = max(float(e["first_ts"]), start)
        bucket = first - first % LOG_BUCKET_S
        key = (bucket, name(e["entity_id"]), e.get("signature_class") or "other")
        buckets[key] = buckets.get(key, 0) + int(e.get("count") or 0)
    log_rows = [
        {"time": _when(bucket), "end": _when(bucket + LOG_BUCKET_S), "entity": entity, "class": cls, "count": count}
        for (bucket, entity, cls), count in sorted(buckets.items())
    ]
    change_rows = [
        {
            "time": _when(c["at"]),
            "entity": name(c["entity_id"]),
            "change": c.get("change_type") or "change",
            "description": c.get("description") or "",
        }
        for c in sorted(changes, key=lambda c: c["at"])
    ]
    return TimelineData(
        pd.DataFrame(
            anomaly_rows,
            columns=["time", "series", "entity", "signal", "family", "score", "direction", "value", "baseline"],
        ).sort_values("time"),
        pd.DataFrame(deviation_rows, columns=["time", "series", "entity", "family", "peak"]),
        pd.DataFrame(log_rows, columns=["time", "end", "entity", "class", "count"]),
        pd.DataFrame(change_rows, columns=["time", "entity", "change", "description"]),
        pd.DataFrame([{"time": _when(alert_at), "what": "alert"}]),
        _when(start),
        _when(end),
    )


def timeline_charts(data: TimelineData) -> tuple[alt.TopLevelMixin, alt.TopLevelMixin]:
    """Anomalies, then log counts, on the same time scale; changes and the alert as rules across both.

    Two charts rather than one concatenation: Vega-Lite cannot stretch a concatenation to its container,
    and a fixed width overflows a narrow window. Their y axes take the same room, so their times line up.
    """
    x = alt.X("time:T", title=None, scale=alt.Scale(domain=[data.start, data.end]))
    alert = (
        alt.Chart(data.alert)
        .mark_rule(color="#d93025", strokeWidth=2, strokeDash=[6, 3])
        .encode(x=x, tooltip=[alt.Tooltip("time:T", format="%H:%M:%S", title="alert")])
    )
    changes = (
        alt.Chart(data.changes)
        .mark_rule(color="#9334e6", strokeWidth=2)
        .encode(x=x, tooltip=["entity:N", "change:N", "description:N", alt.Tooltip("time:T", format="%H:%M:%S")])
    )
    points = (
        alt.Chart(data.anomalies)
        .mark_circle(opacity=0.85)
        .encode(
            x=x,
            y=alt.Y("series:N", title=None, sort=alt.SortField("time"), axis=Y_AXIS),
            size=alt.Size("score:Q", legend=None, scale=alt.Scale(range=[60, 400])),
            color=alt.Color("family:N", title="anomaly family"),
            tooltip=[
                "entity:N",
                "signal:N",
                "family:N",
                "score:Q",
                "direction:N",
                "value:Q",
                "baseline:Q",
                alt.Tooltip("time:T", format="%H:%M:%S", title="onset"),
            ],
        )
    )
    strayed = (
        alt.Chart(data.deviations)
        .mark_point(shape="diamond", filled=False, opacity=0.8)
        .encode(
            x=x,
            y=alt.Y("series:N", title=None, sort=alt.SortField("time"), axis=Y_AXIS),
            color=alt.Color("family:N", title="anomaly family"),
            tooltip=[
                "entity:N",
                "family:N",
                alt.Tooltip("peak:Q", title="robust z"),
                alt.Tooltip("time:T", format="%H:%M"),
            ],
        )
    )
    bars = (
        alt.Chart(data.logs)
        .mark_bar(opacity=0.8)
        .encode(
            x=x,
            x2="end:T",
            y=alt.Y("sum(count):Q", title="log lines / min", axis=Y_AXIS),
            color=alt.Color("class:N", title="log signature"),
            tooltip=["entity:N", "class:N", "count:Q", alt.Tooltip("time:T", format="%H:%M", title="minute")],
        )
    )
    rows = data.anomalies["series"].nunique() + data.deviations["series"].nunique()
    height = max(90, 26 * max(1, rows))
    top = alt.layer(points, strayed, changes, alert).properties(height=height, width="container", title="anomalies")
    bottom = alt.layer(bars, changes, alert).properties(height=120, width="container", title="log signatures")
    # fit the width only: Streamlit's default fits the height too, which squeezes the rows below their labels
    fit_width = alt.AutoSizeParams(type="fit-x", contains="padding")
    return top.properties(autosize=fit_width), bottom.properties(autosize=fit_width)

"""Incidents built after the failure patterns seen on data the project did not generate (issue 19).

Every entity in them is monitored (``observed``), as in the independent simulator and on real
estates: an entity that shows nothing is observed and normal, which is evidence against it.
"""

from __future__ import annotations

import itertools

from graph_schema.model import TRACE_HOP_SIGNAL
from rca.rank.types import AnomalySignal, DeviationSignal, Edge, EventSignal, IncidentSubgraph, Symptom
from tests.unit.engine_cases import T, anomaly, node

EVERYTHING = frozenset({"latency", "errors", "saturation", "traffic", "logs"})


def _chain(names: list[str]) -> tuple[dict, list[Edge]]:
    nodes = {n: node(n, "Service") for n in names}
    return nodes, [Edge(a, b, "CALLS") for a, b in itertools.pairwise(names)]


def quiet_callee_below_the_root() -> IncidentSubgraph:
    """web -> orders -> pricing -> {rates, fx, tax}; pricing is the root, with a latency shift;
    the three below it are watched and quiet.

    The structural prior ("the deepest entities the symptoms reach, under anomalous ones") points
    below pricing; their own metrics and logs say they are healthy.
    """
    nodes, edges = _chain(["web", "orders", "pricing", "rates"])
    for callee in ("fx", "tax"):
        nodes[callee] = node(callee, "Service")
        edges.append(Edge("pricing", callee, "CALLS"))
    anomalies = [
        anomaly("pricing", "latency", T, 5.0),
        anomaly("orders", "latency", T + 30, 9.0),
        anomaly("web", "latency", T + 60, 9.0),
    ]
    subgraph = IncidentSubgraph(
        nodes, edges, anomalies, [], [], [Symptom("web", "latency", T + 120)], T - 1800, T + 300
    )
    subgraph.observed = dict.fromkeys(nodes, EVERYTHING)
    return subgraph


def quiet_symptom() -> IncidentSubgraph:
    """The alert fired on web, but the detector found nothing there; cart, its callee, shows the fault
    and stock, below cart, is watched and quiet."""
    nodes, edges = _chain(["web", "cart", "stock"])
    anomalies = [anomaly("cart", "errors", T, 7.0)]
    subgraph = IncidentSubgraph(nodes, edges, anomalies, [], [], [Symptom("web", "errors", T + 120)], T - 1800, T + 300)
    subgraph.observed = dict.fromkeys(nodes, EVERYTHING)
    return subgraph


def _line(eid: str, template: str, at: float, count: int, severity: int) -> EventSignal:
    return EventSignal(eid, template, "other", severity, count, at, at + 50, template)


def routine_errors_and_a_new_one() -> IncidentSubgraph:
    """gateway -> [search, booking]; search has logged the same error every few minutes all along;
    booking starts an error it never logged before, right at the onset. Neither has metric anomalies."""
    nodes = {n: node(n, "Service") for n in ("gateway", "search", "booking")}
    edges = [Edge("gateway", "search", "CALLS"), Edge("gateway", "booking", "CALLS")]
    routine = [_line("search", "cache miss storm for key <*>", T - 1700 + 240 * k, 40, 3) for k in range(8)]
    new = [_line("booking", "catch price exception", T + 10, 6, 3)]
    subgraph = IncidentSubgraph(
        nodes,
        edges,
        [anomaly("gateway", "errors", T + 40, 8.0)],
        routine + new,
        [],
        [Symptom("gateway", "errors", T + 120)],
        T - 1800,
        T + 300,
    )
    subgraph.observed = dict.fromkeys(nodes, EVERYTHING)
    return subgraph


def shift_under_the_threshold() -> IncidentSubgraph:
    """web -> orders -> pricing -> {rates, fx}; pricing's latency shifted by a robust z of 4.5, under
    the detector's threshold (no anomaly, only deviations), and orders and web followed with
    anomalies; rates and fx are watched and quiet, web's saturation strayed once by chance.

    Without the deviations pricing looks watched and healthy, and the deepest anomalous entity,
    orders, takes its place."""
    nodes, edges = _chain(["web", "orders", "pricing", "rates"])
    nodes["fx"] = node("fx", "Service")
    edges.append(Edge("pricing", "fx", "CALLS"))
    anomalies = [anomaly("orders", "latency", T + 30, 8.0), anomaly("web", "latency", T + 60, 9.0)]
    deviations = [DeviationSignal("pricing", "latency", T + 60.0 * k, 4.5 + 0.2 * k) for k in range(-1, 4)] + [
        DeviationSignal("orders", "latency", T + 0.0, 8.0),
        DeviationSignal("web", "latency", T + 60.0, 9.0),
        DeviationSignal("web", "saturation", T - 900.0, 3.4),
    ]
    subgraph = IncidentSubgraph(
        nodes, edges, anomalies, [], [], [Symptom("web", "latency", T + 120)], T - 1800, T + 300, deviations=deviations
    )
    subgraph.observed = dict.fromkeys(nodes, EVERYTHING)
    return subgraph


def restless_family() -> IncidentSubgraph:
    """gateway -> {orders -> {pricing, ledger}, search -> users}; every service's latency jumps now
    and then all through the window (client calls that hit a timeout: robust z in the hundreds to
    the hundreds of thousands), and ledger's CPU is anomalous, on it alone, from the onset.

    Capped at the simulator's largest score, the latency anomalies tie with ledger's, and the
    structure decides; what tells ledger apart is that its evidence is its own."""
    calls = [
        ("gateway", "orders"),
        ("gateway", "search"),
        ("orders", "pricing"),
        ("orders", "ledger"),
        ("search", "users"),
    ]
    jumps = {"gateway": 580_000.0, "orders": 46_000.0, "search": 4_800.0, "pricing": 120_000.0, "users": 900.0}
    own = [anomaly("ledger", "saturation", T, 350.0), anomaly("ledger", "latency", T - 1200, 2_400.0)]
    return _restless_latency(calls, jumps, own)


def load_shift_below_a_hogged_cpu() -> IncidentSubgraph:
    """gateway -> {orders -> food -> {station, kitchen}, search}; as on TrainTicket when a pod's CPU
    is hogged: every service's latency jumps now and then all through the window, food's CPU leaves
    its baseline by a robust z of 1000, on it alone, and station below it sees its load move (traffic
    and latency) as food's requests slow.

    Capped at the simulator's largest score, food's CPU looks like any fault's own signal, and the
    structure points below it, at the deepest entity with evidence; what tells food apart is a
    deviation far beyond anything the simulated faults show (the `beyond_range` term)."""
    calls = [("gateway", "orders"), ("gateway", "search"), ("orders", "food"), ("food", "station"), ("food", "kitchen")]
    jumps = {"gateway": 580_000.0, "orders": 46_000.0, "search": 4_800.0, "kitchen": 900.0, "food": 2_100.0}
    own = [
        anomaly("food", "saturation", T, 1_000.0),
        anomaly("station", "traffic", T + 20, 13.0),
        anomaly("station", "latency", T + 30, 14.0),
    ]
    return _restless_latency(calls, jumps, own)


def hops_into_a_delayed_service() -> IncidentSubgraph:
    """gateway -> {orders -> pricing, search -> users}; as on TrainTicket when a pod's network is
    delayed: every service's latency jumps now and then all through the window, and from the onset
    the hops into pricing, timed from its logs' trace ids, take 900 ms instead of 6 (an anomaly of
    the hop signal, a robust z of 450, no larger than the callers' timeouts).

    Capped at the simulator's largest score, pricing's hop latency is one latency anomaly among the
    callers'; what tells it apart is that a hop into an entity is its own delay, 150 times its usual
    (the `hop_slowdown` term)."""
    calls = [("gateway", "orders"), ("gateway", "search"), ("orders", "pricing"), ("search", "users")]
    jumps = {"gateway": 580_000.0, "orders": 46_000.0, "search": 4_800.0, "users": 900.0}
    hop = AnomalySignal("pricing", TRACE_HOP_SIGNAL, "latency", T, None, "up", 450.0, 0.9, 0.006)
    return _restless_latency(calls, jumps, [hop])


def _restless_latency(calls: list[tuple[str, str]], jumps: dict[str, float], anomalies: list) -> IncidentSubgraph:
    """Services calling each other as given, every one watched, the first caller the symptom; each
    service of `jumps` has its latency jump twice, long before the onset and around it, besides the
    `anomalies` given."""
    nodes = {n: node(n, "Service") for pair in calls for n in pair}
    edges = [Edge(caller, callee, "CALLS") for caller, callee in calls]
    anomalies = list(anomalies)
    for k, (name, score) in enumerate(jumps.items()):
        anomalies += [
            anomaly(name, "latency", T - 1500 + 140 * k, score),
            anomaly(name, "latency", T + 20 * k, score / 3),
        ]
    symptom = Symptom(calls[0][0], "latency", T + 120)
    subgraph = IncidentSubgraph(nodes, edges, anomalies, [], [], [symptom], T - 1800, T + 300)
    subgraph.observed = dict.fromkeys(nodes, EVERYTHING)
    return subgraph


def failing_code_path_seen_before() -> IncidentSubgraph:
    """gateway -> {orders -> pricing, travel -> routes}; every service logs its routine lines every
    minute of the window, orders a warning among them. travel's failing call logged an error in three
    minutes of an earlier incident and logs it again in every minute since four minutes before the
    alert, with nothing in its metrics (a code defect); orders' and gateway's latency follow.

    The error is not new, and against its mean rate over the window not faster; the anomalous
    callers win on structure. What tells travel apart is how improbable five minutes running of a
    line it logged in three of twenty-five are (the `log_burst` term)."""
    names = ("gateway", "orders", "pricing", "travel", "routes")
    nodes = {n: node(n, "Service") for n in names}
    calls = [("gateway", "orders"), ("gateway", "travel"), ("orders", "pricing"), ("travel", "routes")]
    edges = [Edge(a, b, "CALLS") for a, b in calls]
    minutes = range(int(T - 1800), int(T + 120), 60)
    routine = [_line(n, f"{n} handled <*> requests", at, 20, 6) for n in names for at in minutes]
    routine += [_line("orders", "seat info empty for <*>", at, 12, 4) for at in minutes]
    earlier = [_line("travel", "route lookup failed: <*>", T - 1500 + 60 * k, 30, 3) for k in range(3)]
    recent = [_line("travel", "route lookup failed: <*>", T - 120 + 60 * k, 8, 3) for k in range(5)]
    anomalies = [anomaly("orders", "latency", T + 30, 9.0), anomaly("gateway", "latency", T + 60, 9.0)]
    subgraph = IncidentSubgraph(
        nodes,
        edges,
        anomalies,
        routine + earlier + recent,
        [],
        [Symptom("gateway", "latency", T + 120)],
        T - 1800,
        T + 300,
    )
    subgraph.observed = dict.fromkeys(nodes, EVERYTHING)
    return subgraph


def code_path_throwing_half_way() -> IncidentSubgraph:
    """gateway -> {orders -> pricing, travel -> routes}; every service logs its routine line every
    minute of the window. pricing logs "price query received" and "price found" for each request, the
    load moving from minute to minute; from two minutes before the alert its handler throws between the
    two (a code defect): the first line goes on, the second stops. Nothing is new, faster or more severe
    in its logs and nothing shows in its metrics; its callers' latency follows.

    The callers win on structure, and pricing looks watched and quiet. What tells it apart is a line
    that stopped keeping pace with the line it always kept pace with (the `log_sequence` term)."""
    names = ("gateway", "orders", "pricing", "travel", "routes")
    nodes = {n: node(n, "Service") for n in names}
    calls = [("gateway", "orders"), ("gateway", "travel"), ("orders", "pricing"), ("travel", "routes")]
    edges = [Edge(a, b, "CALLS") for a, b in calls]
    alert = T + 120
    minutes = [float(at) for at in range(int(T - 1800), int(alert + 60), 60)]
    routine = [_line(n, f"{n} handled <*> requests", at, 20, 6) for n in names for at in minutes]
    load = itertools.cycle([20, 35, 12, 28, 40, 18, 25, 31, 22, 15])
    handler = []
    for at, requests in zip(minutes, load):
        handler.append(_line("pricing", "price query received for route <*>", at, requests, 6))
        if at < alert - 120:  # the fault: the handler throws before its second line
            handler.append(_line("pricing", "price found for route <*>: <*>", at, requests, 6))
    anomalies = [anomaly("orders", "latency", T + 30, 9.0), anomaly("gateway", "latency", T + 60, 9.0)]
    subgraph = IncidentSubgraph(
        nodes, edges, anomalies, routine + handler, [], [Symptom("gateway", "latency", alert)], T - 1800, T + 300
    )
    subgraph.observed = dict.fromkeys(nodes, EVERYTHING)
    return subgraph

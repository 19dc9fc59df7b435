"""How far the subgraph reaches: it grows when trouble sits at the edge of the default neighbourhood."""

from dataclasses import replace
from itertools import pairwise

from rca.rank.reach import edge_in_trouble, grown_radius, hops_from_symptoms
from rca.rank.types import AnomalySignal, DeviationSignal, Edge, EntityNode, EventSignal, IncidentSubgraph, Symptom
from rca.simulator import simulate

CHAIN = ["web", "api", "cache", "db", "host"]  # web -> api -> cache -> db -> host, the symptom on web


def _chain(anomalous=(), events=()) -> IncidentSubgraph:
    return IncidentSubgraph(
        nodes={n: EntityNode(n, "Service", n) for n in CHAIN + ["side"]},
        edges=[Edge(a, b, "CALLS") for a, b in pairwise(CHAIN)] + [Edge("side", "api", "CALLS")],
        anomalies=[AnomalySignal(n, "errors_rate", "errors", 100.0, None, "up", 6.0, 1.0, 0.1) for n in anomalous],
        events=[EventSignal(n, "t", "timeout", severity, 3, 100.0, 110.0, "") for n, severity in events],
        changes=[],
        symptoms=[Symptom("web", "errors", 120.0)],
        window_start=0.0,
        window_end=200.0,
    )


def test_hops_count_edges_in_either_direction_from_the_symptoms():
    assert hops_from_symptoms(_chain()) == {"web": 0, "api": 1, "side": 2, "cache": 2, "db": 3, "host": 4}


def test_an_anomaly_or_a_severe_log_line_at_the_edge_is_trouble():
    assert edge_in_trouble(_chain(anomalous=["db"]), 3) == ["db"]
    assert edge_in_trouble(_chain(events=[("db", 3)]), 3) == ["db"]
    assert edge_in_trouble(_chain(events=[("db", 6)]), 3) == []  # an info line is not trouble
    assert edge_in_trouble(_chain(anomalous=["api", "cache"]), 3) == []  # trouble inside, not at the edge
    assert edge_in_trouble(_chain(anomalous=["cache", "side"]), 2) == ["cache", "side"]


def test_a_deviation_under_the_detectors_threshold_at_the_edge_is_trouble_near_the_alert():
    # a trail whose effects shrink hop by hop may cross no threshold before the root: a deviation the
    # features count as showing (4 or more, from 900 s before the alert to 600 s after) is trouble too
    def deviating(peak: float, at: float) -> IncidentSubgraph:
        return replace(_chain(), deviations=[DeviationSignal("db", "latency", at, peak)])

    assert edge_in_trouble(deviating(4.5, 100.0), 3) == ["db"]
    assert edge_in_trouble(deviating(3.5, 100.0), 3) == []  # as much as chance gives
    assert edge_in_trouble(deviating(4.5, 120.0 - 1000.0), 3) == []  # long before the alert: another story
    assert grown_radius(deviating(4.5, 100.0), 3, 5) == 5


def test_a_new_error_at_the_edge_is_judged_against_all_the_time_its_logs_were_heard():
    # db logged INFO lines every minute for half an hour and one old error; six lines of a new error
    # now: against half an hour of history, not against the one minute of the old error, they are new
    alert = 2000.0
    routine = [EventSignal("db", "query ok", "other", 6, 10, t, t + 50, "") for t in range(200, 1350, 60)]
    old_error = [EventSignal("db", "disk slow", "other", 3, 1, 500.0, 510.0, "")]
    new_error = [EventSignal("db", "checksum mismatch <*>", "other", 3, 3, t, t + 50, "") for t in (1700.0, 1760.0)]
    chain = _chain()
    subgraph = IncidentSubgraph(
        nodes=chain.nodes,
        edges=chain.edges,
        anomalies=[],
        events=routine + old_error + new_error,
        changes=[],
        symptoms=[Symptom("web", "errors", alert)],
        window_start=alert - 1800,
        window_end=alert + 300,
    )
    assert edge_in_trouble(subgraph, 3) == ["db"]


def test_the_radius_grows_only_with_trouble_at_the_edge_and_room_to_grow():
    assert grown_radius(_chain(anomalous=["db"]), 3, 5) == 5
    assert grown_radius(_chain(anomalous=["api"]), 3, 5) == 3
    assert grown_radius(_chain(anomalous=["db"]), 3, 3) == 3  # the caller chose its radius


def test_a_root_cause_beyond_the_default_radius_is_reached_by_growing():
    incident = simulate(7, 60, "host_failure", id_prefix="far-")
    cut = incident.to_subgraph(max_hops=3)
    assert incident.root_cause_id not in cut.nodes
    hops = grown_radius(cut, 3, 5)
    assert hops == 5 and incident.root_cause_id in incident.to_subgraph(max_hops=hops).nodes

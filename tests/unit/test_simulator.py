"""Fault simulator: deterministic, realistic shapes, every fault type, graph-ready rows."""

import pytest

from graph_schema.model import (
    ANOMALY_PROPERTIES,
    CHANGE_PROPERTIES,
    EVENT_PROPERTIES,
    Label,
    RelType,
    topology_relation,
)
from rca.simulator import FAULT_TYPES, simulate
from rca.simulator.suite import suite


def test_same_seed_same_incident_and_other_seed_other_incident():
    a, b = simulate(7, 100, "crash"), simulate(7, 100, "crash")
    assert (a.topology, a.anomalies, a.events, a.changes, a.symptoms, a.root_cause_id) == (
        b.topology,
        b.anomalies,
        b.events,
        b.changes,
        b.symptoms,
        b.root_cause_id,
    )
    c = simulate(8, 100, "crash")
    assert (c.anomalies, c.root_cause_id) != (a.anomalies, a.root_cause_id)


@pytest.mark.parametrize("fault", FAULT_TYPES)
def test_every_fault_type_yields_a_consistent_incident(fault):
    inc = simulate(1, 100, fault)
    ids = {e["id"] for e in inc.topology["entities"]}
    assert len(ids) == 100
    assert inc.root_cause_id in ids and inc.fault_type == fault
    assert inc.symptoms and all(s["entity_id"] in ids for s in inc.symptoms)
    start, end = inc.window
    assert all(start <= s["observed_at"] <= end for s in inc.symptoms)
    assert inc.root_cause_id in inc.affected


def test_rows_follow_the_graph_model():
    inc = simulate(3, 100, "bad_deploy")
    for edge in inc.topology["edges"]:
        assert topology_relation(RelType(edge["type"]), Label(edge["source_label"]), Label(edge["target_label"]))
    assert inc.anomalies and inc.events and inc.changes
    assert all(set(a) <= set(ANOMALY_PROPERTIES) for a in inc.anomalies)
    assert all(set(e) <= set(EVENT_PROPERTIES) for e in inc.events)
    assert all(set(c) <= set(CHANGE_PROPERTIES) for c in inc.changes)
    assert len({a["id"] for a in inc.anomalies}) >= len(inc.anomalies) - 2  # ids are deterministic keys


def test_estates_span_20_to_2000_entities_with_tiers_hosts_and_shared_datastores():
    small, big = simulate(1, 20, "latency"), simulate(1, 2000, "latency")
    assert len(small.topology["entities"]) == 20 and len(big.topology["entities"]) == 2000
    labels = {e["label"] for e in big.topology["entities"]}
    assert labels == {"Service", "Instance", "Host", "Datastore"}
    users = {}
    for e in big.topology["edges"]:
        if e["target_label"] == "Datastore":
            users[e["target"]] = users.get(e["target"], 0) + 1
    assert max(users.values()) >= 5  # some datastores are shared by many services


def test_noise_and_missing_signals_are_present():
    incs = [simulate(s, 100, f) for s in range(5) for f in ("latency", "datastore_outage")]
    unrelated = sum(1 for i in incs for a in i.anomalies if a["entity_id"] not in i.affected)
    assert unrelated > 10
    silent_roots = sum(1 for i in incs if not any(a["entity_id"] == i.root_cause_id for a in i.anomalies))
    assert silent_roots >= 1  # some datastore outages leave no metric on the datastore


def test_a_restless_family_is_anomalous_on_most_entities_watched_in_it(monkeypatch):
    from rca.simulator import incident, signals

    monkeypatch.setattr(signals, "RESTLESS_FAMILY", 1.0)
    inc = simulate(3, 100, "cpu_exhaustion")
    # the simulator's faults and noise stay <= 14, a strong root cause's own shift apart
    noisy = [a for a in inc.anomalies if a["score"] > 14.0 and a["entity_id"] != inc.root_cause_id]
    families = {a["family"] for a in noisy}
    assert len(families) == 1
    family = families.pop()
    watched = [e for e, watched_families in inc.observed.items() if family in watched_families]
    assert len({a["entity_id"] for a in noisy}) >= 0.4 * len(watched) > 10
    monkeypatch.setattr(signals, "RESTLESS_FAMILY", 0.0)
    monkeypatch.setattr(incident, "STRONG_ROOT", 0.0)
    assert not [a for a in simulate(3, 100, "cpu_exhaustion").anomalies if a["score"] > 14.0]


def test_a_root_cause_own_shift_is_sometimes_far_beyond_the_threshold_and_its_effects_are_not(monkeypatch):
    from rca.simulator import incident, signals

    monkeypatch.setattr(signals, "RESTLESS_FAMILY", 0.0)  # no unrelated family jumping past 14
    monkeypatch.setattr(incident, "STRONG_ROOT", 0.5)  # the knob set (0 in training)
    own_and_effects = []
    for seed in range(16):
        inc = simulate(seed, 100, "cpu_exhaustion")
        own = [a["score"] for a in inc.anomalies if a["entity_id"] == inc.root_cause_id and a["family"] == "saturation"]
        if own:
            own_and_effects.append(
                (max(own), [a["score"] for a in inc.anomalies if a["entity_id"] != inc.root_cause_id])
            )
    assert any(own > 40 for own, _ in own_and_effects) and any(own <= 10 for own, _ in own_and_effects)
    for own, effects in own_and_effects:  # what a strong root spreads is attenuated: weaker than the root itself
        if own > 40:
            assert max(effects, default=0.0) < own / 2
    monkeypatch.setattr(incident, "STRONG_ROOT", 0.0)  # the knob off: every score within the training range
    assert all(a["score"] <= 14.0 for a in simulate(3, 100, "cpu_exhaustion").anomalies)


def test_a_failed_host_whose_metrics_are_missing_reports_nothing_at_all():
    incidents = [simulate(s, 100, "host_failure") for s in range(12)]
    silent = [i for i in incidents if not any(a["entity_id"] == i.root_cause_id for a in i.anomalies)]
    assert silent  # the missing-signals noise struck some of them ...
    for incident in silent:  # ... and then no family of the dead host, nor its logs, is watched
        assert not incident.observed.get(incident.root_cause_id)


def test_root_missing_scales_how_often_a_root_cause_own_signals_are_absent(monkeypatch):
    from rca.simulator import incident as generator

    def own_absent(seeds) -> int:
        """Incidents whose datastore root shows no anomaly of its own (the profile's `missing` is 0.45)."""
        runs = [simulate(seed, 100, "datastore_outage") for seed in seeds]
        return sum(not any(a["entity_id"] == i.root_cause_id and a["end"] is None for a in i.anomalies) for i in runs)

    monkeypatch.setattr(generator, "WEAK_ROOT", 0.0)  # a weak root shows a deviation only, whatever the knob
    for coverage_noise in ("UNWATCHED_SHARES", "HALF_WATCHED_SHARES"):  # an unwatched one nothing, whatever it
        monkeypatch.setattr(generator, coverage_noise, (0.0,))
    monkeypatch.setattr(generator, "FAMILY_GAP", 0.0)  # nor one whose kind nobody watches in its family
    monkeypatch.setattr(generator, "PRIOR_INCIDENT", 0.0)  # an earlier fault may have left an open anomaly on it
    seeds = range(24)
    assert own_absent(seeds) >= 5  # at 1 (training): about 45 % of them
    monkeypatch.setattr(generator, "ROOT_MISSING", 0.0)
    assert own_absent(seeds) == 0
    monkeypatch.setattr(generator, "ROOT_MISSING", 2.0)
    assert own_absent(seeds) >= 16  # the chance capped at certainty: about 90 %


def _hosts_of_service(incident, service):
    edges = incident.topology["edges"]
    instances = {e["source"] for e in edges if e["type"] == "INSTANCE_OF" and e["target"] == service}
    return {e["target"] for e in edges if e["type"] == "RUNS_ON" and e["source"] in instances}


def _near_the_root_on_its_hosts(fault, own_family, seeds):
    """Per incident whose root shows its own anomaly of own_family: its hosts' anomalies within 25 s of it."""
    for seed in seeds:
        incident = simulate(seed, 100, fault)
        root = incident.root_cause_id
        own = [a for a in incident.anomalies if a["entity_id"] == root and a["family"] == own_family]
        if own:
            hosts = _hosts_of_service(incident, root)
            yield [a for a in incident.anomalies if a["entity_id"] in hosts and abs(a["onset"] - own[0]["onset"]) <= 25]


def test_a_process_burning_cpu_shows_on_its_hosts_at_the_same_time():
    near = list(_near_the_root_on_its_hosts("cpu_hog", "saturation", range(12)))
    assert sum(any(a["family"] == "saturation" for a in rows) for rows in near) >= 4


def test_a_service_filling_its_disk_fails_itself_and_its_hosts_show_the_disk():
    near = list(_near_the_root_on_its_hosts("disk_fill", "errors", range(24)))
    # the host echoes the disk, not the service's failing requests
    echoed = [
        any(a["family"] == "saturation" for a in rows) and not any(a["family"] == "errors" for a in rows)
        for rows in near
    ]
    assert sum(echoed) >= 6


def test_a_service_that_stops_calling_leaves_its_dependencies_with_less_traffic():
    starved = 0
    for seed in range(24):
        incident = simulate(seed, 100, "connection_refusal")
        root = incident.root_cause_id
        edges = incident.topology["edges"]
        dependencies = {e["target"] for e in edges if e["source"] == root and e["type"] in ("CALLS", "DEPENDS_ON")}
        t0 = min(s["observed_at"] for s in incident.symptoms) - 600  # the alert comes after the fault
        drops = [
            a
            for a in incident.anomalies
            if a["entity_id"] in dependencies
            and a["family"] == "traffic"
            and a["direction"] == "down"
            and a["onset"] >= t0
        ]
        starved += bool(drops)
    assert starved >= 6


def test_an_earlier_fault_may_leave_its_footprint_in_the_window(monkeypatch):
    from rca.simulator import incident as generator

    def early(inc):
        first = min(s["observed_at"] for s in inc.symptoms)
        return [a for a in inc.anomalies if first - 1700 <= a["onset"] <= first - 300 and a["score"] >= 4]

    monkeypatch.setattr(generator, "PRIOR_INCIDENT", 0.0)
    without = [simulate(seed, 100, "latency") for seed in range(8)]
    monkeypatch.setattr(generator, "PRIOR_INCIDENT", 1.0)
    with_prior = [simulate(seed, 100, "latency") for seed in range(8)]
    # the incident itself is unchanged (the footprint draws from its own stream) ...
    assert [i.root_cause_id for i in without] == [i.root_cause_id for i in with_prior]
    # ... and minutes before it, another fault's anomalies show
    assert sum(len(early(i)) for i in with_prior) >= sum(len(early(i)) for i in without) + 8


def test_roots_and_healthy_services_may_name_peers_that_are_not_the_fault(monkeypatch):
    from rca.rank.log_change import template_changes
    from rca.rank.log_mentions import named_peers
    from rca.simulator import incident as generator

    def names(inc) -> dict[str, set[str]]:
        sg = inc.to_subgraph()
        return named_peers(
            template_changes(sg.events, sg.window_start, sg.alert_time, sg.window_end), sg.nodes, sg.edges
        )

    monkeypatch.setattr(generator, "ROOT_BLAMES", 0.0)
    monkeypatch.setattr(generator, "STRAY_BLAME", 0.0)
    without = [simulate(seed, 100, "cpu_hog") for seed in range(8)]
    assert not any(i.root_cause_id in names(i) for i in without)  # in training's range no root names a peer
    monkeypatch.setattr(generator, "ROOT_BLAMES", 1.0)
    monkeypatch.setattr(generator, "STRAY_BLAME", 1.0)
    blaming = [simulate(seed, 100, "cpu_hog") for seed in range(8)]
    # the rest of the incident is unchanged (the mentions draw from their own stream) ...
    assert [i.anomalies for i in without] == [i.anomalies for i in blaming]
    blamed = stray = 0
    for inc in blaming:
        named = names(inc)
        root = inc.root_cause_id
        dependencies = {e["target"] for e in inc.topology["edges"] if e["source"] == root}
        # ... a root that calls anything and ships its logs blames one of its dependencies ...
        if dependencies and "logs" in inc.observed[root]:
            assert named.get(root) and named[root] <= dependencies
            blamed += 1
        # ... and services the fault did not reach blame peers it did not reach either
        stray += any(namer not in inc.affected and peers - set(inc.affected) for namer, peers in named.items())
    assert blamed >= 3 and stray >= 4


def test_faults_may_spread_synchronously_and_metrics_be_dated_to_their_scrape(monkeypatch):
    from rca.simulator import incident as generator

    def spread_s(inc) -> float:
        """How long the fault took to reach everything it reached (the fault's anomalies are the open ones)."""
        onsets = [a["onset"] for a in inc.anomalies if a["entity_id"] in inc.affected and a["end"] is None]
        return max(onsets) - min(onsets)

    monkeypatch.setattr(generator, "PRIOR_INCIDENT", 0.0)  # an earlier fault's anomalies may be open too
    monkeypatch.setattr(generator, "SYNCHRONOUS", 0.0)
    monkeypatch.setattr(generator, "COARSE_STEP", 0.0)
    hops = [simulate(seed, 100, "latency") for seed in range(12)]
    monkeypatch.setattr(generator, "SYNCHRONOUS", 1.0)
    synchronous = [simulate(seed, 100, "latency") for seed in range(12)]
    # the same faults (the timing draws from its own stream; which path reaches an entity first may change) ...
    assert [i.root_cause_id for i in hops] == [i.root_cause_id for i in synchronous]
    # ... reaching everything within the onsets' jitter (and errors following timeouts) instead of a hop every 5-60 s
    assert max(map(spread_s, synchronous)) <= 75 and sum(map(spread_s, synchronous)) < 0.6 * sum(map(spread_s, hops))
    monkeypatch.setattr(generator, "COARSE_STEP", 1.0)
    monkeypatch.setattr(generator, "METRIC_STEPS_S", (60.0,))
    scraped = [simulate(seed, 100, "latency") for seed in range(12)]
    times = [t for i in scraped for a in i.anomalies for t in (a["onset"], a["end"], a["last_ts"]) if t is not None]
    assert times and all(t % 60.0 == 0.0 for t in times)  # every onset and end on the minute grid
    assert [e["first_ts"] for i in scraped for e in i.events] == [e["first_ts"] for i in synchronous for e in i.events]


def test_subgraph_conversion_and_hop_cut():
    inc = simulate(2, 500, "host_failure")
    full = inc.to_subgraph()
    assert len(full.nodes) == 500 and len(full.anomalies) == len(inc.anomalies)
    cut = inc.to_subgraph(max_hops=2)
    assert len(cut.nodes) < 500
    assert all(s.entity_id in cut.nodes for s in cut.symptoms)
    assert all(e.source in cut.nodes and e.target in cut.nodes for e in cut.edges)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="unknown fault type"):
        simulate(1, 100, "meteor")
    with pytest.raises(ValueError, match="n_entities"):
        simulate(1, 2, "crash")
    with pytest.raises(ValueError, match="unknown suite"):
        list(suite("nope", 1, (20,)))

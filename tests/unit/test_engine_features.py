"""Features per entity on small fixed subgraphs."""

import math

import pytest

from rca.rank.features import BASE_FEATURES, FEATURE_SCHEMA_VERSION, build_features
from rca.rank.types import Edge, EngineInputError
from tests.unit.engine_cases import T, bad_deploy, datastore_outage, monitored, without_coverage


def table_value(subgraph, entity: str, feature: str) -> float:
    return build_features(subgraph).value(entity, feature)


def test_table_has_one_row_per_entity_and_the_schema_columns():
    sub = datastore_outage()
    table = build_features(sub)
    assert table.node_ids == list(sub.nodes)
    assert table.names == list(BASE_FEATURES)
    assert table.matrix.shape == (len(sub.nodes), len(BASE_FEATURES))
    assert table.version == FEATURE_SCHEMA_VERSION


def test_kind_anomaly_families_and_log_counts():
    table = build_features(datastore_outage())
    assert table.value("db", "kind_datastore") == 1.0 and table.value("db", "kind_service") == 0.0
    assert table.value("db", "anomaly_traffic") == 7.0 and table.value("db", "anomaly_errors") == 0.0
    assert table.value("api", "log_connection") == pytest.approx(math.log1p(80))
    assert table.value("api", "log_timeout") == pytest.approx(math.log1p(20))
    assert table.value("cache", "evidence") == 0.0
    assert table.value("frontend", "evidence") > 0.9


def test_onset_relative_to_alert_and_onset_order_along_propagation():
    table = build_features(datastore_outage())
    alert = T + 150
    assert table.value("db", "onset_lead") == pytest.approx((alert - T) / 600)
    assert table.value("db", "onset_rank") == 0.0 and table.value("frontend", "onset_rank") == 1.0
    assert table.value("db", "effects_later") == 1.0  # api, its user, started after it
    assert table.value("api", "causes_earlier") > 0.5  # db, a cause of api, started before api
    assert table.value("db", "causes_earlier") == 0.0


def test_structure_reach_and_distance_to_symptoms():
    table = build_features(datastore_outage())
    assert table.value("frontend", "is_symptom") == 1.0
    assert table.value("db", "symptom_reach") == 1.0
    assert table.value("db", "symptom_hops") == pytest.approx(2 / 6)
    # api in between shows evidence (errors 6.0: evidence 0.86), so passing it costs little
    assert table.value("db", "path_gaps") < 0.1
    assert table.value("cache", "path_gaps") < 0.1 and table.value("cache", "symptom_hops") == pytest.approx(2 / 6)
    assert table.value("db", "users_logging") == 1.0


def test_change_features_and_gap_free_path():
    table = build_features(bad_deploy())
    assert table.value("checkout", "change_deploy") == 1.0
    assert table.value("checkout", "change_before_onset") == 1.0
    assert 0 < table.value("checkout", "change_recent") < 1
    assert table.value("catalog", "change_recent") == 0.0


def test_edge_to_unknown_entity_is_a_clear_error():
    sub = datastore_outage()
    sub.edges.append(Edge("api", "ghost", "CALLS"))
    with pytest.raises(EngineInputError, match="ghost"):
        build_features(sub)


def test_anomaly_scores_are_capped_at_the_range_the_weights_were_fitted_on():
    from dataclasses import replace

    from rca.rank.engine import model_engine
    from rca.rank.features import SCORE_CAP

    sub = datastore_outage()
    # a real detector's robust z-score when an error ratio leaves a near-flat baseline
    loud = replace(sub, anomalies=[replace(a, score=480.0) if a.entity_id == "frontend" else a for a in sub.anomalies])
    table = build_features(loud)
    assert table.value("frontend", "anomaly_errors") == SCORE_CAP == table.value("frontend", "anomaly_max")
    assert table.value("db", "anomaly_traffic") == 7.0  # scores below the cap are kept as they are
    assert model_engine().rank(monitored(loud), 3).candidates[0].entity_id == "db"


def test_without_coverage_a_lone_anomaly_is_distinct_among_all_entities():
    """A caller's subgraph without observed_families: `observed` holds only the families the entities'
    own signals show, so db alone is watched in traffic; its traffic anomaly must still stand out among
    the six entities, not count as one that every watched entity shares."""
    sub = without_coverage(datastore_outage())
    share = 1 / 6  # db alone of the six shows a traffic anomaly
    expected = math.log1p(7.0) / math.log1p(14) * (1 - share)
    assert table_value(sub, "db", "magnitude_distinct") == pytest.approx(expected)
    assert table_value(sub, "db", "evidence_distinct") > 0
    sub.coverage_known = True  # taken as known, db would be all that is watched in traffic: nothing distinct
    assert table_value(sub, "db", "magnitude_distinct") == 0.0


def test_evidence_every_entity_shares_does_not_tell_them_apart():
    from tests.unit.evidence_cases import restless_family

    table = build_features(restless_family())
    # latency is anomalous on all six services: it weighs nothing; ledger's CPU, on it alone, does
    assert table.value("users", "magnitude_distinct") == 0.0 == table.value("users", "evidence_distinct")
    assert table.value("users", "evidence") > 0.99  # it is anomalous all the same (paths pass it freely)
    assert table.value("ledger", "anomaly_max") == table.value("users", "anomaly_max")  # the cap ties them
    # ... the log-compressed score does not: 350 is log1p(350) / log1p(14) of the simulator's largest
    share = 1 / 6  # one of the six services shows saturation
    assert table.value("ledger", "magnitude_distinct") == pytest.approx(math.log1p(350) / math.log1p(14) * (1 - share))
    assert table.value("ledger", "evidence_distinct") == pytest.approx((1 - math.exp(-14 / 3)) * (1 - share))

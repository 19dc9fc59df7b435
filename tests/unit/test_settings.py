"""The settings object: sources and their precedence."""

import pytest

from settings.root import SettingsError, describe, load_settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in ("NEO4J_URI", "NEO4J_USER", "NEO4J_PASSWORD", "RCA_CONFIG", "RCA_GRAPH__URI", "RCA_GRAPH__BATCH_SIZE"):
        monkeypatch.delenv(name, raising=False)


def test_defaults_use_the_embedded_graph():
    settings = load_settings()
    assert settings.graph.embedded
    assert settings.graph.database == "rca"


def test_neo4j_variables_fill_the_graph_section(monkeypatch):
    monkeypatch.setenv("NEO4J_URI", "bolt://db:7687")
    monkeypatch.setenv("NEO4J_PASSWORD", "s3cret-pass")
    settings = load_settings()
    assert settings.graph.uri == "bolt://db:7687"
    assert settings.graph.password.get_secret_value() == "s3cret-pass"
    assert not settings.graph.embedded


def test_precedence_flag_over_env_over_file(monkeypatch, tmp_path):
    config = tmp_path / "rca.yaml"
    config.write_text("graph:\n  batch_size: 10\n  heap: 3g\n")
    monkeypatch.setenv("RCA_GRAPH__BATCH_SIZE", "20")
    settings = load_settings(config)
    assert settings.graph.heap == "3g"  # file
    assert settings.graph.batch_size == 20  # env beats file
    assert load_settings(config, graph={"batch_size": 30}).graph.batch_size == 30  # explicit beats env


def test_bad_values_name_the_field(monkeypatch, tmp_path):
    monkeypatch.setenv("RCA_GRAPH__BATCH_SIZE", "lots")
    with pytest.raises(SettingsError, match=r"graph\.batch_size"):
        load_settings()
    bad = tmp_path / "bad.yaml"
    bad.write_text("graph: [1, 2\n")
    monkeypatch.delenv("RCA_GRAPH__BATCH_SIZE")
    with pytest.raises(SettingsError, match="cannot read settings file"):
        load_settings(bad)


def test_every_setting_is_described_for_help():
    names = dict(describe())
    assert names.get("RCA_GRAPH__DATA_DIR")
    assert "RCA_TOPOLOGY__GRACE_PERIOD_S" in names

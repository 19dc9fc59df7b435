"""Where the embedded graph's password comes from: the file, a random one, the configured one, the old default."""

from __future__ import annotations

import logging
import os
import stat

import pytest

from graph_schema import credentials
from graph_schema.errors import EmbeddedServerError
from settings.graph import GraphSettings


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def _initialise(data_dir):
    """What an ArcadeDB start leaves behind: its users file, with root's hash."""
    (data_dir / "config").mkdir(parents=True)
    (data_dir / credentials.USERS_FILE).write_text('{"name":"root"}\n')


def test_a_fresh_dir_gets_a_random_password_in_a_private_file(tmp_path, umask_022):
    data_dir = tmp_path / "graph"
    first = credentials.server_password(data_dir, None)
    assert len(first) >= 32 and first != credentials.LEGACY_DEFAULT_PASSWORD
    assert (data_dir / "root.password").read_text() == first
    assert _mode(data_dir) == 0o700
    assert _mode(data_dir / "root.password") == 0o600
    # The next start and every client read the same one; another fresh directory gets another.
    assert credentials.server_password(data_dir, None) == first
    assert credentials.graph_password(GraphSettings(data_dir=data_dir)) == first
    assert credentials.server_password(tmp_path / "other", None) != first


def test_an_explicit_password_wins_and_a_fresh_dir_records_it(tmp_path):
    data_dir = tmp_path / "graph"
    assert credentials.server_password(data_dir, "chosen-password") == "chosen-password"
    assert (data_dir / "root.password").read_text() == "chosen-password"
    assert credentials.graph_password(GraphSettings(data_dir=data_dir, password="other-password")) == "other-password"
    # Once the server has created root, a different configured password does not overwrite the record.
    _initialise(data_dir)
    assert credentials.server_password(data_dir, "other-password") == "other-password"
    assert (data_dir / "root.password").read_text() == "chosen-password"


def test_an_old_dir_keeps_the_old_default_with_one_warning(tmp_path, caplog):
    data_dir = tmp_path / "graph"
    _initialise(data_dir)
    with caplog.at_level(logging.WARNING, logger="graph_schema.credentials"):
        assert credentials.server_password(data_dir, None) == credentials.LEGACY_DEFAULT_PASSWORD
        assert credentials.server_password(data_dir, None) == credentials.LEGACY_DEFAULT_PASSWORD
    assert [r.levelname for r in caplog.records] == ["WARNING"]
    assert "rotate-password" in caplog.records[0].getMessage()
    assert (data_dir / "root.password").read_text() == credentials.LEGACY_DEFAULT_PASSWORD


def test_a_client_of_a_dir_without_password_is_told_what_to_do(tmp_path):
    with pytest.raises(EmbeddedServerError, match=r"start it first .* or set NEO4J_PASSWORD"):
        credentials.graph_password(GraphSettings(data_dir=tmp_path / "never-started"))


def test_an_external_server_uses_only_the_configured_password(tmp_path):
    (tmp_path / "root.password").write_text("not-for-neo4j")
    external = GraphSettings(uri="bolt://db:7687", data_dir=tmp_path, password="neo4j-password")
    assert credentials.graph_password(external) == "neo4j-password"
    assert credentials.graph_password(external.model_copy(update={"password": None})) == ""


def test_exclusive_write_keeps_what_another_process_wrote(tmp_path, umask_022):
    path = tmp_path / "root.password"
    assert credentials.write_private(path, "first-writer", exclusive=True)
    assert not credentials.write_private(path, "second-writer", exclusive=True)
    assert path.read_text() == "first-writer"
    assert credentials.write_private(path, "replaced")
    assert path.read_text() == "replaced" and _mode(path) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["root.password"]  # no temporary files left

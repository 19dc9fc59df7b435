"""`rca train` and `rca model list/activate` as a user runs them, in-process through the CLI's main().

One tiny training run (one incident per fault type on 20-entity estates, 2 epochs) is shared by the
module; each test that changes the registry works on its own copy of it. The exit status and the
stderr line of a failing command come from main() itself; that `python -m rca.cli.main` exits with
main()'s status is covered by the integration tests that run the command as a process.
"""

from __future__ import annotations

import contextlib
import io
import shutil

import pytest
import torch

from rca.cli.main import main


def _rca(*args: str) -> tuple[int, str, str]:
    """Run `rca ARGS` in this process: (exit status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


def _use_models(monkeypatch: pytest.MonkeyPatch, models, cache) -> None:
    monkeypatch.setenv("RCA_MODEL__DIR", str(models))
    monkeypatch.setenv("RCA_MODEL__CACHE_DIR", str(cache))


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """The models directory after `rca train ... --activate` with the smallest settings, and what it printed."""
    root = tmp_path_factory.mktemp("trained")
    threads, deterministic = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    try:
        with pytest.MonkeyPatch.context() as monkeypatch:
            _use_models(monkeypatch, root / "models", root / "cache")
            done = _rca("train", "--per-cell", "1", "--sizes", "20", "--epochs", "2", "--activate", "--no-progress")
    finally:  # training seeds and pins torch for repeatability; leave the process as the other tests found it
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(deterministic)
    return root, done


@pytest.fixture
def models(trained, tmp_path, monkeypatch):
    """A copy of the trained models directory, used by `rca` in this test."""
    copy = shutil.copytree(trained[0] / "models", tmp_path / "models")
    _use_models(monkeypatch, copy, trained[0] / "cache")
    return copy


def _version(trained) -> str:
    return trained[1][1].split()[1]  # "model VERSION (gnn), best epoch ..."


def test_rca_train_stores_and_activates_a_version(trained):
    root, (code, out, err) = trained
    assert code == 0, err
    assert out.startswith("model ") and "validation, model alone:" in out and "validation, combined engine:" in out
    version = _version(trained)
    assert (root / "models" / f"{version}.pt").exists()
    assert (root / "models" / "ACTIVE").read_text().strip() == version
    assert f"active model: {version}" in out


def test_a_trained_model_records_the_generator_knobs_it_learned_from(trained):
    from rca.rank.gnn.artifact import load
    from rca.rank.gnn.serving import FEATURE_NAMES
    from rca.simulator.knobs import knob_values

    root, _ = trained
    artifact = load(root / "models" / f"{_version(trained)}.pt", FEATURE_NAMES)
    assert artifact.settings["generator_knobs"] == knob_values()  # the committed generator: no knob moved


def test_rca_train_names_a_bad_knob_and_trains_nothing(tmp_path, monkeypatch):
    _use_models(monkeypatch, tmp_path / "models", tmp_path / "cache")
    code, _, err = _rca("train", "--knob", "root_blames=often", "--no-progress")
    assert code == 2 and "--knob 'root_blames=often': the value of root_blames must be a number" in err
    assert not (tmp_path / "cache").exists() and not (tmp_path / "models").exists()


def test_rca_model_list_marks_the_active_version(trained, models):
    code, out, err = _rca("model", "list")
    assert code == 0, err
    assert f"* {_version(trained)}" in out
    line = next(ln for ln in out.splitlines() if _version(trained) in ln)
    assert "seed 7" in line and "knobs" not in line  # the committed seed and generator


def test_a_model_trained_with_a_knob_records_it_and_the_list_names_it(tmp_path, monkeypatch):
    from rca.simulator import incident

    monkeypatch.setattr(incident, "STRAY_BLAME", incident.STRAY_BLAME)  # --knob moves this process's generator
    _use_models(monkeypatch, tmp_path / "models", tmp_path / "cache")
    threads, deterministic = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    try:
        code, out, err = _rca(
            "train", "--per-cell", "1", "--sizes", "20", "--epochs", "1", "--knob", "stray_blame=0.5", "--no-progress"
        )
    finally:
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(deterministic)
    assert code == 0, err
    assert out.startswith("generator knob stray_blame 0.0 -> 0.5\nmodel ")
    version = out.splitlines()[1].split()[1]
    monkeypatch.setattr(incident, "STRAY_BLAME", 0.0)  # today's generator again
    code, out, err = _rca("model", "list")
    assert code == 0, err
    assert "knobs stray_blame=0.5" in next(ln for ln in out.splitlines() if version in ln)


def test_rca_model_activate_switches_to_another_version(trained, models):
    code, out, err = _rca("model", "activate", "default")  # the shipped model, under its own version name
    assert code == 0 and "active model: default" in out, err
    active = (models / "ACTIVE").read_text().strip()
    assert active and active != _version(trained)
    _, listed, _ = _rca("model", "list")
    assert f"* {active}" in listed and f"  {_version(trained)}" in listed


def test_rca_model_activate_refuses_an_unknown_version(models):
    before = (models / "ACTIVE").read_text()
    code, _out, err = _rca("model", "activate", "no-such-version")
    assert code == 2 and "rca: error:" in err and "no model version 'no-such-version'" in err
    assert (models / "ACTIVE").read_text() == before


def test_rca_train_refuses_sizes_that_are_not_integers(tmp_path, monkeypatch):
    _use_models(monkeypatch, tmp_path / "models", tmp_path / "cache")
    code, _out, err = _rca("train", "--sizes", "20,x")
    assert code == 2 and "--sizes" in err and "'20,x'" in err
    assert not (tmp_path / "models").exists() or not any((tmp_path / "models").iterdir())  # refused before training


def test_rca_train_distils_teachers_into_the_active_model(trained, models):
    from rca.rank.gnn.artifact import Registry, load
    from rca.rank.gnn.serving import FEATURE_NAMES

    shipped = Registry.shipped_version()
    threads, deterministic = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    try:
        code, out, err = _rca(
            "train", "--teacher", "default", "--students", "2", "--teacher-share", "0.6", "--epochs", "1",
            "--per-cell", "1", "--sizes", "20", "--no-progress",
        )  # fmt: skip
    finally:
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(deterministic)
    assert code == 0, err
    assert out.startswith(f"distilled 1 teacher into 2 students of {_version(trained)}, averaged\nmodel ")
    version = out.splitlines()[1].split()[1]
    artifact = load(models / f"{version}.pt", FEATURE_NAMES)
    assert artifact.parent == _version(trained) and artifact.settings["teachers"] == [shipped]
    assert artifact.settings["teacher_share"] == 0.6 and artifact.settings["students"] == 2
    assert (models / "ACTIVE").read_text().strip() == _version(trained)  # not activated without --activate
    _, listed, _ = _rca("model", "list")
    line = next(ln for ln in listed.splitlines() if version in ln)
    assert f"(distilled from 1 teacher, started from {_version(trained)})" in line


@pytest.mark.parametrize(
    "args, message",
    [
        (("--teacher", "no-such-version"), "--teacher no-such-version: no model version 'no-such-version'"),
        (("--teacher", "default", "--kind", "mlp"), "--teacher distils into the graph network"),
        (("--teacher", "default", "--students", "0"), "--students: at least 1, got 0"),
        (("--teacher", "default", "--teacher-share", "1.5"), "--teacher-share: a share from 0 to 1, got 1.5"),
        (("--students", "5"), "--students and --teacher-share shape a distillation"),
    ],
)
def test_rca_train_names_a_bad_distillation_and_trains_nothing(tmp_path, monkeypatch, args, message):
    from rca.simulator import incident

    monkeypatch.setattr(incident, "STRAY_BLAME", 0.0)
    _use_models(monkeypatch, tmp_path / "models", tmp_path / "cache")
    code, _, err = _rca("train", *args, "--knob", "stray_blame=0.5", "--no-progress")
    assert code == 2 and message in err, err
    assert incident.STRAY_BLAME == 0.0  # refused before the knob moved
    assert not (tmp_path / "cache").exists() and not (tmp_path / "models").exists()

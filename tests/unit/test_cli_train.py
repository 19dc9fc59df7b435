"""`rca train` and `rca model list/activate` as a user runs them (small settings)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _rca(*args, env):
    return subprocess.run([sys.executable, "-m", "rca.cli.main", *args], check=False, cwd=REPO, env=env,
                          capture_output=True,
                          text=True, timeout=600)


def test_rca_train_stores_activates_and_lists_a_version(tmp_path):
    env = {**os.environ, "RCA_MODEL__DIR": str(tmp_path / "models"), "RCA_MODEL__CACHE_DIR": str(tmp_path / "cache")}
    done = _rca("train", "--per-cell", "1", "--sizes", "20", "--epochs", "2", "--activate", "--no-progress", env=env)
    assert done.returncode == 0, done.stderr
    assert "validation, model alone:" in done.stdout and "validation, combined engine:" in done.stdout
    version = done.stdout.split()[1]
    assert (tmp_path / "models" / f"{version}.pt").exists()
    assert (tmp_path / "models" / "ACTIVE").read_text().strip() == version
    listed = _rca("model", "list", env=env)
    assert f"* {version}" in listed.stdout
    back = _rca("model", "activate", "default", env=env)
    assert back.returncode == 0 and "active model: default" in back.stdout
    assert (tmp_path / "models" / "ACTIVE").read_text().strip() != version
    refused = _rca("model", "activate", "no-such-version", env=env)
    assert refused.returncode == 2 and "no model version 'no-such-version'" in refused.stderr
    bad = _rca("train", "--sizes", "20,x", env=env)
    assert bad.returncode == 2 and "--sizes" in bad.stderr

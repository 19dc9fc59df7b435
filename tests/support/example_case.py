"""The shipped example case folder, and the signal families `rca diagnose` knows, for the loaders' tests."""

from __future__ import annotations

import shutil
from pathlib import Path

from settings.ingest import MetricsSettings

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "cases" / "payments-db-config-change"


def known() -> dict[str, str]:
    """Signal name -> family of every project signal (what load_case is given by the CLI)."""
    from rca.cli.diagnose.session import project_signals

    return {name: t.family for name, t in project_signals(MetricsSettings()).items()}


def copy_example(tmp_path: Path) -> Path:
    """A copy of the example case to damage."""
    target = tmp_path / "case"
    shutil.copytree(EXAMPLE, target)
    return target

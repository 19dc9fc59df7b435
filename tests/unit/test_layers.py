"""Package layering: rca/cli is the outermost layer (argument parsing and wiring); nothing else imports it."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("settings", "graph_schema", "ingest", "rca", "dashboards")


def _imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names |= {node.module, *(f"{node.module}.{alias.name}" for alias in node.names)}
    return names


def test_nothing_outside_rca_cli_imports_rca_cli():
    offenders = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT)
            if relative.parts[:2] in (("rca", "cli"), ("rca", "v1")):
                continue
            if any(name == "rca.cli" or name.startswith("rca.cli.") for name in _imported_modules(path)):
                offenders.append(str(relative))
    assert not offenders, f"modules outside rca/cli that import it: {offenders}"

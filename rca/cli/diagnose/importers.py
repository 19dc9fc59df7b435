"""`rca diagnose import LAYOUT DIR OUT`: public datasets' layouts converted to case folders."""

from __future__ import annotations

from rca.cli.errors import UserError

LAYOUTS = ("nezha", "rcaeval")


def run_import(args: list[str]) -> int:
    """Run one importer from `LAYOUT DIR OUT`."""
    if len(args) != 3 or args[0] not in LAYOUTS:
        raise UserError(f"diagnose import: expected LAYOUT DIR OUT with LAYOUT one of {', '.join(LAYOUTS)}")
    raise UserError(f"diagnose import {args[0]}: not implemented yet")

"""`rca diagnose import LAYOUT DIR OUT`: public datasets' layouts converted to case folders."""

from __future__ import annotations

from pathlib import Path

from rca.cli.errors import UserError

LAYOUTS = ("nezha", "rcaeval")


def run_import(args: list[str]) -> int:
    """Run one importer from `LAYOUT DIR OUT`."""
    if len(args) != 3 or args[0] not in LAYOUTS:
        raise UserError(f"diagnose import: expected LAYOUT DIR OUT with LAYOUT one of {', '.join(LAYOUTS)}")
    layout, source, out = args[0], Path(args[1]), Path(args[2])
    if not source.is_dir():
        raise UserError(f"{source}: not a directory")
    if layout == "nezha":
        from rca.cli.diagnose.import_nezha import import_nezha

        written = import_nezha(source, out)
    else:
        from rca.cli.diagnose.import_rcaeval import import_rcaeval

        written = import_rcaeval(source, out)
    print(f"wrote {len(written)} case folders to {out} (run: rca diagnose --all {out})")
    return 0

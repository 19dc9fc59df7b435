"""`rca diagnose import LAYOUT DIR OUT`: public datasets' layouts converted to case folders."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from rca.cli.errors import UserError

LAYOUTS = ("nezha", "rcaeval")
# a service named like the entry of a request path, for layouts that say nothing else about which one it is
ENTRY_NAME = re.compile(r"(?i)^(front[-_]?end|frontend.*|.*gateway.*|.*ui-dashboard.*|web.*)$")


def entry_by_name(services: Iterable[str]) -> str | None:
    """The first service, in name order, named like a front end, gateway or web UI; None when none is."""
    return next((s for s in sorted(services) if ENTRY_NAME.match(s)), None)


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

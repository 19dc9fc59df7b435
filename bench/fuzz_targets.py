"""The registry of fuzz targets bench/fuzz.py runs: one decorated function per parser.

To add a parser (the Infer request parser, the topology loader, ...): write a module with a
function decorated ``@target(name, instrument=(modules...), inputs=strategy factory)`` that
returns ``check(data: bytes)``, and add the module to ``TARGET_MODULES``. ``check`` raises
AssertionError when a property breaks; any other exception counts as one that escaped. Import
the code under test inside the function, so that atheris can instrument it first.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from hypothesis import strategies as st

TARGET_MODULES = ["bench.fuzz_syslog", "bench.fuzz_service", "bench.fuzz_ask"]


@dataclass(frozen=True)
class FuzzTarget:
    """A named parser under fuzz: how to build its check, what to instrument, what inputs to generate."""

    name: str
    setup: Callable[[], Callable[[bytes], None]]
    instrument: Sequence[str]
    inputs: Callable[[], st.SearchStrategy[bytes]]
    doc: str
    seeds: tuple[bytes, ...] = ()


TARGETS: dict[str, FuzzTarget] = {}


def target(
    name: str,
    *,
    instrument: Sequence[str],
    inputs: Callable[[], st.SearchStrategy[bytes]] | None = None,
    seeds: Sequence[bytes] = (),
):
    """Register the decorated ``setup() -> check`` function as fuzz target ``name``; ``seeds`` start atheris' corpus."""

    def register(setup: Callable[[], Callable[[bytes], None]]):
        TARGETS[name] = FuzzTarget(
            name,
            setup,
            tuple(instrument),
            inputs or (lambda: st.binary(max_size=4096)),
            (setup.__doc__ or "").strip(),
            tuple(seeds),
        )
        return setup

    return register


def load_targets() -> dict[str, FuzzTarget]:
    """Every registered target, by name."""
    for module in TARGET_MODULES:
        importlib.import_module(module)
    return TARGETS

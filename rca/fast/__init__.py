"""Compiled copies of hot loops, in one place and behind one switch.

What is here, and the reference each is held to (tests/unit/test_fast_paths.py, within a tolerance):

- engine_kernels: the symptom distances, the random walk's power iteration and the path search,
  plain Python and numpy loops compiled by numba. The reference is the same source run by the
  interpreter (each kernel's ``py_func``).
- gnn_attention: the GNN's attention message passing for calls without gradients. The reference is
  RelationalAttention's torch operations, which training uses.
- rule_prefilter: which facts can fire a rule, read from the rules' own conditions. The reference
  is asserting every fact and letting durable-rules decide.

Each stays because taking it out costs a measured share of an Infer's CPU (docs/performance.md:
in-process, per 300-entity ranking, the engine kernels ~31 ms, the prefilter ~1.8 ms, the attention
~1.5 ms). The attribution's written-out gradient (~0.9 ms) went: it had to change with every change
of the network's layout.
The switch is process-wide: the service setting ``fast_paths`` (env ``RCA_SERVICE__FAST_PATHS``)
turns them all off, to tell a wrong answer of a copy from a wrong answer of the engine.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

_ENABLED = [True]


def enabled() -> bool:
    """Whether the compiled copies are used (the default)."""
    return _ENABLED[0]


def use(on: bool) -> None:
    """Turn the compiled copies on or off for this process."""
    _ENABLED[0] = bool(on)


def choose(kernel: Any) -> Callable[..., Any]:
    """A numba kernel compiled, or its Python source run as it is when the copies are off."""
    return kernel if _ENABLED[0] else kernel.py_func

"""Every test in tests/ checks something that can fail, in its own body (not only in a thread it starts).

A test passes by not raising; one that never asserts passes whatever the code does. What counts as a
check: an assert statement on something other than a constant, pytest.raises/warns/fail,
wait_until, a call named assert*/check*/expect* (numpy.testing's included), or a call to a helper
of the same module that itself checks. Checks inside functions the test defines (thread targets,
callbacks) do not count: an AssertionError raised in another thread does not fail the test.
"""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
CHECK_CALLS = {"raises", "warns", "fail", "wait_until", "deprecated_call"}
CHECK_PREFIXES = ("assert", "_assert", "check", "_check", "expect", "_expect")


def _own_nodes(function: ast.AST):
    """The nodes of a function's body, not those of the functions, lambdas and classes defined in it."""
    nested = ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef
    stack = [c for c in ast.iter_child_nodes(function) if not isinstance(c, nested)]
    while stack:
        node = stack.pop()
        yield node
        stack += [c for c in ast.iter_child_nodes(node) if not isinstance(c, nested)]


def _called_name(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def _checks(function: ast.AST, helpers: dict[str, ast.AST], seen: frozenset = frozenset()) -> bool:
    for node in _own_nodes(function):
        if isinstance(node, ast.Assert) and not isinstance(node.test, ast.Constant):
            return True
        if isinstance(node, ast.Call):
            name = _called_name(node)
            if name in CHECK_CALLS or name.startswith(CHECK_PREFIXES):
                return True
            if isinstance(node.func, ast.Name) and name in helpers and name not in seen:
                if _checks(helpers[name], helpers, seen | {name}):
                    return True
    return False


def _tests_without_checks(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), str(path))
    helpers = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}
    tests = [
        n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef) and n.name.startswith("test")
    ]
    where = path.relative_to(TESTS.parent) if path.is_relative_to(TESTS.parent) else path
    return [f"{where}:{t.lineno} {t.name}" for t in tests if not _checks(t, helpers)]


def test_every_test_checks_something():
    paths = [p for p in sorted(TESTS.rglob("test_*.py")) if "node_modules" not in p.parts]
    unchecked = [name for path in paths for name in _tests_without_checks(path)]
    assert not unchecked, f"tests that check nothing: {unchecked}"


def test_a_test_that_asserts_only_in_its_thread_or_on_a_constant_is_found(tmp_path):
    sample = tmp_path / "test_sample.py"
    sample.write_text(
        "import threading\n"
        "def _helper(x):\n    assert x\n"
        "def test_in_thread():\n"
        "    def work():\n        assert 1 == 2\n"
        "    threading.Thread(target=work).start()\n"
        "def test_constant():\n    assert True\n"
        "def test_through_helper():\n    _helper(1)\n"
        "def test_raises():\n    import pytest\n    with pytest.raises(ValueError):\n        int('x')\n"
    )
    found = [name.split()[-1] for name in _tests_without_checks(sample)]
    assert found == ["test_in_thread", "test_constant"]

"""The store's own retries around the driver's (pure logic: the driver's errors are raised by hand)."""

import pytest
from neo4j.exceptions import ConstraintError, IncompleteCommit

from graph_schema import store


def flaky(errors):
    calls = []

    def execute(*args):
        calls.append(args)
        if len(calls) <= len(errors):
            raise errors[len(calls) - 1]
        return "done"

    return execute, calls


@pytest.mark.parametrize("error", [ConstraintError("race"), IncompleteCommit("connection lost during commit")])
def test_a_race_or_a_lost_commit_is_run_again(error):
    execute, calls = flaky([error, error])
    assert store._retry_races_and_lost_commits(execute, "unit") == "done"
    assert len(calls) == 3


def test_it_gives_up_after_the_bound():
    execute, calls = flaky([IncompleteCommit("lost")] * store.WRITE_RETRIES)
    with pytest.raises(IncompleteCommit):
        store._retry_races_and_lost_commits(execute)
    assert len(calls) == store.WRITE_RETRIES


def test_other_errors_are_not_retried():
    execute, calls = flaky([ValueError("bad statement")])
    with pytest.raises(ValueError):
        store._retry_races_and_lost_commits(execute)
    assert len(calls) == 1

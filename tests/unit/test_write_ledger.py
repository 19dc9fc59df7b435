"""The write ledger: a read waits for every process's pending incidents, and feedback anywhere is seen everywhere."""

from __future__ import annotations

import multiprocessing

from rca.service.ledger import WriteLedger


def _store_once_asked(ledger: WriteLedger, slot: int, count: int, asked: int) -> None:
    """Process `slot` stores its `count` incidents only once a reader has asked for them (it waits meanwhile)."""
    from tests.support.waiting import wait_until

    wait_until(lambda: ledger.hurry_generation > asked, timeout=30, message="a reader waits for the pending incidents")
    ledger.stored(slot, count)


def test_a_read_waits_until_a_sibling_process_stored_what_it_was_handed():
    ledger = WriteLedger(2)
    ledger.submitted(1, 3)
    assert not ledger.wait_stored(timeout_s=0.05)  # process 1 still has 3 incidents pending
    asked = ledger.hurry_generation
    sibling = multiprocessing.get_context("spawn").Process(target=_store_once_asked, args=(ledger, 1, 3, asked))
    sibling.start()
    try:
        assert ledger.wait_stored(timeout_s=30)  # returns once the sibling stored, which it does only after this asked
    finally:
        sibling.join(30)
    assert sibling.exitcode == 0
    ledger.submitted(0)
    ledger.submitted(1)
    ledger.stored(1)
    assert not ledger.wait_stored(timeout_s=0.05)  # process 0's own incident is still pending


def test_feedback_given_in_any_process_changes_the_generation():
    ledger = WriteLedger(3)
    before = ledger.feedback_generation
    ledger.feedback_given(2)
    assert ledger.feedback_generation == before + 1

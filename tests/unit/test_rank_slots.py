"""RankSlots: rankings take turns per process, and a call waits for its turn only until its deadline."""

import threading
import time

import pytest

from rca.service.rank_slots import DeadlinePassed, RankSlots
from tests.support.waiting import stays_true, wait_until


class _Context:
    """The two questions RankSlots asks of a gRPC servicer context."""

    def __init__(self, deadline_s: float | None = None, active: bool = True):
        self._until = None if deadline_s is None else time.monotonic() + deadline_s
        self._active = active

    def time_remaining(self):
        return None if self._until is None else self._until - time.monotonic()

    def is_active(self):
        return self._active


class _Rankings:
    """Rankings on their own threads that each stay inside their slot until released."""

    def __init__(self, slots: RankSlots, callers: int):
        self._lock, self._release = threading.Lock(), threading.Event()
        self.inside = self.most = 0
        self._threads = [threading.Thread(target=self._rank, args=(slots,), daemon=True) for _ in range(callers)]
        for t in self._threads:
            t.start()

    def _rank(self, slots: RankSlots) -> None:
        with slots.hold(_Context()):
            with self._lock:
                self.inside += 1
                self.most = max(self.most, self.inside)
            self._release.wait(10)
            with self._lock:
                self.inside -= 1

    def finish(self) -> int:
        """Release every ranking, wait for all of them; the most that were inside at once."""
        self._release.set()
        for t in self._threads:
            t.join(10)
        assert not any(t.is_alive() for t in self._threads)
        return self.most


def _most_at_once(slots: RankSlots, callers: int, limit: int) -> int:
    rankings = _Rankings(slots, callers)
    wait_until(lambda: rankings.inside >= limit, timeout=5, message=f"{limit} rankings inside at once")
    assert stays_true(lambda: rankings.inside == limit, for_s=0.2), "more rankings got in than there are slots"
    return rankings.finish()


def test_one_slot_lets_one_ranking_run_at_a_time():
    assert _most_at_once(RankSlots(1), 6, limit=1) == 1


def test_two_slots_let_two_run_at_once():
    assert _most_at_once(RankSlots(2), 6, limit=2) == 2


def test_no_limit_lets_rankings_overlap():
    slots, inside = RankSlots(0), threading.Barrier(3, timeout=5)

    def rank():
        with slots.hold(_Context()):
            inside.wait()  # breaks unless all three are inside at once

    threads = [threading.Thread(target=rank) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not inside.broken


def test_waiting_past_the_deadline_raises_and_the_slot_comes_back():
    slots = RankSlots(1)
    with slots.hold(_Context()):
        started = time.monotonic()
        with pytest.raises(DeadlinePassed, match="waiting for a ranking slot"):
            with slots.hold(_Context(deadline_s=0.05)):
                pass
        assert time.monotonic() - started < 2
    with slots.hold(_Context(deadline_s=1)):  # free again once its holder finished
        pass


def test_expired_or_cancelled_call_does_not_rank():
    with pytest.raises(DeadlinePassed, match="deadline expired before ranking"):
        with RankSlots(1).hold(_Context(deadline_s=-1)):
            pass
    with pytest.raises(DeadlinePassed, match="cancelled"):
        with RankSlots(0).hold(_Context(active=False)):
            pass


def test_background_work_waits_for_the_ranking_in_progress_and_rankings_wait_for_it():
    slots, order = RankSlots(1), []

    def background():
        with slots.background():
            order.append("background")

    with slots.hold(_Context()):
        worker = threading.Thread(target=background)
        worker.start()
        worker.join(0.2)
        assert worker.is_alive()  # still waiting for the ranking's slot
        order.append("ranking")
    worker.join(5)
    assert order == ["ranking", "background"]
    with slots.background():
        with pytest.raises(DeadlinePassed):
            with slots.hold(_Context(deadline_s=0.1)):
                pass  # the background work holds the only slot past this call's deadline


def test_background_work_runs_at_once_without_a_limit():
    slots, entered = RankSlots(0), threading.Event()

    def background():
        with slots.background():
            entered.set()

    with slots.hold(_Context()):  # a ranking in progress
        worker = threading.Thread(target=background, daemon=True)
        worker.start()
        assert entered.wait(5), "background work waited for the ranking in progress, though there is no limit"
    worker.join(5)
    assert not worker.is_alive()

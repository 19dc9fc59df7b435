"""Rule evaluation is isolated per request: concurrent calls give the answers of sequential ones."""

from concurrent.futures import ThreadPoolExecutor

from rca.rank.rules.evaluate import default_rule_engine
from tests.unit.test_rules_packs import CASES, QUIET


def _request(i: int) -> list[dict]:
    # Every request holds a different mix of firing and silent facts, with its own entity ids.
    facts = []
    for j, (_rule, (fires, silent)) in enumerate(sorted(CASES.items())):
        chosen = fires if (i >> (j % 5)) & 1 or j == i % 7 else silent
        facts.append({**QUIET, **chosen, "entity": f"r{i}-e{j}", "name": f"r{i}-e{j}"})
    return facts


def _answer(i: int) -> list[tuple[str, str, float]]:
    return [(f.rule, f.entity_id, f.strength) for f in default_rule_engine().evaluate(_request(i), float(i))]


def test_concurrent_requests_do_not_see_each_others_facts():
    sequential = [_answer(i) for i in range(64)]
    assert len({tuple(a) for a in sequential}) > 10  # the requests really differ
    with ThreadPoolExecutor(max_workers=16) as pool:
        concurrent = list(pool.map(_answer, range(64)))
    assert concurrent == sequential
    for i, answer in enumerate(concurrent):
        assert all(entity.startswith(f"r{i}-") for _, entity, _ in answer)


def test_request_state_is_not_kept_between_calls():
    first = _answer(3)
    assert _answer(3) == first  # the same facts again fire again (nothing left over from the first call)

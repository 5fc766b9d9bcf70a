"""Walk the record and agent-work state tables (ARCHITECTURE.md habit 3)."""

from __future__ import annotations

import pytest

from dialer.campaign import agentwork, states
from dialer.campaign.agentwork import AgentWorkEvent, AgentWorkState
from dialer.campaign.states import RecordEvent, RecordState
from dialer.errors import InvalidTransition

RECORD_PAIRS = [(s, e) for s in RecordState for e in RecordEvent]
AGENT_PAIRS = [(s, e) for s in AgentWorkState for e in AgentWorkEvent]


@pytest.mark.parametrize(("state", "event"), RECORD_PAIRS, ids=lambda x: x.value)
def test_record_table_walk(state: RecordState, event: RecordEvent) -> None:
    if event in states.TABLE[state]:
        assert states.transition(state, event) is states.TABLE[state][event]
        assert state in states.sources(event)
    else:
        with pytest.raises(InvalidTransition) as err:
            states.transition(state, event)
        assert err.value.machine == "record" and err.value.state == state.value
        assert state not in states.sources(event)


def _reachable(table: dict, start: object) -> set[object]:  # type: ignore[type-arg]
    seen, todo = {start}, [start]
    while todo:
        for nxt in table[todo.pop()].values():
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def test_every_record_state_reachable_and_done_is_final() -> None:
    assert _reachable(states.TABLE, RecordState.PENDING) == set(RecordState)
    assert states.TABLE[RecordState.DONE] == {}
    # every non-final state can get back to pending or reach done
    for s in RecordState:
        if s is not RecordState.DONE:
            assert RecordState.DONE in _reachable(states.TABLE, s)


def test_leased_states_can_be_released_or_expire() -> None:
    for s in states.LEASED:
        assert states.transition(s, RecordEvent.EXPIRE) is RecordState.PENDING
        assert states.transition(s, RecordEvent.RELEASE) is RecordState.PENDING


def test_attempt_only_after_claim_or_accept() -> None:
    assert states.sources(RecordEvent.RETRY) == {RecordState.CLAIMED, RecordState.ACCEPTED}
    assert states.sources(RecordEvent.CLAIM) == {RecordState.PENDING}
    assert RecordState.ACCEPTED not in states.sources(RecordEvent.SKIP)


@pytest.mark.parametrize(("state", "event"), AGENT_PAIRS, ids=lambda x: x.value)
def test_agent_table_walk(state: AgentWorkState, event: AgentWorkEvent) -> None:
    if event in agentwork.TABLE[state]:
        assert agentwork.transition(state, event) is agentwork.TABLE[state][event]
    else:
        with pytest.raises(InvalidTransition):
            agentwork.transition(state, event)


def test_agent_rules_from_the_issue() -> None:
    A, V = AgentWorkState, AgentWorkEvent
    assert agentwork.transition(A.PREVIEW, V.REJECT) is A.NOT_READY
    assert agentwork.transition(A.WRAPUP, V.DONE_STOP) is A.NOT_READY
    assert agentwork.transition(A.WRAPUP, V.COMPLETE) is A.READY
    assert _reachable(agentwork.TABLE, A.READY) == set(A)
    assert set(agentwork.PRESENCE) == set(A)

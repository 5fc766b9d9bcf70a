"""Walk the agent state table: every listed transition works, every other raises."""

from __future__ import annotations

import pytest

from dialer.agents.state import TRANSITIONS, AgentEvent, AgentMachine, AgentState, Roster
from dialer.errors import InvalidTransition

ALL = [(s, e) for s in AgentState for e in AgentEvent]


@pytest.mark.parametrize(("state", "event"), ALL)
def test_table_is_the_only_truth(state: AgentState, event: AgentEvent) -> None:
    agent = AgentMachine("a1", state=state, since=0.0)
    expected = TRANSITIONS[state].get(event)
    if expected is None:
        with pytest.raises(InvalidTransition) as err:
            agent.handle(event, 1.0)
        assert err.value.state == state.value and err.value.event == event.value
        assert agent.state is state
    else:
        assert agent.handle(event, 1.0) == (state, expected)
        assert agent.state is expected


def test_every_state_can_reach_logged_out() -> None:
    for state in AgentState:
        if state is AgentState.LOGGED_OUT:
            continue
        seen, frontier = {state}, [state]
        while frontier:
            nxt = [t for s in frontier for t in TRANSITIONS[s].values() if t not in seen]
            seen.update(nxt)
            frontier = nxt
        assert AgentState.LOGGED_OUT in seen, state


def test_occupancy_counts_talk_and_wrap_up_over_logged_in_time() -> None:
    a = AgentMachine("a1")
    a.handle(AgentEvent.LOGIN, 0.0)
    a.handle(AgentEvent.READY, 0.0)
    a.handle(AgentEvent.RESERVE, 10.0, "c1")  # 10 s waiting
    a.handle(AgentEvent.CONNECT, 11.0)  # reserved 1 s: not working time
    a.handle(AgentEvent.HANGUP, 41.0)  # 30 s talk
    a.handle(AgentEvent.WRAP_DONE, 51.0)  # 10 s wrap-up
    working, logged = a.occupancy(60.0)
    assert (working, logged) == (40.0, 60.0)
    assert a.calls == 1 and a.call_id == ""


def test_roster_picks_longest_waiting_ready_agent() -> None:
    r = Roster()
    for i, t in enumerate([5.0, 1.0, 3.0]):
        m = r.add(f"a{i}", 0.0)
        m.handle(AgentEvent.LOGIN, 0.0)
        m.handle(AgentEvent.READY, t)
    chosen = r.longest_ready()
    assert chosen is not None and chosen.agent_id == "a1"
    chosen.handle(AgentEvent.RESERVE, 6.0, "c")
    nxt = r.longest_ready()
    assert nxt is not None and nxt.agent_id == "a2"

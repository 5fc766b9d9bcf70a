"""Agent states as a table (ARCHITECTURE.md habit 3).

The states are the ones contact-centre agents see in their softphone bar:
Logged Out, Ready, Not Ready, Reserved (the dialer has picked this agent for a
call or a preview and nobody else may), Busy (talking), After Call Work.
An event the table does not list for the current state raises
:class:`InvalidTransition`, so a bug shows up as an error, not as an agent
silently stuck in the wrong state.

Pure: no clock, no I/O. Callers pass ``now`` (epoch seconds) so the roster can
answer "how long has this agent been busy" for the pacer and for occupancy.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from dialer.errors import InvalidTransition


class AgentState(enum.StrEnum):
    LOGGED_OUT = "logged_out"
    NOT_READY = "not_ready"
    READY = "ready"
    RESERVED = "reserved"
    BUSY = "busy"
    WRAP_UP = "wrap_up"


class AgentEvent(enum.StrEnum):
    LOGIN = "login"  # the agent's phone leg is up
    READY = "ready"
    NOT_READY = "not_ready"
    RESERVE = "reserve"  # the dialer picked the agent for a call
    RELEASE = "release"  # the reservation was not used (call failed before bridging)
    CONNECT = "connect"  # customer bridged to the agent
    HANGUP = "hangup"  # the customer call ended
    WRAP_DONE = "wrap_done"  # after-call work finished (agent Done, or the timer)
    DONE_AND_STOP = "done_and_stop"  # after-call work finished, agent wants a break
    LOGOUT = "logout"


S, E = AgentState, AgentEvent
TRANSITIONS: dict[AgentState, dict[AgentEvent, AgentState]] = {
    S.LOGGED_OUT: {E.LOGIN: S.NOT_READY},
    S.NOT_READY: {E.READY: S.READY, E.NOT_READY: S.NOT_READY, E.LOGOUT: S.LOGGED_OUT},
    S.READY: {
        E.RESERVE: S.RESERVED,
        E.NOT_READY: S.NOT_READY,
        E.READY: S.READY,
        E.LOGOUT: S.LOGGED_OUT,
    },
    S.RESERVED: {E.CONNECT: S.BUSY, E.RELEASE: S.READY, E.LOGOUT: S.LOGGED_OUT},
    S.BUSY: {E.HANGUP: S.WRAP_UP, E.LOGOUT: S.LOGGED_OUT},
    S.WRAP_UP: {
        E.WRAP_DONE: S.READY,
        E.DONE_AND_STOP: S.NOT_READY,
        E.NOT_READY: S.NOT_READY,
        E.LOGOUT: S.LOGGED_OUT,
    },
}

# States in which the agent's time counts as working time for occupancy:
# (talk + wrap-up) / logged-in time, the industry's definition.
WORKING = frozenset({S.BUSY, S.WRAP_UP})


@dataclass
class AgentMachine:
    agent_id: str
    state: AgentState = AgentState.LOGGED_OUT
    since: float = 0.0
    call_id: str = ""
    logged_in_s: float = 0.0  # accumulated, excluding the current state's time
    working_s: float = 0.0
    calls: int = 0

    def handle(self, event: AgentEvent, now: float, call_id: str = "") -> tuple[AgentState, AgentState]:
        """Apply ``event``; returns (old, new). Raises InvalidTransition if not allowed."""
        new = TRANSITIONS[self.state].get(event)
        if new is None:
            raise InvalidTransition(f"agent {self.agent_id}", self.state.value, event.value)
        old = self.state
        elapsed = max(0.0, now - self.since)
        if old is not S.LOGGED_OUT:
            self.logged_in_s += elapsed
        if old in WORKING:
            self.working_s += elapsed
        self.state, self.since = new, now
        if event is E.RESERVE or event is E.CONNECT:
            self.call_id = call_id or self.call_id
        if event is E.CONNECT:
            self.calls += 1
        if new in (S.READY, S.NOT_READY, S.LOGGED_OUT):
            self.call_id = ""
        return old, new

    def occupancy(self, now: float) -> tuple[float, float]:
        """(working seconds, logged-in seconds) up to ``now``."""
        elapsed = max(0.0, now - self.since)
        logged = self.logged_in_s + (elapsed if self.state is not S.LOGGED_OUT else 0.0)
        working = self.working_s + (elapsed if self.state in WORKING else 0.0)
        return working, logged


@dataclass
class Roster:
    """All agents of one daemon, with the queries the dial loop needs."""

    agents: dict[str, AgentMachine] = field(default_factory=dict)

    def add(self, agent_id: str, now: float) -> AgentMachine:
        machine = AgentMachine(agent_id, since=now)
        self.agents[agent_id] = machine
        return machine

    def in_state(self, state: AgentState) -> list[AgentMachine]:
        return [a for a in self.agents.values() if a.state is state]

    def longest_ready(self) -> AgentMachine | None:
        """The Ready agent who has waited longest: the fair choice for the next call."""
        ready = self.in_state(AgentState.READY)
        return min(ready, key=lambda a: a.since) if ready else None

    def occupancy(self, now: float) -> float:
        working = logged = 0.0
        for a in self.agents.values():
            w, lg = a.occupancy(now)
            working += w
            logged += lg
        return working / logged if logged > 0 else 0.0

"""Agent state: a pure table-driven state machine and the roster that holds it."""

from dialer.agents.state import AgentEvent, AgentMachine, AgentState, Roster

__all__ = ["AgentEvent", "AgentMachine", "AgentState", "Roster"]

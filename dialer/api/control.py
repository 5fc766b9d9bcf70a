"""What the agent API needs from the daemon: agent presence and the preview dial.

The daemon (``dialer.daemon.Daemon``) implements these methods; the API only sees this
Protocol, so it runs without a daemon too (``control=None``: record actions work, the
agent-state endpoints answer 503) and tests can pass a small fake.
"""

from __future__ import annotations

from typing import Any, Protocol

from dialer.store.core import LeaseRef


class DaemonControl(Protocol):
    """The daemon's side of the agent API (docs/api.md, "What the daemon provides")."""

    def agent_ready(self, agent_id: str) -> None:
        """The agent is Ready (also: after-call work is over).

        KeyError for an agent the daemon does not know; InvalidTransition
        (dialer.errors) when the agent's state table does not allow it now.
        """
        ...

    def agent_not_ready(self, agent_id: str) -> None:
        """The agent is Not Ready (a reject, "Done and Stop", a break).

        KeyError for an unknown agent; InvalidTransition when not allowed now.
        """
        ...

    def agents(self) -> list[dict[str, Any]]:
        """Every agent of the roster, JSON-ready: at least ``{"agent": id, "state": ...}``
        (``state`` an ``dialer.agents.state.AgentState`` value such as ``"ready"``)."""
        ...

    async def dial_for_agent(self, campaign: str, ref: LeaseRef, agent_id: str) -> str | None:
        """Preview: the agent accepted the leased record ``ref``; dial it for them.

        Returns the call id when the daemon gives one. KeyError for an unknown
        campaign or agent; InvalidTransition when the agent cannot take a call now.
        """
        ...

    def agent_call(self, agent_id: str) -> dict[str, Any] | None:
        """The call the agent is on or wrapping up, with the record's lease, so the
        agent can dispose it: ``{"campaign", "call_id", "record_id", "token", "number"}``;
        None when the agent has no call. KeyError for an unknown agent."""
        ...

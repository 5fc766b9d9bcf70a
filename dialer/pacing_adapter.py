"""Connects the daemon's agent roster and Redis to the pure pacer.

:class:`dialer.pacing.controller.CampaignPacing` is sans-I/O and learns about
agents through explicit calls. The daemon's truth is the roster, shared by
every campaign, so before each decision :meth:`LivePacing.sync` replays the
difference between the roster and what the pacer last saw. The abandon
ledger (30-day window!) is persisted in Redis so a restart does not forget
the campaign's abandons.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec
import redis.asyncio as aioredis

from dialer import events as ev
from dialer.agents.state import AgentMachine, AgentState
from dialer.config import CampaignSettings
from dialer.pacing.abandon import AbandonLedger
from dialer.pacing.controller import CampaignPacing

if TYPE_CHECKING:
    from dialer.dialing import CampaignRunner

# What the pacer calls each roster state. A reserved agent is spoken for.
_PACER_STATE = {
    AgentState.READY: "ready",
    AgentState.RESERVED: "busy",
    AgentState.BUSY: "busy",
    AgentState.WRAP_UP: "wrap_up",
    AgentState.NOT_READY: "away",
    AgentState.LOGGED_OUT: "away",
}


class LivePacing:
    def __init__(self, settings: CampaignSettings, *, ledger: AbandonLedger | None = None) -> None:
        self.campaign = settings.name
        self.core = CampaignPacing(
            # Preview dials one call per accepting agent, like progressive.
            mode="progressive" if settings.mode == "preview" else settings.mode,
            target_abandon_rate=settings.target_abandon_rate,
            power_ratio=settings.power_ratio,
            amd_enabled=settings.amd.enabled,
            rules="UK" if settings.policy.uk_mode else "US",
            timezone=settings.timezone,
            amd_false_positive_share=settings.amd_false_positive_share,
            ledger=ledger,
        )
        self._seen: dict[str, str] = {}

    # -- roster -> pacer

    def sync(self, runner: CampaignRunner, now: float) -> None:
        for agent in runner.roster.agents.values():
            if runner.eligible(agent):
                self._apply(agent, now)

    def agent_changed(self, agent: AgentMachine, now: float) -> None:
        self._apply(agent, now)

    def _apply(self, agent: AgentMachine, now: float) -> None:
        state = _PACER_STATE[agent.state]
        if self._seen.get(agent.agent_id) == state:
            return
        self._seen[agent.agent_id] = state
        getattr(self.core, f"agent_{state}")(agent.agent_id, now)

    # -- calls (the runner calls these on every call event)

    def decide(self, now: float) -> int:
        return self.core.decide(now)

    def call_dialed(self, call_id: str, now: float) -> None:
        self.core.call_dialed(call_id, now)

    def call_answered(self, call_id: str, now: float) -> None:
        self.core.call_answered(call_id, now)

    def call_amd(self, call_id: str, verdict: str, now: float) -> None:
        self.core.call_amd(call_id, verdict, now)

    def call_connected_to_agent(self, call_id: str, now: float) -> None:
        self.core.call_connected_to_agent(call_id, now)

    def call_abandoned(self, call_id: str, now: float) -> None:
        self.core.call_abandoned(call_id, now)

    def call_ended(self, call_id: str, outcome: str, now: float) -> None:
        self.core.call_ended(call_id, str(outcome), now)

    def stats_event(self, runner: CampaignRunner, now: float) -> ev.PacingUpdated:
        self.sync(runner, now)
        return ev.PacingUpdated(at=now, campaign=self.campaign, **self.core.snapshot(now))

    # -- persistence of the abandon ledger

    @staticmethod
    def ledger_key(prefix: str, campaign: str) -> str:
        return f"{prefix}:{campaign}:abandon-ledger"

    async def save(self, client: aioredis.Redis, prefix: str) -> None:
        await client.set(self.ledger_key(prefix, self.campaign), msgspec.json.encode(self.core.ledger.to_dict()))

    @classmethod
    async def load(cls, settings: CampaignSettings, client: aioredis.Redis, prefix: str) -> LivePacing:
        raw = await client.get(cls.ledger_key(prefix, settings.name))
        ledger = None
        if raw:
            data: dict[str, Any] = msgspec.json.decode(raw)
            ledger = AbandonLedger.from_dict(data)
        return cls(settings, ledger=ledger)

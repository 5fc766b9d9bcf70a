"""One campaign's dial loop: claim records, place calls, connect answers to agents.

This is an edge-side coordinator: it owns no protocol logic of its own. It
asks the pacer how many lines to open, the record store for the next
compliant number, the SIP edge to dial, AMD for a verdict, and the agent
roster for who takes the call; and it publishes every step as an event.

Modes (docs/campaigns.md):
- progressive: one line per Ready agent, never more. The agent is reserved
  when the line is dialed, so an answer always has an agent: no abandons.
- power / predictive: the pacer decides the lines; an answer takes the
  longest-waiting Ready agent. If none is free within 2 s the caller hears the
  safe-harbor message and the call counts as abandoned
  (16 CFR 310.4(b)(1)(iv), see dialer/pacing for the definition).
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog

from dialer import events as ev
from dialer.agents.state import AgentEvent, AgentMachine, AgentState, Roster
from dialer.config import CampaignSettings, Config
from dialer.errors import InvalidTransition, StaleLease
from dialer.outcomes import Outcome

# 16 CFR 310.4(b)(1)(iv): the call must reach an agent (or the recorded
# message) within two seconds of the completed greeting.
CONNECT_DEADLINE_S = 2.0
PROMPTS_DIR = Path(__file__).resolve().parent.parent / "media" / "prompts"


def prompt_path(name: str) -> str:
    p = Path(name)
    return str(p if p.is_absolute() else PROMPTS_DIR / p)


@dataclass
class ActiveCall:
    call_id: str
    claim: Any  # dialer.store.records.Claim
    placed_mono: float
    agent_id: str = ""  # reserved (progressive) or bridged agent
    answered_mono: float | None = None
    bridged_mono: float | None = None
    waiting_since: float | None = None  # live answer waiting for an agent
    override: Outcome | None = None  # machine / fax / silence / abandoned
    hangup_by: str = ""
    amd_pending: bool = False
    voicemail_pending: bool = False
    timers: list[asyncio.TimerHandle] = field(default_factory=list)


class CampaignRunner:
    """Runs one campaign on a shared SIP edge, roster and bus."""

    _ids = itertools.count(1)

    def __init__(
        self,
        settings: CampaignSettings,
        cfg: Config,
        *,
        store: Any,
        edge: Any,
        publish: Callable[[ev.Event], None],
        roster: Roster,
        pacing: Any,
        amd_factory: Callable[[], Any] | None = None,
        on_agent_free: Callable[[], None] | None = None,
    ) -> None:
        self.settings = settings
        self.cfg = cfg
        self.store = store
        self.edge = edge
        self.publish = publish
        self.roster = roster
        self.pacing = pacing
        self.amd_factory = amd_factory
        # An agent freed here may serve another campaign: the daemon kicks them all.
        self.on_agent_free = on_agent_free or self.kick
        self.calls: dict[str, ActiveCall] = {}
        self.running = False
        self.finished = False
        self._ticking = False
        self._kicked_again = False
        self._tasks: set[asyncio.Task[Any]] = set()
        self._ring_timeout = cfg.ring_timeout_for(settings)
        self._agent_cfg = {a.id: a for a in cfg.agents}
        self.log = structlog.get_logger("dialer.campaign").bind(campaign=settings.name)

    # ------------------------------------------------------------ lifecycle

    @property
    def name(self) -> str:
        return self.settings.name

    def start(self) -> None:
        self.running, self.finished = True, False
        self.publish(ev.CampaignStarted(at=time.time(), campaign=self.name, mode=self.settings.mode))
        self.log.info("campaign_started", mode=self.settings.mode)
        self.kick()

    def stop(self, reason: str = "operator") -> None:
        """No new dials; calls in progress finish normally."""
        if not self.running:
            return
        self.running = False
        self.publish(ev.CampaignStopped(at=time.time(), campaign=self.name, reason=reason))
        self.log.info("campaign_stopped", reason=reason, active_calls=len(self.calls))

    def eligible(self, agent: AgentMachine) -> bool:
        cfg_agent = self._agent_cfg.get(agent.agent_id)
        return cfg_agent is not None and (not cfg_agent.campaigns or self.name in cfg_agent.campaigns)

    def ready_agents(self) -> list[AgentMachine]:
        ready = [a for a in self.roster.in_state(AgentState.READY) if self.eligible(a)]
        return sorted(ready, key=lambda a: a.since)

    # ------------------------------------------------------------ dialing

    def kick(self) -> None:
        """Re-evaluate now (called on every call or agent event and by the 0.5 s tick).

        One evaluation at a time: two concurrent ticks would each see the same
        free capacity before either has dialed, and together overdial. A kick
        during a tick is remembered and runs right after it.
        """
        if not self.running:
            return
        if self._ticking:
            self._kicked_again = True
            return
        self._ticking = True  # set before the task runs: kicks in this loop turn coalesce
        self._spawn(self._tick())

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self.log.error("campaign_task_failed", error=repr(task.exception()))

    def lines_wanted(self, now: float) -> int:
        if self.settings.mode == "preview":
            return 0  # agents pull records; dial_for_agent places each call
        if self.settings.mode == "progressive":
            # One line per Ready agent, never more: each dial reserves its agent.
            return len(self.ready_agents())
        self.pacing.sync(self, now)
        return max(0, int(self.pacing.decide(now)))

    def _publish_blocked(self) -> None:
        """Compliance refusals seen by the store (our claims, agents' previews and accepts)."""
        for b in self.store.drain_blocked():
            self.publish(ev.DialBlocked(at=b.at, campaign=self.name, record_id=b.record_id,
                                        number=b.number, rule=f"{b.rule} ({b.citation})", detail=b.detail))

    async def _tick(self) -> None:
        try:
            self._publish_blocked()
            self._serve_waiting_calls()
            n = self.lines_wanted(time.time())
            for _ in range(n):
                if not self.running or not await self._dial_one():
                    break
            if self.running and not self.calls and await self.store.exhausted(time.time()):
                self.finished = True
                self.stop("finished")
        finally:
            self._ticking = False
            if self._kicked_again:
                self._kicked_again = False
                self.kick()

    async def _dial_one(self) -> bool:
        agent = None
        if self.settings.mode == "progressive":
            ready = self.ready_agents()
            if not ready:
                return False
            agent = ready[0]
        call_id = self._new_call_id()
        if agent is not None:
            self._agent_event(agent, AgentEvent.RESERVE, call_id)
        now = time.time()
        claim = await self.store.claim_next(claimer=self.cfg.node.name, now=now, lease_s=self.cfg.node.lease_s)
        self._publish_blocked()
        if claim is None:
            if agent is not None:
                self._agent_event(agent, AgentEvent.RELEASE)
            return False
        self.publish(ev.RecordClaimed(at=now, campaign=self.name, record_id=claim.record_id, token=claim.token))
        self._place(call_id, claim, agent)
        return True

    def _place(self, call_id: str, claim: Any, agent: AgentMachine | None) -> None:
        now = time.time()
        call = ActiveCall(call_id, claim, time.monotonic(), agent_id=agent.agent_id if agent else "")
        self.calls[call_id] = call
        consumer = self.amd_factory() if (self.amd_factory and self.settings.amd.enabled) else None
        call.amd_pending = consumer is not None
        uri = self.cfg.sip.customer_uri(claim.number)
        self.publish(
            ev.CallPlaced(
                at=now, call_id=call_id, campaign=self.name, record_id=claim.record_id,
                number=claim.number, uri=uri, caller_id=self.settings.caller_id,
            )
        )
        self.pacing.call_dialed(call_id, now)
        self.edge.place_call(
            call_id, claim.number, caller_id=self.settings.caller_id,
            ring_timeout_s=self._ring_timeout, frame_consumer=consumer,
        )

    def _new_call_id(self) -> str:
        return f"{self.cfg.node.name}-{self.name}-{next(self._ids)}"

    def dial_for_agent(self, claim: Any, agent: AgentMachine) -> str:
        """Preview: the agent accepted ``claim``; dial it with the agent reserved for it."""
        if agent.state is not AgentState.READY:
            raise InvalidTransition(f"agent {agent.agent_id}", agent.state.value, "dial_for_agent")
        call_id = self._new_call_id()
        self._agent_event(agent, AgentEvent.RESERVE, call_id)
        self._place(call_id, claim, agent)
        return call_id

    # ------------------------------------------------------------ SIP events

    def on_progress(self, call: ActiveCall, sip_code: int) -> None:
        self.publish(ev.CallRinging(at=time.time(), call_id=call.call_id, campaign=self.name, sip_code=sip_code))

    def on_connected(self, call: ActiveCall, mono: float) -> None:
        call.answered_mono = mono
        now = time.time()
        self.publish(
            ev.CallAnswered(at=now, call_id=call.call_id, campaign=self.name, ring_s=round(mono - call.placed_mono, 3))
        )
        self.pacing.call_answered(call.call_id, now)
        if not call.amd_pending:
            self._connect_agent(call)

    def on_amd(self, call: ActiveCall, verdict: Any) -> None:
        """A verdict or a voicemail drop point from the call's AMD session (media.amd)."""
        now = time.time()
        if hasattr(verdict, "label"):
            call.amd_pending = False
            latency = int(verdict.at_ms)
            self.publish(
                ev.AmdDecided(
                    at=now, call_id=call.call_id, campaign=self.name, verdict=verdict.label,
                    latency_ms=latency, detector=self.settings.amd.detector,
                )
            )
            self.pacing.call_amd(call.call_id, verdict.label, now)
            self._act_on_verdict(call, verdict.label)
            return
        # Drop point: the beep (or the greeting) has ended; leave the message now.
        if call.voicemail_pending:
            call.voicemail_pending = False
            self._play(call, self.settings.amd.voicemail_prompt, "voicemail")

    def _act_on_verdict(self, call: ActiveCall, label: str) -> None:
        amd = self.settings.amd
        if label == "human" or (label == "silence" and amd.on_silence == "agent"):
            self._connect_agent(call)
            return
        call.override = {"machine": Outcome.MACHINE, "fax": Outcome.FAX}.get(label, Outcome.SILENCE)
        self._release_reserved_agent(call)
        if label == "machine" and amd.on_machine == "voicemail":
            call.voicemail_pending = True
            # If the beep detector never finds the end, don't hold the line forever.
            self._timer(call, 30.0, lambda: self._hangup(call, "dialer"))
        else:
            self._hangup(call, "dialer")

    def _release_reserved_agent(self, call: ActiveCall) -> None:
        agent = self.roster.agents.get(call.agent_id)
        if agent is not None and agent.state is AgentState.RESERVED and agent.call_id == call.call_id:
            self._agent_event(agent, AgentEvent.RELEASE)
            call.agent_id = ""
            self.on_agent_free()

    def _connect_agent(self, call: ActiveCall) -> None:
        agent = self.roster.agents.get(call.agent_id) if call.agent_id else None
        if agent is None or agent.state is not AgentState.RESERVED:
            ready = self.ready_agents()
            if not ready:
                if call.waiting_since is None:
                    call.waiting_since = time.monotonic()
                    self._timer(call, CONNECT_DEADLINE_S, lambda: self._abandon(call))
                return
            agent = ready[0]
            self._agent_event(agent, AgentEvent.RESERVE, call.call_id)
            call.agent_id = agent.agent_id
        decided = call.waiting_since if call.waiting_since is not None else time.monotonic()
        self.edge.bridge(call.call_id, agent.agent_id)
        call.bridged_mono = time.monotonic()
        call.waiting_since = None
        self._agent_event(agent, AgentEvent.CONNECT, call.call_id)
        self.publish(
            ev.CallBridged(
                at=time.time(), call_id=call.call_id, campaign=self.name, agent_id=agent.agent_id,
                wait_ms=int((call.bridged_mono - decided) * 1000),
            )
        )
        self.pacing.call_connected_to_agent(call.call_id, time.time())

    def on_bridge_failed(self, call: ActiveCall, agent_id: str, reason: str) -> None:
        """The agent's leg was not there after all: try another agent within the 2 s."""
        self.log.error("bridge_failed", call_id=call.call_id, agent_id=agent_id, reason=reason)
        agent = self.roster.agents.get(agent_id)
        if agent is not None and agent.state is AgentState.BUSY and agent.call_id == call.call_id:
            self._agent_event(agent, AgentEvent.HANGUP)
            self._schedule_wrap_up(agent)
        call.agent_id, call.bridged_mono = "", None
        if call.call_id in self.calls and call.override is None:
            self._connect_agent(call)

    def _serve_waiting_calls(self) -> None:
        """A freed agent takes a live caller already waiting before any new dial."""
        waiting = sorted(
            (c for c in self.calls.values() if c.waiting_since is not None and c.override is None),
            key=lambda c: c.waiting_since or 0.0,
        )
        for call in waiting:
            if not self.ready_agents():
                return
            self._connect_agent(call)

    def _abandon(self, call: ActiveCall) -> None:
        if call.waiting_since is None or call.call_id not in self.calls or call.override is not None:
            return
        call.waiting_since = None
        call.override = Outcome.ABANDONED
        self.pacing.call_abandoned(call.call_id, time.time())
        self.log.warning("call_abandoned", call_id=call.call_id)
        self._play(call, self.settings.safe_harbor_prompt, "safe_harbor")

    def _play(self, call: ActiveCall, prompt: str, reason: str) -> None:
        self.edge.play(call.call_id, prompt_path(prompt), hangup_after=True)
        self.publish(ev.MessagePlayed(at=time.time(), call_id=call.call_id, campaign=self.name, prompt=prompt, reason=reason))

    def _hangup(self, call: ActiveCall, by: str) -> None:
        if call.call_id in self.calls:
            call.hangup_by = call.hangup_by or by
            self.edge.hangup(call.call_id)

    def _timer(self, call: ActiveCall, delay: float, fn: Callable[[], None]) -> None:
        call.timers.append(asyncio.get_running_loop().call_later(delay, fn))

    def on_finished(self, call: ActiveCall, outcome: Outcome, sip_code: int, reason: str, mono: float, hangup_by: str) -> None:
        self.calls.pop(call.call_id, None)
        for t in call.timers:
            t.cancel()
        final = call.override or outcome
        ring_s = (call.answered_mono or mono) - call.placed_mono
        talk_s = mono - call.bridged_mono if call.bridged_mono is not None else 0.0
        agent = self.roster.agents.get(call.agent_id) if call.agent_id else None
        if agent is not None and agent.call_id == call.call_id:
            if agent.state is AgentState.BUSY:
                self._agent_event(agent, AgentEvent.HANGUP)
                self._schedule_wrap_up(agent)
            elif agent.state is AgentState.RESERVED:
                self._agent_event(agent, AgentEvent.RELEASE)
        now = time.time()
        self.publish(
            ev.CallEnded(
                at=now, call_id=call.call_id, campaign=self.name, record_id=call.claim.record_id,
                number=call.claim.number, outcome=final, sip_code=sip_code, reason=reason,
                ring_s=round(ring_s, 3), talk_s=round(talk_s, 3), agent_id=call.agent_id,
                hangup_by=call.hangup_by or hangup_by,
            )
        )
        self.pacing.call_ended(call.call_id, final, now)
        self._spawn(self._report(call, final, sip_code, now))
        self.kick()

    def _auto_disposition(self, call: ActiveCall) -> str | None:
        if call.bridged_mono is None:
            return None
        cfg_agent = self._agent_cfg.get(call.agent_id)
        return (cfg_agent.auto_disposition or None) if cfg_agent else None

    async def _report(self, call: ActiveCall, outcome: Outcome, sip_code: int, now: float) -> None:
        try:
            decision = await self.store.report_attempt(
                call.claim, outcome, sip_code, now, agent_id=call.agent_id,
                disposition=self._auto_disposition(call),
            )
        except StaleLease as exc:
            # Another node reclaimed the record after our lease expired; its
            # attempt is the one that counts (fencing, docs/records.md).
            self.log.error("stale_lease_on_report", call_id=call.call_id, error=str(exc))
            return
        except InvalidTransition as exc:
            # The agent already completed the record through the API during the call.
            self.log.info("record_already_completed", call_id=call.call_id, error=str(exc))
            return
        if decision.final:
            self.publish(ev.RecordCompleted(at=now, campaign=self.name, record_id=call.claim.record_id, final=decision.final))
        self.kick()

    def _schedule_wrap_up(self, agent: AgentMachine) -> None:
        cfg_agent = self._agent_cfg.get(agent.agent_id)
        delay = cfg_agent.wrap_up_s if cfg_agent else 0.0

        def done() -> None:
            if agent.state is AgentState.WRAP_UP:
                self._agent_event(agent, AgentEvent.WRAP_DONE)
                self.on_agent_free()

        asyncio.get_running_loop().call_later(delay, done)

    def _agent_event(self, agent: AgentMachine, event: AgentEvent, call_id: str = "") -> None:
        now = time.time()
        old, new = agent.handle(event, now, call_id)
        if old is not new:
            self.publish(ev.AgentStateChanged(at=now, agent_id=agent.agent_id, campaign=self.name, old=old.value, new=new.value, reason=event.value))
        self.pacing.agent_changed(agent, now)

    # ------------------------------------------------------------ leases and drain

    async def renew_leases(self) -> None:
        for call in list(self.calls.values()):
            try:
                await self.store.renew(call.claim, lease_s=self.cfg.node.lease_s, now=time.time())
            except StaleLease:
                self.log.error("lease_lost", call_id=call.call_id, record_id=call.claim.record_id)

    async def wait_tasks(self) -> None:
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

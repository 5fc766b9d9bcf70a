"""Calls on the PJSIP thread: customer calls and nailed-up agent legs.

A :class:`Leg` is the plain-Python record of one SIP call; its pjsua2 ``Call``
object lives in ``leg.call`` and is dropped inside the DISCONNECTED callback,
as pjsua2 intends: a stale Call deleted after its slot was reused would hang up
the new call in that slot. Every state change becomes one event.
"""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING, Any

from dialer.sip.accounts import AccountHandlers
from dialer.sip.events import (
    AgentLegDown,
    AgentLegUp,
    CallConnected,
    CallFinished,
    CallProgress,
)
from dialer.sip.policy import call_ending

if TYPE_CHECKING:
    from dialer.sip.frames import FrameConsumer

# What may stand in a Request-URI user part we build (RFC 3261 "user" is wider;
# a dialable number is digits, +, *, # and visual separators we pass through).
NUMBER_RE = re.compile(r"^[+]?[0-9A-Za-z*#._-]{1,64}$")
AGENT_ANSWER_TIMEOUT_S = 60.0  # an agent softphone that neither answers nor rejects
PJSIP_SC_BASE = 170000  # PJSIP_ERRNO_START_PJSIP: status = base + SIP code


class Leg:
    """One SIP call as the PJSIP thread sees it (plain values + the pjsua2 objects)."""

    __slots__ = (
        "kind", "key", "uri", "call", "media", "placed", "answered", "provisional",
        "progress_code", "final_code", "by_us", "timed_out", "finished", "consumer",
        "peer", "player", "hangup_after", "keepalive", "account_key",
    )

    def __init__(self, kind: str, key: str, uri: str) -> None:
        self.kind = kind  # "customer" | "agent"
        self.key = key  # call_id or agent_id
        self.uri = uri
        self.call: Any = None
        self.media: Any = None  # AudioMedia of the call once media is active
        self.placed = time.monotonic()
        self.answered = 0.0
        self.provisional = False
        self.progress_code = 0
        self.final_code = 0
        self.by_us = False
        self.timed_out = False
        self.finished = False
        self.consumer: FrameConsumer | None = None
        self.peer: str | None = None  # bridged agent_id (customer) / call_id (agent)
        self.player: Any = None
        self.hangup_after = False
        self.keepalive = False
        self.account_key = ""


def make_call_class(pj: Any, worker: Any) -> type:
    """pjsua2 ``Call`` subclass whose callbacks go to the worker, never raising into C++."""

    class EdgeCall(pj.Call):  # type: ignore[misc, name-defined]
        def __init__(self, account: Any, leg: Leg, call_id: int | None = None) -> None:
            if call_id is None:
                super().__init__(account)
            else:
                super().__init__(account, call_id)
            self.leg = leg

        def onCallState(self, prm: Any) -> None:  # noqa: N802 - pjsua2 name
            worker.guard(worker.on_call_state, self)

        def onCallMediaState(self, prm: Any) -> None:  # noqa: N802
            worker.guard(worker.on_media_state, self)

    return EdgeCall


class LegHandlers(AccountHandlers):
    """Mixin of PjsipWorker: commands and callbacks for calls."""

    def __init__(self) -> None:
        AccountHandlers.__init__(self)
        self.customers: dict[str, Leg] = {}
        self.agents: dict[str, Leg] = {}
        self.CallClass: Any = None
        self.capacity = 0
        self.graveyard: list[Any] = []  # pjsua2 objects to drop after libDestroy()

    def guard(self, fn: Any, *args: Any) -> None:
        """Run a callback body; an exception is logged and counted, never raised into PJSIP."""
        if not self.on_pjsip_thread():
            self.counters["foreign_thread_callbacks"] += 1
        try:
            fn(*args)
        except Exception:
            self.counters["callback_errors"] += 1
            self.log.exception("sip.callback_failed", callback=getattr(fn, "__name__", "?"))

    # ------------------------------------------------------------------ commands

    def cmd_place(self, call_id: str, number: str, caller_id: str, ring_timeout_s: float, consumer: Any) -> None:
        pj = self.pj
        leg = Leg("customer", call_id, "")
        leg.consumer = consumer
        if self.stopping or self.refuse_new:
            self._finish_customer(leg, 503, "dialer is stopping", time.monotonic())
            return
        if not NUMBER_RE.match(number):
            # 484 Address Incomplete maps to invalid_number: the number cannot be dialled.
            self._finish_customer(leg, 484, f"malformed number {number!r}", time.monotonic())
            return
        leg.uri = self.customer_uri(number)
        account, leg.account_key = self.account_for(caller_id)
        call = self.CallClass(account, leg)
        leg.call = call
        self.customers[call_id] = leg
        prm = pj.CallOpParam(True)
        prm.opt.audioCount = 1
        prm.opt.videoCount = 0
        pai = self.asserted_identity(caller_id)
        if pai:
            header = pj.SipHeader()
            header.hName = "P-Asserted-Identity"
            header.hValue = pai
            prm.txOption.headers.append(header)
        self.counters["calls_placed"] += 1
        try:
            call.makeCall(leg.uri, prm)
        except pj.Error as exc:
            code = exc.status - PJSIP_SC_BASE if 100 <= exc.status - PJSIP_SC_BASE < 700 else 0
            self._finish_customer(leg, code, f"INVITE not sent: {exc.reason}", time.monotonic())
            return
        if not leg.finished:
            # already clamped by SipEdge.place_call (>= 15 s outside tests)
            self.call_later(ring_timeout_s, self._ring_timeout, leg)

    def cmd_hangup(self, call_id: str, code: int) -> None:
        leg = self.customers.get(call_id)
        if leg is None:
            self.log.debug("sip.hangup_unknown_call", call_id=call_id)
            return
        self._hangup(leg, code)

    def cmd_connect_agent(self, agent_id: str, uri: str) -> None:
        pj = self.pj
        existing = self.agents.get(agent_id)
        if existing is not None and not existing.finished:
            self.log.info("sip.agent_leg_exists", agent_id=agent_id)
            return
        leg = Leg("agent", agent_id, uri)
        if self.stopping or self.refuse_new:
            self.emit(AgentLegDown(agent_id=agent_id, sip_code=503, reason="dialer is stopping", mono=time.monotonic()))
            return
        account, leg.account_key = self.account_for("")
        leg.call = self.CallClass(account, leg)
        self.agents[agent_id] = leg
        prm = pj.CallOpParam(True)
        prm.opt.audioCount = 1
        prm.opt.videoCount = 0
        self.counters["agent_legs_placed"] += 1
        try:
            leg.call.makeCall(uri, prm)
        except pj.Error as exc:
            self._finish_agent(leg, 0, f"INVITE not sent: {exc.reason}", time.monotonic())
            return
        if not leg.finished:
            self.call_later(AGENT_ANSWER_TIMEOUT_S, self._ring_timeout, leg)

    def cmd_disconnect_agent(self, agent_id: str) -> None:
        leg = self.agents.get(agent_id)
        if leg is not None:
            self._hangup(leg, 0)

    # ------------------------------------------------------------------ callbacks

    def on_call_state(self, call: Any) -> None:
        pj = self.pj
        leg: Leg = call.leg
        if leg.finished:
            return
        ci = call.getInfo()
        state, code, reason = ci.state, ci.lastStatusCode, ci.lastReason
        mono = time.monotonic()
        if state == pj.PJSIP_INV_STATE_EARLY:
            if code in (180, 183):
                leg.provisional = True
                if code != leg.progress_code and leg.kind == "customer":
                    leg.progress_code = code
                    self.emit(CallProgress(call_id=leg.key, sip_code=code, mono=mono))
        elif state == pj.PJSIP_INV_STATE_CONFIRMED:
            if not leg.answered:
                leg.answered = mono
                leg.final_code = code or 200
                if leg.kind == "customer":
                    self.emit(CallConnected(call_id=leg.key, mono=mono))
                    self.maybe_tap(leg)
                else:
                    self.emit(AgentLegUp(agent_id=leg.key, mono=mono))
        elif state == pj.PJSIP_INV_STATE_DISCONNECTED:
            if leg.kind == "customer":
                self._finish_customer(leg, code, reason, mono)
            else:
                self._finish_agent(leg, code, reason, mono)

    def _ring_timeout(self, leg: Leg) -> None:
        if leg.finished or leg.answered:
            return
        leg.timed_out = True
        self.log.info("sip.ring_timeout", kind=leg.kind, key=leg.key, provisional=leg.provisional)
        self._hangup(leg, 0, by_us=False)

    def _hangup(self, leg: Leg, code: int, *, by_us: bool = True) -> None:
        if leg.finished or leg.call is None:
            return
        if by_us:
            leg.by_us = True
        prm = self.pj.CallOpParam()
        if code:
            prm.statusCode = code
        try:
            leg.call.hangup(prm)
        except self.pj.Error as exc:  # already disconnecting: the callback will come
            self.log.debug("sip.hangup_error", key=leg.key, reason=exc.reason)

    # ------------------------------------------------------------------ endings

    def _finish_customer(self, leg: Leg, code: int, reason: str, mono: float) -> None:
        if leg.finished:
            return
        leg.finished = True
        try:
            self.release_media(leg)
        except Exception:  # CallFinished must still go out: exactly one per place_call
            self.log.exception("sip.release_media_failed", call_id=leg.key)
        if self.customers.get(leg.key) is leg:
            del self.customers[leg.key]
        self.release_account(leg.account_key)
        end = call_ending(
            answered=bool(leg.answered), final_code=leg.final_code, sip_code=code, reason=reason,
            timed_out=leg.timed_out, provisional=leg.provisional, by_us=leg.by_us,
        )
        self.counters["calls_finished"] += 1
        self.emit(
            CallFinished(
                call_id=leg.key, outcome=end.outcome, sip_code=end.sip_code, reason=end.reason,
                timed_out=end.timed_out, hangup_by=end.hangup_by, answered_mono=leg.answered, mono=mono,
            )
        )
        self.log.info(
            "sip.call_finished", call_id=leg.key, outcome=str(end.outcome), sip_code=end.sip_code,
            reason=end.reason, hangup_by=end.hangup_by,
        )
        leg.call = None  # pjsua2: drop the Call in its DISCONNECTED callback

    def _finish_agent(self, leg: Leg, code: int, reason: str, mono: float) -> None:
        if leg.finished:
            return
        leg.finished = True
        self.release_media(leg)
        if self.agents.get(leg.key) is leg:
            del self.agents[leg.key]
        self.release_account(leg.account_key)
        self.emit(AgentLegDown(agent_id=leg.key, sip_code=code, reason=reason, mono=mono))
        self.log.info("sip.agent_leg_down", agent_id=leg.key, sip_code=code, reason=reason)
        leg.call = None

    # ------------------------------------------------------------------ shutdown and stats

    def live_legs(self) -> int:
        return len(self.customers) + len(self.agents)

    def hangup_everything(self) -> None:
        for leg in list(self.customers.values()) + list(self.agents.values()):
            self._hangup(leg, 0)

    def abandon_legs(self) -> None:
        """At teardown: every leg still here gets its final event (the library hangs them up)."""
        mono = time.monotonic()
        # Keep their Call objects until after libDestroy(): a pjsua2 Call deleted while
        # its call is active hangs up from its destructor, and a throw there aborts.
        self.graveyard.extend(leg.call for leg in (*self.customers.values(), *self.agents.values()) if leg.call)
        for leg in list(self.customers.values()):
            self._finish_customer(leg, 0 if not leg.answered else leg.final_code, "dialer stopped", mono)
        for leg in list(self.agents.values()):
            self._finish_agent(leg, 0, "dialer stopped", mono)

    def leg_counts(self) -> dict[str, int]:
        customers = list(self.customers.values())
        agents = list(self.agents.values())
        return {
            "capacity": self.capacity,
            "calls_active": len(customers),
            "calls_answered": sum(1 for leg in customers if leg.answered),
            "calls_bridged": sum(1 for leg in customers if leg.peer),
            "agent_legs": len(agents),
            "agent_legs_up": sum(1 for leg in agents if leg.answered),
        }

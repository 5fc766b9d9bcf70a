"""Campaign and record endpoints: counts, a record, preview, and the agent's actions.

Every action carries the lease ref (``agent`` + ``token`` in the body, the record id in
the path); the store checks the fencing token, so an agent acting on a record whose
lease was lost gets 409, never a double write (docs/records.md, "Leases and fencing").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import msgspec
from aiohttp import web

from dialer.api.bodies import (
    AgentBody,
    CompleteBody,
    DeclineBody,
    LeaseBody,
    RescheduleBody,
    callback_request,
    decode,
)
from dialer.api.context import CTX, ApiContext, reply
from dialer.api.errors import ApiError, body_fields
from dialer.campaign.retry import RecordDecision
from dialer.campaign.states import RecordState
from dialer.errors import DialerError
from dialer.store.records import LeaseRef, RecordStore

L = TypeVar("L", LeaseBody, CompleteBody, DeclineBody, RescheduleBody)


@dataclass(frozen=True)
class Act(Generic[L]):
    """One record action: who, on what, with which lease, when."""

    ctx: ApiContext
    store: RecordStore
    campaign: str
    body: L
    ref: LeaseRef
    agent: str
    now: float

    def done(self, action: str, decision: RecordDecision, **extra: Any) -> web.Response:
        self.ctx.log.info("api_action", action=action, campaign=self.campaign,
                          record_id=self.ref.record_id, agent=self.agent,
                          state=decision.state.value, **extra)
        return reply({**msgspec.structs.asdict(decision), **extra})

    def follow(self, target: str) -> dict[str, str]:
        """Tell the daemon the agent's new presence; the record action stands either way."""
        control = self.ctx.control
        if control is None:
            return {}
        try:
            if target == "ready":
                control.agent_ready(self.agent)
            else:
                control.agent_not_ready(self.agent)
        except KeyError:
            return self._agent_error(target, f"the daemon does not know agent {self.agent!r}")
        except DialerError as exc:
            return self._agent_error(target, str(exc))
        return {}

    def _agent_error(self, target: str, error: str) -> dict[str, str]:
        self.ctx.log.warning("api_agent_state_failed", agent=self.agent, target=target,
                             error=error, campaign=self.campaign)
        return {"agent_error": error}


async def _act(request: web.Request, kind: type[L]) -> Act[L]:
    ctx = request.app[CTX]
    campaign = request.match_info["campaign"]
    store = ctx.store(campaign)
    body = await decode(request, kind)
    agent = ctx.agent(body.agent, campaign)
    ref = LeaseRef(record_id=request.match_info["record_id"], token=body.token)
    return Act(ctx, store, campaign, body, ref, agent, ctx.clock())


# ------------------------------------------------------------------ reading


async def counts(request: web.Request) -> web.Response:
    ctx = request.app[CTX]
    campaign = request.match_info["campaign"]
    store = ctx.store(campaign)
    return reply({"campaign": campaign, "counts": await store.counts(ctx.clock()),
                  "stats": await store.stats()})


async def form(request: web.Request) -> web.Response:
    """What an agent screen offers: dispositions, fields, callback ranges."""
    ctx = request.app[CTX]
    policy = ctx.store(request.match_info["campaign"]).policy
    return reply({
        "dispositions": [{"name": d.name, "final": d.final, "dnc": d.dnc}
                         for d in policy.dispositions if d.agent],
        "fields": list(policy.field_defs().values()),
        "extra_fields_editable": policy.extra_fields_editable,
        "callback_ranges": policy.callback_ranges,
    })


async def record(request: web.Request) -> web.Response:
    ctx = request.app[CTX]
    campaign = request.match_info["campaign"]
    rid = request.match_info["record_id"]
    store = ctx.store(campaign)
    found = await store.get(rid)
    if found is None:
        raise ApiError(404, f"no record {rid!r} in {campaign}", "record_id")
    rec, state, progress = found
    return reply({"record_id": rid, "state": state, "record": rec, "progress": progress,
                  "history": await store.history(rid)})


# ------------------------------------------------------------------ preview


async def preview(request: web.Request) -> web.Response:
    """The agent pulls the next due record; 204 when nothing may be dialed now."""
    ctx = request.app[CTX]
    campaign = request.match_info["campaign"]
    store = ctx.store(campaign)
    body = await decode(request, AgentBody)
    agent = ctx.agent(body.agent, campaign)
    now = ctx.clock()
    claim = await store.claim_next(claimer=agent, now=now, lease_s=ctx.preview_lease_s,
                                   agent_id=agent)
    if claim is None:
        return web.Response(status=204)
    # offered: an unaccepted preview that times out is not counted as an attempt
    await store.offer(claim, agent, now, lease_s=ctx.preview_lease_s)
    ctx.log.info("api_action", action="preview", campaign=campaign, record_id=claim.record_id,
                 agent=agent, token=claim.token)
    return reply({
        "lease": claim.ref, "record_id": claim.record_id, "token": claim.token,
        "lease_until": now + ctx.preview_lease_s, "number": claim.number,
        "number_index": claim.number_index, "attempt": claim.attempt, "record": claim.record,
        "callback": claim.callback, "blocked": claim.blocked,
        "history": await store.history(claim.record_id),
    })


async def renew(request: web.Request) -> web.Response:
    """Keep a preview on screen longer than ``preview_lease_s``."""
    act = await _act(request, LeaseBody)
    lease_s = act.ctx.preview_lease_s
    await act.store.renew(act.ref, lease_s=lease_s, now=act.now)
    return reply({"record_id": act.ref.record_id, "token": act.ref.token,
                  "lease_until": act.now + lease_s})


def _agent_state(act: Act[Any]) -> str | None:
    control = act.ctx.control
    if control is None:
        return None
    for a in control.agents():
        if a.get("agent") == act.agent:
            return str(a.get("state", ""))
    return None


async def accept(request: web.Request) -> web.Response:
    """Dial this record now, for this agent (the daemon places the call)."""
    act = await _act(request, LeaseBody)
    control = act.ctx.control
    state = _agent_state(act)
    if state is not None and state != "ready":
        raise ApiError(409, f"agent {act.agent!r} is {state}; go ready before accepting",
                       "agent", state=state)
    decision = await act.store.accept(act.ref, act.agent, act.now,
                                      lease_s=act.ctx.preview_lease_s)
    if control is None:
        return act.done("accept", decision)
    try:
        call_id = await control.dial_for_agent(act.campaign, act.ref, act.agent)
    except (KeyError, DialerError) as exc:
        reason = f"unknown {exc}" if isinstance(exc, KeyError) else str(exc)
        released = await act.store.release(act.ref, now=act.now)
        act.ctx.log.warning("api_dial_failed", campaign=act.campaign, agent=act.agent,
                            record_id=act.ref.record_id, error=reason, released=released)
        raise ApiError(409, f"the dialer could not place the call: {reason}; the record went "
                       "back to the list", None, released=released) from exc
    return act.done("accept", decision, call_id=call_id or "")


async def reject(request: web.Request) -> web.Response:
    """Back to the top of the list; the agent becomes Not Ready (issue 5)."""
    act = await _act(request, LeaseBody)
    decision = await act.store.reject(act.ref, act.agent, act.now, notes=act.body.notes)
    return act.done("reject", decision, **act.follow("not_ready"))


async def skip(request: web.Request) -> web.Response:
    act = await _act(request, LeaseBody)
    decision = await act.store.skip(act.ref, act.agent, act.now, notes=act.body.notes)
    return act.done("skip", decision)


async def decline(request: web.Request) -> web.Response:
    act = await _act(request, DeclineBody)
    body = act.body
    if body.reason == "do_not_call":
        if body.at or body.range:
            raise ApiError(400, "at: do_not_call takes no callback time", "at")
        decision = await act.store.decline(act.ref, act.agent, act.now, do_not_call=True,
                                           notes=body.notes, all_numbers=body.all_numbers)
        return act.done("decline", decision)
    cb, rename = (callback_request(body, act.store.policy)
                  if (body.at or body.range) else (None, {}))
    with body_fields(rename):
        decision = await act.store.decline(act.ref, act.agent, act.now, callback=cb,
                                           notes=body.notes)
    return act.done("decline", decision)


async def reschedule(request: web.Request) -> web.Response:
    act = await _act(request, RescheduleBody)
    cb, rename = callback_request(act.body, act.store.policy)
    before = await act.store.get(act.ref.record_id)
    with body_fields(rename):
        decision = await act.store.reschedule(act.ref, act.agent, act.now, cb)
    # a callback set during after-call work ends it
    extra = act.follow("ready") if before and before[1] is RecordState.WRAPUP else {}
    return act.done("reschedule", decision, **extra)


async def complete(request: web.Request) -> web.Response:
    """Disposition, notes, fields; after-call work ends ("Done" / "Done and Stop")."""
    act = await _act(request, CompleteBody)
    body = act.body
    cb, rename = (callback_request(body.callback, act.store.policy, "callback.")
                  if body.callback is not None else (None, {}))
    with body_fields(rename):
        decision = await act.store.complete(act.ref, act.agent, act.now, body.disposition,
                                            body.notes, body.fields, callback=cb,
                                            stop=body.stop)
    return act.done("done_stop" if body.stop else "complete", decision,
                    **act.follow("not_ready" if body.stop else "ready"))

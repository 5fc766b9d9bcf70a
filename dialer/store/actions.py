"""Agent actions on a claimed record (the API the agent interface uses).

Every action carries the lease's fencing token (a :class:`~dialer.store.core.Claim` or
a :class:`~dialer.store.core.LeaseRef`): an agent acting on a record whose lease was
lost gets StaleLease, never a silent double write. Each returns a RecordDecision whose
``agent_state`` says what the agent's work state becomes (dialer.campaign.agentwork).
"""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

from dialer.campaign.agentwork import AgentWorkState
from dialer.campaign.callbacks import CallbackRefused, CallbackRequest, resolve_callback
from dialer.campaign.records import HistoryEntry, NumberType, Phone, Progress, Record, parse_field
from dialer.campaign.retry import Plan, RecordDecision, plan_attempt, plan_disposition
from dialer.campaign.states import RecordEvent, RecordState
from dialer.errors import ComplianceBlocked, InputError, InvalidTransition
from dialer.outcomes import Outcome
from dialer.store.core import TIER_NORMAL, TIER_TOP, HasLease, Loaded, StoreCore, rank


class AgentActions(StoreCore):
    # ------------------------------------------------------------ before the dial

    async def offer(self, ref: HasLease, agent_id: str, now: float,
                    lease_s: float | None = None) -> RecordDecision:
        """The record is on ``agent_id``'s screen (preview); optional lease extension."""
        return await self._simple(ref, RecordEvent.OFFER, agent_id, now, lease_s,
                                  AgentWorkState.PREVIEW)

    async def accept(self, ref: HasLease, agent_id: str, now: float,
                     lease_s: float | None = None) -> RecordDecision:
        """The agent accepts: the record is dialed next.

        The compliance gate runs again for the claimed number (a preview may sit on a
        screen for minutes): ComplianceBlocked when it may no longer be dialed; the
        record stays with the agent, who can skip, decline or reschedule it.
        """
        loaded = await self.load(ref)
        refusal = await self.recheck(loaded, now)
        if refusal is not None:
            raise ComplianceBlocked(refusal.rule.value, ref.record_id,
                                    f"{refusal.detail} [{refusal.citation}]")
        return await self._simple(ref, RecordEvent.ACCEPT, agent_id, now, lease_s,
                                  AgentWorkState.DIALING, loaded)

    async def _simple(self, ref: HasLease, event: RecordEvent, agent_id: str, now: float,
                      lease_s: float | None, agent_state: AgentWorkState,
                      loaded: Loaded | None = None) -> RecordDecision:
        loaded = loaded or await self.load(ref)
        state = await self._write(
            ref.record_id, ref.token, event, loaded.state, now=now,
            history=[HistoryEntry(at=now, kind=event.value, agent_id=agent_id,
                                  token=ref.token)],
            lease_until=now + lease_s if lease_s is not None else None,
        )
        return RecordDecision(record_id=ref.record_id, state=state, event=event,
                              agent_state=agent_state.value)

    async def reject(self, ref: HasLease, agent_id: str, now: float,
                     notes: str = "") -> RecordDecision:
        """Back to the top of the list; the agent becomes Not Ready."""
        loaded = await self.load(ref)
        progress = msgspec.structs.replace(loaded.progress, rejects=loaded.progress.rejects + 1)
        state = await self._write(
            ref.record_id, ref.token, RecordEvent.REJECT, loaded.state, record=loaded.record,
            progress=progress, due=now, now=now, tier=TIER_TOP,
            tier_rank=rank(TIER_TOP, loaded.record.priority, now),
            history=[HistoryEntry(at=now, kind="reject", agent_id=agent_id, notes=notes,
                                  token=ref.token)],
            stats=[("rejects", 1)],
        )
        return RecordDecision(record_id=ref.record_id, state=state, event=RecordEvent.REJECT,
                              due=now, agent_state=AgentWorkState.NOT_READY.value)

    async def skip(self, ref: HasLease, agent_id: str, now: float,
                   notes: str = "") -> RecordDecision:
        """Redistributed later (after policy.skip_delay_s); counted in the stats."""
        loaded = await self.load(ref)
        progress = msgspec.structs.replace(loaded.progress, skips=loaded.progress.skips + 1)
        due = now + self.policy.skip_delay_s
        state = await self._write(
            ref.record_id, ref.token, RecordEvent.SKIP, loaded.state, record=loaded.record,
            progress=progress, due=due, now=now,
            history=[HistoryEntry(at=now, kind="skip", agent_id=agent_id, notes=notes,
                                  token=ref.token)],
            stats=[("skips", 1)],
        )
        return RecordDecision(record_id=ref.record_id, state=state, event=RecordEvent.SKIP,
                              due=due, agent_state=AgentWorkState.READY.value)

    async def decline(
        self,
        ref: HasLease,
        agent_id: str,
        now: float,
        *,
        do_not_call: bool = False,
        callback: CallbackRequest | None = None,
        notes: str = "",
        all_numbers: bool = False,
    ) -> RecordDecision:
        """Decline the record: call this contact later, or do not call it (DNC)."""
        loaded = await self.load(ref)
        record, progress = loaded.record, loaded.progress
        history = [HistoryEntry(at=now, kind="decline", agent_id=agent_id, notes=notes,
                                detail="do not call" if do_not_call else "call later",
                                token=ref.token)]
        if do_not_call:
            idx = loaded.pick if 0 <= loaded.pick < len(record.numbers) else 0
            numbers = [p.number for p in record.numbers] if all_numbers else (
                [record.numbers[idx].number] if record.numbers else [])
            final = self.policy.dnc_disposition
            progress = msgspec.structs.replace(progress, final=final)
            history.append(HistoryEntry(at=now, kind="final", disposition=final,
                                        agent_id=agent_id, rule="decline:dnc"))
            state = await self._write(
                ref.record_id, ref.token, RecordEvent.DECLINE_DNC, loaded.state, record=record,
                progress=progress, now=now, history=history, dnc=numbers,
                stats=[("declines", 1), ("done", 1), (f"final:{final}", 1)],
            )
            return RecordDecision(record_id=ref.record_id, state=state,
                                  event=RecordEvent.DECLINE_DNC, final=final, rule="decline:dnc",
                                  agent_state=AgentWorkState.READY.value, dnc_added=numbers)
        if callback is not None:
            record, progress, entry = self._resolve(loaded, callback, agent_id, now)
            history.append(entry)
            due = progress.callback.due if progress.callback else now
        else:
            due = now + self.policy.decline_later_s
        state = await self._write(
            ref.record_id, ref.token, RecordEvent.DECLINE_LATER, loaded.state, record=record,
            progress=progress, due=due, now=now, history=history, stats=[("declines", 1)],
            write_record=record is not loaded.record,
        )
        return RecordDecision(record_id=ref.record_id, state=state,
                              event=RecordEvent.DECLINE_LATER, due=due,
                              agent_state=AgentWorkState.READY.value)

    # ------------------------------------------------------------ callbacks

    async def reschedule(self, ref: HasLease, agent_id: str, now: float,
                         request: CallbackRequest) -> RecordDecision:
        """Set a callback (exact time or range, zone, number, personal or any agent).

        Raises CallbackRefused (an InputError naming the field) when the time is in the
        past, outside the number's calling hours, or the zone/number is unknown.
        """
        loaded = await self.load(ref)
        record, progress, entry = self._resolve(loaded, request, agent_id, now)
        cb = progress.callback
        assert cb is not None
        state = await self._write(
            ref.record_id, ref.token, RecordEvent.RESCHEDULE, loaded.state, record=record,
            progress=progress, due=cb.due, now=now, history=[entry], stats=[("callbacks", 1)],
            write_record=record is not loaded.record,
        )
        return RecordDecision(record_id=ref.record_id, state=state,
                              event=RecordEvent.RESCHEDULE, due=cb.due,
                              agent_state=AgentWorkState.READY.value)

    callback = reschedule

    def _resolve(self, loaded: Loaded, request: CallbackRequest, agent_id: str,
                 now: float) -> tuple[Record, Progress, HistoryEntry]:
        record = loaded.record
        numbers = [p.number for p in record.numbers]
        default = loaded.pick if 0 <= loaded.pick < len(numbers) else max(
            loaded.progress.last_index, 0)
        resolved = resolve_callback(
            request, policy=self.policy, numbers=numbers, default_index=default,
            record_zone=record.timezone, agent_id=agent_id, now=now,
        )
        if resolved.new_number:
            phone = Phone(number=resolved.new_number, type=NumberType.OTHER,
                          order=len(record.numbers))
            record = msgspec.structs.replace(record, numbers=[*record.numbers, phone])
        cb = resolved.callback
        progress = msgspec.structs.replace(loaded.progress, callback=cb)
        entry = HistoryEntry(
            at=now, kind="callback", agent_id=agent_id, notes=request.notes,
            number=record.numbers[cb.number_index].number, number_index=cb.number_index,
            detail=f"{'personal' if cb.personal else 'any agent'} at {cb.due:.0f} "
                   f"({cb.requested})", token=loaded.token,
        )
        return record, progress, entry

    # ------------------------------------------------------------ after the call

    async def complete(
        self,
        ref: HasLease,
        agent_id: str,
        now: float,
        disposition: str,
        notes: str = "",
        fields: Mapping[str, object] | None = None,
        callback: CallbackRequest | None = None,
        stop: bool = False,
    ) -> RecordDecision:
        """The agent's disposition, notes and edited fields; ``stop``: "done and stop".

        On a record in wrapup (the attempt was already reported) this adds the
        disposition; on a claimed/accepted record it records the answered attempt too.
        """
        loaded = await self.load(ref)
        record = self._edit(loaded.record, fields or {})
        n = len(record.numbers)
        if loaded.state is RecordState.WRAPUP:
            plan, progress = plan_disposition(
                self.policy, loaded.progress, n_numbers=n, disposition=disposition, now=now,
                zones=self.zones(record, loaded.progress.last_index))
            entry = HistoryEntry(at=now, kind="disposition", disposition=disposition,
                                 agent_id=agent_id, notes=notes, token=ref.token,
                                 number_index=loaded.progress.last_index)
            attempt = None
        elif loaded.state in (RecordState.CLAIMED, RecordState.ACCEPTED):
            from dialer.campaign.retry import disposition_or_error

            disposition_or_error(self.policy, disposition, agent=True)
            index = loaded.pick if 0 <= loaded.pick < n else 0
            plan, progress = plan_attempt(self.policy, loaded.progress, n_numbers=n,
                                          index=index, outcome=Outcome.ANSWERED,
                                          disposition=disposition, now=now,
                                          zones=self.zones(record, index))
            number = record.numbers[index].number if n else ""
            entry = HistoryEntry(at=now, kind="attempt", number=number, number_index=index,
                                 outcome=Outcome.ANSWERED.value, sip_code=200,
                                 disposition=disposition, agent_id=agent_id, notes=notes,
                                 token=ref.token)
            attempt = (Outcome.ANSWERED, number)
        else:
            raise InvalidTransition("record", loaded.state.value, "complete")
        history = [entry]
        if callback is not None:
            if plan.final:
                raise CallbackRefused("callback", f"disposition {disposition!r} is final; "
                                      "choose a non-final one to call back")
            cb_loaded = msgspec.structs.replace(loaded, record=record, progress=progress)
            record, progress, cb_entry = self._resolve(cb_loaded, callback, agent_id, now)
            assert progress.callback is not None
            plan = msgspec.structs.replace(plan, due=progress.callback.due)
            history.append(cb_entry)
        state = AgentWorkState.NOT_READY if stop else AgentWorkState.READY
        return await self._finish(loaded, plan, progress, now, history, agent_id=agent_id,
                                  record=record, attempt=attempt, agent_state=state.value)

    async def done(self, ref: HasLease, agent_id: str, now: float, disposition: str,
                   notes: str = "", fields: Mapping[str, object] | None = None) -> RecordDecision:
        """Complete, then stop taking calls (the agent becomes Not Ready)."""
        return await self.complete(ref, agent_id, now, disposition, notes, fields, stop=True)

    def agent_fields(self, record: Record) -> list[dict[str, object]]:
        """What the agent screen shows: every field with its type, value and editability."""
        defs = self.policy.field_defs()
        out: list[dict[str, object]] = []
        for name, f in defs.items():
            out.append({"name": name, "label": f.label or name, "kind": f.kind.value,
                        "editable": f.editable, "choices": list(f.choices),
                        "value": record.fields.get(name)})
        for name, value in record.fields.items():
            if name not in defs:
                out.append({"name": name, "label": name, "kind": "text",
                            "editable": self.policy.extra_fields_editable, "choices": [],
                            "value": value})
        return out

    def _edit(self, record: Record, edits: Mapping[str, object]) -> Record:
        """Apply an agent's field edits; InputError names an unknown or read-only field."""
        if not edits:
            return record
        defs = self.policy.field_defs()
        fields = dict(record.fields)
        for name, raw in edits.items():
            fdef = defs.get(name)
            if fdef is None:
                if name not in record.fields:
                    raise InputError(f"fields.{name}", "unknown field")
                if not self.policy.extra_fields_editable:
                    raise InputError(f"fields.{name}", "read-only for agents")
                fields[name] = raw if isinstance(raw, str) or raw is None else str(raw)
                continue
            if not fdef.editable:
                raise InputError(f"fields.{name}", "read-only for agents")
            try:
                fields[name] = parse_field(fdef, raw)
            except ValueError as exc:
                raise InputError(f"fields.{name}", str(exc)) from None
        return msgspec.structs.replace(record, fields=fields)


__all__ = ["AgentActions", "Plan", "TIER_NORMAL"]

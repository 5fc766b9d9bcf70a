"""The Redis edge of the record store: claims, leases, attempt reports, counts.

The decisions are the pure cores' (``dialer.compliance.gate``, ``dialer.campaign.retry``,
``dialer.campaign.states``); this module gathers the facts they need from Redis and
writes their answers back with the atomic scripts in :mod:`dialer.store.scripts`.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Protocol

import msgspec
import redis.asyncio as aioredis

from dialer.campaign.policy import CampaignPolicy
from dialer.campaign.records import Callback, HistoryEntry, Mark, Progress, Record
from dialer.campaign.retry import Plan, RecordDecision, number_order, plan_attempt
from dialer.campaign.states import RecordEvent, RecordState, sources, transition
from dialer.compliance import gate
from dialer.compliance.refusals import Rule
from dialer.errors import InputError, InvalidTransition, StaleLease
from dialer.outcomes import Outcome
from dialer.store import scripts
from dialer.store.keys import Keys

DncLookup = Callable[[Sequence[str]], Awaitable[Mapping[str, bool]]]
"""An extra DNC source (e.g. a national registry service): number -> listed. May raise."""

_enc = msgspec.json.Encoder()
_dec_record = msgspec.json.Decoder(Record)
_dec_progress = msgspec.json.Decoder(Progress)
_dec_history = msgspec.json.Decoder(HistoryEntry)

TIER_CALLBACK, TIER_TOP, TIER_NORMAL = 0, 1, 2


def rank(tier: int, priority: int, due: float) -> int:
    """Ready-set score: callbacks first, then rejected records, then by priority and due time.

    ``tier`` (2 bits) and ``255 - priority`` (8 bits) sit above a 32-bit due time in
    seconds, so the score stays an exact integer in a double (< 2**42).
    """
    p = 255 - max(0, min(255, priority))
    return (((tier << 8) | p) << 32) | max(0, min(int(due), 2**32 - 1))


class Blocked(msgspec.Struct, frozen=True, kw_only=True):
    """A number the compliance gate refused: what the daemon publishes as DialBlocked."""

    record_id: str
    number: str
    rule: str
    citation: str
    detail: str
    at: float
    until: float | None = None
    number_index: int = -1


class LeaseRef(msgspec.Struct, frozen=True, kw_only=True):
    """What an agent's client sends back to act on a claimed record."""

    record_id: str
    token: int


class HasLease(Protocol):
    @property
    def record_id(self) -> str: ...

    @property
    def token(self) -> int: ...


class Claim(msgspec.Struct, frozen=True, kw_only=True):
    """A record leased to one claimer: dial ``number``; report with ``token``."""

    record_id: str
    token: int  # fencing token; every write about this claim must carry it
    number: str  # E.164, cleared by the compliance gate
    number_index: int
    attempt: int  # this is the record's n-th attempt
    record: Record
    claimer: str
    lease_until: float
    callback: Callback | None = None  # set when this dial is a callback
    blocked: list[Blocked] = []  # numbers of this record the gate refused on the way

    @property
    def ref(self) -> LeaseRef:
        return LeaseRef(record_id=self.record_id, token=self.token)


def _s(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode()
    return str(value)


class Loaded(msgspec.Struct, kw_only=True):
    """One record as read from Redis before a token-checked change."""

    record_id: str
    state: RecordState
    token: int
    record: Record
    progress: Progress
    pick: int
    rank: int
    agent: str  # owner (claimer) of the lease


class StoreCore:
    """Claims, leases and attempt reports for one campaign's records."""

    def __init__(
        self,
        redis: aioredis.Redis,
        campaign: str,
        policy: CampaignPolicy | None = None,
        prefix: str = "dialer",
        *,
        dnc_lookup: DncLookup | None = None,
        reap_batch: int = 100,
        max_scan: int = 100,
    ) -> None:
        self.redis = redis
        self.campaign = campaign
        self.policy = policy if policy is not None else CampaignPolicy()
        self.keys = Keys(prefix, campaign)
        self.dnc_lookup = dnc_lookup
        self.reap_batch = reap_batch
        self.max_scan = max_scan
        self._claim = redis.register_script(scripts.CLAIM)
        self._apply_script = redis.register_script(scripts.APPLY)
        self._renew = redis.register_script(scripts.RENEW)
        self._import = redis.register_script(scripts.IMPORT)
        self._blocked: list[Blocked] = []
        p = self.policy
        self._claim_opts = (f"{reap_batch},{1 if p.dnc_global else 0},"
                            f"{p.callback_grace_s!r},{1 if p.uk_mode else 0}")

    # ------------------------------------------------------------------ claim

    async def claim_next(
        self, claimer: str, now: float, lease_s: float = 60.0, agent_id: str = ""
    ) -> Claim | None:
        """Lease the next dialable record, or None when nothing may be dialed now.

        Every number goes through the compliance gate first; refused numbers are
        skipped (the next one is used) and reported in ``Claim.blocked`` and
        :meth:`drain_blocked`. A record none of whose numbers may be dialed now is
        rescheduled for when one may, or ended when none ever may. ``agent_id`` lets
        that agent's due personal callbacks come first.
        """
        k = self.keys
        lease_until = now + lease_s
        for _ in range(self.max_scan):
            raw = await self._claim(keys=[], args=[k.base, k.prefix, repr(now), repr(lease_until),
                                                    claimer, agent_id, self._claim_opts])
            if int(raw[-1]):
                # an answered record's disposition deadline passed: apply the default one
                await self.expire_wrapups(now)
            if raw[0] is None:
                return None
            rid, token = _s(raw[0]), int(raw[1])
            record = _dec_record.decode(raw[2])
            progress = self._progress(raw[3], raw[4])
            flags = _s(raw[5]).split(",") if _s(raw[5]) else []
            aband = _s(raw[6]).split(",") if record.numbers else []
            pick = int(raw[7])
            facts = await self._facts(record, progress, flags, aband)
            cb = progress.callback
            order = number_order(
                len(record.numbers), progress.unusable, self._start(progress, record),
                cb.number_index if cb else None,
            )
            decision = gate.decide(
                self.policy,
                gate.GateInput(record_id=rid, numbers=facts, marks=progress.marks,
                               timezone=record.timezone, order=order),
                now,
            )
            blocked = [
                Blocked(record_id=rid, number=record.numbers[i].number, rule=r.rule.value,
                        citation=r.citation, detail=r.detail, at=now, until=r.until,
                        number_index=i)
                for i, r in decision.refusals
            ]
            self._blocked.extend(blocked)
            if decision.index is not None:
                if decision.index != pick:
                    status = _s(await self._renew(
                        keys=[k.rec(rid), k.leases],
                        args=[rid, str(token), repr(lease_until), str(decision.index)],
                    ))
                    if status != "ok":
                        continue  # lost the lease already (only with absurdly short leases)
                return Claim(
                    record_id=rid, token=token, number=record.numbers[decision.index].number,
                    number_index=decision.index, attempt=len(progress.marks) + 1,
                    record=record, claimer=claimer, lease_until=lease_until,
                    callback=cb if cb and cb.number_index == decision.index else None,
                    blocked=blocked,
                )
            try:
                await self._park(rid, token, record, progress, decision, blocked, now)
            except StaleLease:
                continue  # the lease ran out meanwhile and the record went back: fine
        return None

    async def _facts(
        self, record: Record, progress: Progress, flags: list[str], aband: list[str]
    ) -> list[gate.NumberFacts]:
        phones = record.numbers
        numbers = [p.number for p in phones]
        external: Mapping[str, bool] | None = None
        failed = False
        if self.dnc_lookup is not None:
            try:
                external = await self.dnc_lookup(numbers)
            except Exception:  # noqa: BLE001 - any failure means "cannot be validated"
                failed = True
        out: list[gate.NumberFacts] = []
        for i, n in enumerate(numbers):
            f = flags[i] if i < len(flags) else ""
            if failed or f == "" or (external is not None and n not in external):
                status = gate.DncStatus.UNAVAILABLE
            elif f in ("1", "3") or (external is not None and external[n]):
                status = gate.DncStatus.GLOBAL
            elif f == "2":
                status = gate.DncStatus.CAMPAIGN
            else:
                status = gate.DncStatus.CLEAR
            a = aband[i] if i < len(aband) else ""
            out.append(gate.NumberFacts(
                number=n, dnc=status, unusable=i in progress.unusable,
                last_abandoned=float(a) if a else None,
                country=phones[i].country, zones=tuple(phones[i].zones),
            ))
        return out

    @staticmethod
    def _start(progress: Progress, record: Record) -> int:
        n = len(record.numbers)
        if n == 0 or progress.last_index < 0:
            return 0
        return progress.last_index % n

    async def _park(
        self, rid: str, token: int, record: Record, progress: Progress,
        decision: gate.GateDecision, blocked: list[Blocked], now: float,
    ) -> None:
        """No number may be dialed: reschedule (DEFER) or end (EXHAUST) the record."""
        history = [
            HistoryEntry(at=now, kind="blocked", number=b.number, number_index=b.number_index,
                         rule=b.rule, detail=b.detail, token=token)
            for b in blocked
        ]
        stats = [(f"blocked:{b.rule}", 1) for b in blocked]
        if decision.retry_at is not None:
            await self._write(
                rid, token, RecordEvent.DEFER, RecordState.CLAIMED, record=record,
                progress=progress, due=decision.retry_at, now=now, history=history,
                stats=stats,
            )
            return
        final = self._final_for(decision.final_rule)
        progress = msgspec.structs.replace(progress, final=final)
        await self._write(
            rid, token, RecordEvent.EXHAUST, RecordState.CLAIMED, record=record,
            progress=progress, now=now, history=[*history, HistoryEntry(
                at=now, kind="final", disposition=final,
                rule=decision.final_rule.value if decision.final_rule else "")],
            stats=[*stats, ("done", 1), (f"final:{final}", 1)],
        )

    def _final_for(self, rule: Rule | None) -> str:
        p = self.policy
        if rule in (Rule.DNC_GLOBAL, Rule.DNC_CAMPAIGN):
            return p.dnc_disposition
        if rule in (Rule.ATTEMPTS_RECORD, Rule.ATTEMPTS_NUMBER):
            return p.max_attempts_disposition
        if rule in (Rule.NO_COMMON_WINDOW, Rule.UNKNOWN_ZONE):
            return p.not_callable_disposition
        return p.bad_record_disposition

    async def recheck(self, loaded: Loaded, now: float) -> gate.Refusal | None:
        """Run the gate again for the number a claim picked (e.g. when a preview is accepted
        minutes after the claim). Returns the refusal, also queued for drain_blocked()."""
        record, idx = loaded.record, loaded.pick
        if not 0 <= idx < len(record.numbers):
            return None
        number = record.numbers[idx].number
        k = self.keys
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.sismember(k.global_dnc, number)
            pipe.sismember(k.dnc, number)
            pipe.get(k.abandoned_prefix + number)
            g, c, ab = await pipe.execute()
        flag = str((1 if g and self.policy.dnc_global else 0) + (2 if c else 0))
        flags = ["0"] * len(record.numbers)
        flags[idx] = flag
        aband = [""] * len(record.numbers)
        aband[idx] = _s(ab)
        facts = await self._facts(record, loaded.progress, flags, aband)
        refusal = gate.check_number(
            self.policy,
            gate.GateInput(record_id=loaded.record_id, numbers=facts,
                           marks=loaded.progress.marks, timezone=record.timezone),
            idx, now,
        )
        if refusal is not None:
            self._blocked.append(Blocked(
                record_id=loaded.record_id, number=number, rule=refusal.rule.value,
                citation=refusal.citation, detail=refusal.detail, at=now, until=refusal.until,
                number_index=idx))
        return refusal

    def zones(self, record: Record, index: int) -> list[str]:
        """The callee's zones for number ``index`` (for the retry rules' per-day caps)."""
        if not 0 <= index < len(record.numbers):
            return [record.timezone] if record.timezone else []
        p = record.numbers[index]
        return gate.zones_for(
            gate.NumberFacts(number=p.number, country=p.country, zones=tuple(p.zones)),
            record.timezone, self.policy,
        )

    def drain_blocked(self) -> list[Blocked]:
        """Refusals seen since the last call, oldest first (for DialBlocked events)."""
        out, self._blocked = self._blocked, []
        return out

    # ------------------------------------------------------------------ leases

    async def renew(self, claim: HasLease, lease_s: float = 60.0, now: float | None = None) -> None:
        """Extend the lease; StaleLease when it was lost (expired and taken back)."""
        t = time.time() if now is None else now
        status = _s(await self._renew(
            keys=[self.keys.rec(claim.record_id), self.keys.leases],
            args=[claim.record_id, str(claim.token), repr(t + lease_s), ""],
        ))
        if status != "ok":
            raise StaleLease(claim.record_id, claim.token)

    async def release(self, claim: HasLease, now: float | None = None) -> bool:
        """Give the record back without an attempt (shutdown drain). False if already lost."""
        t = time.time() if now is None else now
        try:
            loaded = await self.load(claim)
            await self._write(
                claim.record_id, claim.token, RecordEvent.RELEASE, loaded.state,
                record=loaded.record, progress=loaded.progress, due=t, now=t,
                tier_rank=loaded.rank,
            )
        except (StaleLease, InvalidTransition, InputError):
            return False
        return True

    # ------------------------------------------------------------------ attempts

    async def report_attempt(
        self,
        claim: Claim | HasLease,
        outcome: Outcome,
        sip_code: int,
        now: float,
        agent_id: str = "",
        disposition: str | None = None,
        notes: str = "",
        number_index: int | None = None,
    ) -> RecordDecision:
        """Record one attempt, apply the retry rules and release the lease.

        Raises StaleLease when the token is no longer the record's (the lease expired
        and the record went back): the attempt is then not counted a second time.
        """
        loaded = await self.load(claim)
        index = number_index if number_index is not None else (
            claim.number_index if isinstance(claim, Claim) else loaded.pick)
        record, n = loaded.record, len(loaded.record.numbers)
        plan, progress = plan_attempt(
            self.policy, loaded.progress, n_numbers=n, index=index, outcome=outcome,
            disposition=disposition, now=now, zones=self.zones(record, index),
        )
        number = record.numbers[index].number if 0 <= index < n else ""
        entry = HistoryEntry(
            at=now, kind="attempt", number=number, number_index=index, outcome=outcome.value,
            sip_code=sip_code, disposition=disposition or "", agent_id=agent_id, notes=notes,
            token=loaded.token,
        )
        return await self._finish(loaded, plan, progress, now, [entry], agent_id=agent_id,
                                  attempt=(outcome, number))

    async def _finish(
        self, loaded: Loaded, plan: Plan, progress: Progress, now: float,
        history: list[HistoryEntry], *, agent_id: str = "", record: Record | None = None,
        attempt: tuple[Outcome, str] | None = None, agent_state: str = "",
        tier: int = TIER_NORMAL,
    ) -> RecordDecision:
        record = record or loaded.record
        stats: list[tuple[str, int]] = []
        sets: list[tuple[str, str, int]] = []
        dnc: list[str] = []
        if attempt is not None:
            outcome, number = attempt
            stats += [("attempts", 1), (f"outcome:{outcome.value}", 1)]
            if outcome is Outcome.ABANDONED and number:
                sets.append((self.keys.abandoned_prefix + number, repr(now),
                             int(self.policy.abandon_lock_s) + 1))
        idx = progress.last_index
        if plan.add_dnc and 0 <= idx < len(record.numbers):
            dnc.append(record.numbers[idx].number)
        if plan.final:
            stats += [("done", 1), (f"final:{plan.final}", 1)]
            history = [*history, HistoryEntry(at=now, kind="final", disposition=plan.final,
                                              rule=plan.rule, agent_id=agent_id)]
        new_state = await self._write(
            loaded.record_id, loaded.token, plan.event, loaded.state, record=record,
            progress=progress, due=plan.due, now=now, history=history, stats=stats, dnc=dnc,
            sets=sets, next_index=plan.next_index, tier=tier,
            write_record=record is not loaded.record,
        )
        return RecordDecision(
            record_id=loaded.record_id, state=new_state, event=plan.event, due=plan.due,
            final=plan.final, rule=plan.rule, agent_state=agent_state, dnc_added=dnc,
        )

    # ------------------------------------------------------------------ reading

    async def load(self, ref: HasLease) -> Loaded:
        """Read a record for a token-checked change; StaleLease when the token is not current."""
        if ref.token <= 0:
            raise StaleLease(ref.record_id, ref.token)
        raw = await self.redis.hmget(
            self.keys.rec(ref.record_id), ["st", "tok", "d", "m", "lost", "pick", "rk", "own"]
        )
        if raw[0] is None:
            raise InputError("record_id", f"no record {ref.record_id!r} in {self.campaign}")
        if _s(raw[1]) != str(ref.token):
            raise StaleLease(ref.record_id, ref.token)
        return Loaded(
            record_id=ref.record_id, state=RecordState(_s(raw[0])), token=ref.token,
            record=_dec_record.decode(raw[2] or b""), progress=self._progress(raw[3], raw[4]),
            pick=int(_s(raw[5]) or -1), rank=int(float(_s(raw[6]) or 0)), agent=_s(raw[7]),
        )

    async def get(self, record_id: str) -> tuple[Record, RecordState, Progress] | None:
        raw = await self.redis.hmget(self.keys.rec(record_id), ["d", "st", "m", "lost"])
        if raw[0] is None:
            return None
        return _dec_record.decode(raw[0]), RecordState(_s(raw[1])), self._progress(raw[2], raw[3])

    async def history(self, record_id: str) -> list[HistoryEntry]:
        raw = await self.redis.lrange(self.keys.hist(record_id), 0, -1)
        return [_dec_history.decode(x) for x in raw]

    @staticmethod
    def _progress(m: Any, lost: Any) -> Progress:
        progress = _dec_progress.decode(m) if m else Progress()
        text = _s(lost)
        if text:
            extra = []
            for item in text.split(";"):
                if item:
                    at, _, idx = item.partition(":")
                    extra.append(Mark(float(at), int(idx or -1), "lost"))
            progress = msgspec.structs.replace(progress, marks=[*progress.marks, *extra])
        return progress

    # ------------------------------------------------------------------ writing

    async def _write(
        self,
        rid: str,
        token: int,
        event: RecordEvent,
        state: RecordState,
        *,
        record: Record | None = None,
        progress: Progress | None = None,
        due: float | None = None,
        now: float,
        history: Sequence[HistoryEntry] = (),
        stats: Sequence[tuple[str, int]] = (),
        dnc: Sequence[str] = (),
        sets: Sequence[tuple[str, str, int]] = (),
        next_index: int | None = None,
        tier: int = TIER_NORMAL,
        tier_rank: int | None = None,
        lease_until: float | None = None,
        owner: str = "",
        write_record: bool = False,
    ) -> RecordState:
        """One token-checked transition, atomically, through the APPLY script."""
        new = transition(state, event)
        k = self.keys
        where, score, rk, cb_agent = "none", 0.0, "", ""
        pref = ""
        if new is RecordState.PENDING:
            when = now if due is None else due
            cb = progress.callback if progress is not None else None
            if tier_rank is not None:
                rk = str(tier_rank)
            elif record is not None:
                t = TIER_CALLBACK if cb is not None else tier
                rk = str(rank(t, record.priority, when))
            if cb is not None and cb.personal and cb.agent_id:
                where, score, cb_agent = "pcb", when, cb.agent_id
            elif when <= now:
                where, score = "ready", float(rk) if rk else float(tier_rank or 0)
            else:
                where, score = "sched", when
            if record is not None and progress is not None:
                first = cb.number_index if cb is not None else None
                start = next_index if next_index is not None else self._start(progress, record)
                pref = ",".join(str(i) for i in number_order(
                    len(record.numbers), progress.unusable, start, first))
        elif new is RecordState.WRAPUP:
            where, score = "wrap", due if due is not None else now
        elif new in (RecordState.OFFERED, RecordState.ACCEPTED, RecordState.CLAIMED):
            where, score = ("lease", lease_until) if lease_until is not None else ("keep", 0.0)
        args: list[str | int | float] = [
            rid, str(token), "," + ",".join(s.value for s in sources(event)) + ",",
            new.value, where, repr(score), rk,
            _enc.encode(progress).decode() if progress is not None else "",
            _enc.encode(record).decode() if (record is not None and write_record) else "",
            ",".join(p.number for p in record.numbers) if (record and write_record) else "",
            pref, cb_agent, len(history), len(stats), len(dnc), len(sets), owner,
        ]
        args += [_enc.encode(h).decode() for h in history]
        for name, inc in stats:
            args += [name, inc]
        args += list(dnc)
        for key, value, ttl in sets:
            args += [key, value, ttl]
        status, old = (_s(x) for x in await self._apply_script(
            keys=[k.rec(rid), k.leases, k.ready, k.sched, k.pcb, k.pcb_agent(cb_agent or "-"),
                  k.wrap, k.hist(rid), k.stats, k.dnc],
            args=args,
        ))
        if status == "stale":
            raise StaleLease(rid, token)
        if status == "missing":
            raise InputError("record_id", f"no record {rid!r} in {self.campaign}")
        if status == "state":
            raise InvalidTransition("record", old, event.value)
        return new

    async def expire_wrapups(self, now: float, limit: int = 50) -> int:
        """Answered records whose disposition never came get the policy's default one."""
        from dialer.campaign.retry import plan_disposition

        ids = await self.redis.zrangebyscore(self.keys.wrap, "-inf", repr(now), start=0,
                                             num=limit)
        done = 0
        for raw in ids:
            rid = _s(raw)
            tok = _s(await self.redis.hget(self.keys.rec(rid), "tok"))
            try:
                loaded = await self.load(LeaseRef(record_id=rid, token=int(tok or 0)))
                plan, progress = plan_disposition(
                    self.policy, loaded.progress, n_numbers=len(loaded.record.numbers),
                    disposition=self.policy.wrapup_disposition, now=now, agent=False,
                    zones=self.zones(loaded.record, loaded.progress.last_index),
                )
                await self._finish(loaded, plan, progress, now, [HistoryEntry(
                    at=now, kind="disposition", disposition=self.policy.wrapup_disposition,
                    detail="no disposition before the deadline", token=loaded.token)])
                done += 1
            except (StaleLease, InvalidTransition, InputError):
                continue
        return done

    # ------------------------------------------------------------------ counts

    async def counts(self, now: float) -> dict[str, int]:
        """pending, due_now, in_progress, done, scheduled (plus wrapup, callbacks)."""
        k = self.keys
        n = repr(now)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.zcard(k.ready)
            pipe.zcount(k.sched, "-inf", n)
            pipe.zcard(k.sched)
            pipe.zcount(k.pcb, "-inf", n)
            pipe.zcard(k.pcb)
            pipe.zcard(k.leases)
            pipe.zcard(k.wrap)
            pipe.hget(k.stats, "done")
            ready, sched_due, sched, pcb_due, pcb, leases, wrap, done = await pipe.execute()
        return {
            "pending": int(ready) + int(sched) + int(pcb),
            "due_now": int(ready) + int(sched_due) + int(pcb_due),
            "in_progress": int(leases),
            "wrapup": int(wrap),
            "done": int(_s(done) or 0),
            "scheduled": int(sched) - int(sched_due) + int(pcb) - int(pcb_due),
            "callbacks": int(pcb),
        }

    async def exhausted(self, now: float) -> bool:
        """Nothing left to dial now or later, and nothing in progress that could retry."""
        c = await self.counts(now)
        return c["pending"] == 0 and c["in_progress"] == 0 and c["wrapup"] == 0

    async def stats(self) -> dict[str, int]:
        raw = await self.redis.hgetall(self.keys.stats)
        return {_s(a): int(_s(b)) for a, b in raw.items()}

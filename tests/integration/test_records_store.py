"""RecordStore against real Redis: import, claim, report, leases, agent actions."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from dialer.campaign.callbacks import CallbackRefused, CallbackRequest
from dialer.campaign.policy import CampaignPolicy
from dialer.campaign.records import Phone, Record
from dialer.campaign.states import RecordState
from dialer.errors import InputError, InvalidTransition, StaleLease
from dialer.outcomes import Outcome
from dialer.store.records import LeaseRef, RecordStore

# Monday 2024-06-10 15:00 UTC = 11:00 in New York, 08:00 in Los Angeles.
NOW = dt.datetime(2024, 6, 10, 15, tzinfo=dt.UTC).timestamp()
NY = "+12125551234"


def rec(rid: str, *numbers: str, priority: int = 0, tz: str = "") -> Record:
    return Record(id=rid, numbers=[Phone(number=n, order=i) for i, n in enumerate(numbers)],
                  priority=priority, timezone=tz)


@pytest.fixture
def store(redis_client: aioredis.Redis, redis_prefix: str) -> RecordStore:
    return RecordStore(redis_client, campaign="demo", policy=CampaignPolicy(), prefix=redis_prefix)


async def test_import_claim_report_and_stale_token(store: RecordStore, tmp_path: Path) -> None:
    csv = tmp_path / "list.csv"
    csv.write_text(
        "id,first_name,last_name,phone,phone2,phone3,timezone,priority,notes\n"
        "a,Ann,Lee,(212) 555-1234,,,,5,hello\n"
        "b,Bob,Ray,+1 415 555 0100,2125551235,,America/Los_Angeles,1,\n"
        "c,Bad,Row,12,,,,,\n"
        "d,Bad,Zone,2125551236,,,Mars/Base,,\n"
        "e,short\n"
    )
    report = await store.import_csv(csv, region="US", now=NOW - 60)
    assert report.imported == 2
    assert [line for line, _ in report.errors] == [4, 5, 6]
    assert "timezone" in report.errors[1][1]
    claim = await store.claim_next("node-1", now=NOW, lease_s=60)
    assert claim is not None and claim.record_id == "a"  # priority 5 first
    assert claim.number == NY and claim.attempt == 1
    assert claim.record.fields["notes"] == "hello"
    decision = await store.report_attempt(claim, Outcome.BUSY, 486, now=NOW + 10)
    assert decision.state is RecordState.PENDING and decision.due == NOW + 10 + 900
    with pytest.raises(StaleLease):
        await store.report_attempt(claim, Outcome.BUSY, 486, now=NOW + 20)
    history = await store.history("a")
    assert [h.kind for h in history] == ["attempt"]
    counts = await store.counts(NOW + 20)
    assert counts["pending"] == 2 and counts["scheduled"] == 1 and counts["due_now"] == 1


async def test_expired_lease_returns_record_and_refuses_old_token(store: RecordStore) -> None:
    await store.import_records([rec("r1", NY)], now=NOW)
    first = await store.claim_next("node-1", now=NOW, lease_s=5)
    assert first is not None
    assert await store.claim_next("node-2", now=NOW + 1, lease_s=5) is None
    second = await store.claim_next("node-2", now=NOW + 6, lease_s=60)
    assert second is not None and second.record_id == "r1" and second.token > first.token
    assert second.attempt == 2  # the lost lease counts against the caps
    with pytest.raises(StaleLease):
        await store.renew(first, lease_s=60, now=NOW + 7)
    with pytest.raises(StaleLease):
        await store.report_attempt(first, Outcome.NO_ANSWER, 487, now=NOW + 7)
    await store.report_attempt(second, Outcome.NO_ANSWER, 487, now=NOW + 8)
    kinds = [h.kind for h in await store.history("r1")]
    assert kinds == ["lost", "attempt"]


async def test_dnc_number_skipped_then_record_ends(store: RecordStore) -> None:
    await store.import_records([rec("r1", NY, "+12125551235")], now=NOW)
    await store.dnc.add([NY])
    claim = await store.claim_next("n", now=NOW)
    assert claim is not None and claim.number == "+12125551235"
    assert [b.rule for b in claim.blocked] == ["dnc.campaign"]
    await store.release(claim, now=NOW)
    await store.global_dnc.add(["+12125551235"])
    assert await store.claim_next("n", now=NOW + 1) is None
    got = await store.get("r1")
    assert got is not None and got[1] is RecordState.DONE and got[2].final == "Do Not Call"
    assert await store.exhausted(NOW + 1)


async def test_agent_actions(store: RecordStore) -> None:
    await store.import_records([rec("r1", NY), rec("r2", "+12125551235")], now=NOW)
    c = await store.claim_next("n", now=NOW)
    assert c is not None
    await store.offer(c, "agent-1", NOW)
    d = await store.reject(c, "agent-1", NOW + 1)
    assert d.agent_state == "not_ready"
    again = await store.claim_next("n", now=NOW + 2)
    assert again is not None and again.record_id == c.record_id  # top of the list
    await store.offer(again, "agent-1", NOW + 2)
    with pytest.raises(InvalidTransition):  # offered, not accepted: no call to complete
        await store.complete(LeaseRef(record_id=again.record_id, token=again.token), "agent-1",
                             NOW + 2, "Sale")
    with pytest.raises(CallbackRefused) as err:
        await store.reschedule(again, "agent-1", NOW + 3, CallbackRequest(at="2024-06-10T22:00"))
    assert err.value.where == "at"
    with pytest.raises(CallbackRefused):
        await store.reschedule(again, "agent-1", NOW + 3, CallbackRequest(at="2024-06-09T12:00"))
    d = await store.reschedule(again, "agent-1", NOW + 3,
                               CallbackRequest(at="2024-06-10T14:00", personal=True))
    assert d.state is RecordState.PENDING
    other = await store.claim_next("n", now=NOW + 4)
    assert other is not None and other.record_id == "r2"
    await store.accept(other, "agent-2", NOW + 5)
    d = await store.report_attempt(other, Outcome.ANSWERED, 200, now=NOW + 30, agent_id="agent-2")
    assert d.state is RecordState.WRAPUP
    with pytest.raises(InputError):
        await store.complete(other, "agent-2", NOW + 40, "Nope")
    d = await store.complete(other, "agent-2", NOW + 40, "Sale", notes="ok",
                             fields={"first_name": "Zed"}, stop=True)
    assert d.state is RecordState.DONE and d.agent_state == "not_ready"
    got = await store.get("r2")
    assert got is not None and got[0].fields["first_name"] == "Zed"
    # the personal callback: agent-1 gets it at 14:00 NY; others only after the grace
    cb_time = dt.datetime(2024, 6, 10, 18, tzinfo=dt.UTC).timestamp()
    assert await store.claim_next("n", now=cb_time + 1, agent_id="agent-9") is None
    mine = await store.claim_next("n", now=cb_time + 1, agent_id="agent-1")
    assert mine is not None and mine.callback is not None


async def test_due_callback_comes_before_new_records_and_personal_grace(
        store: RecordStore) -> None:
    await store.import_records([rec("cb", NY), rec("vip", "+12125551235", priority=200)],
                               now=NOW)
    c = await store.claim_next("n", now=NOW)
    assert c is not None and c.record_id == "vip"  # higher priority first
    await store.reschedule(c, "agent-1", NOW + 1, CallbackRequest(at=str(NOW + 600)))
    c2 = await store.claim_next("n", now=NOW + 2)
    assert c2 is not None and c2.record_id == "cb"
    await store.reschedule(c2, "agent-7", NOW + 3,
                           CallbackRequest(at=str(NOW + 600), personal=True))
    await store.import_records([rec("new", "+12125551236", priority=255)], now=NOW + 700)
    first = await store.claim_next("n", now=NOW + 700)
    assert first is not None and first.record_id == "vip"  # due callback before new records
    assert first.callback is not None
    await store.report_attempt(first, Outcome.ANSWERED, 200, now=NOW + 700, disposition="Sale")
    # the personal one: invisible to others until the grace (900 s) has passed
    nxt = await store.claim_next("n", now=NOW + 701)
    assert nxt is not None and nxt.record_id == "new"
    await store.report_attempt(nxt, Outcome.ANSWERED, 200, now=NOW + 701, disposition="Sale")
    assert await store.claim_next("n", now=NOW + 702) is None
    late = await store.claim_next("n", now=NOW + 600 + 901)
    assert late is not None and late.record_id == "cb"


async def test_dnc_source_down_means_never_dialed(redis_client: aioredis.Redis,
                                                  redis_prefix: str) -> None:
    async def broken(numbers: object) -> dict[str, bool]:
        raise ConnectionError("registry down")

    store = RecordStore(redis_client, campaign="demo", prefix=redis_prefix, dnc_lookup=broken)
    await store.import_records([rec("r1", NY, "+12125551235")], now=NOW)
    assert await store.claim_next("n", now=NOW) is None
    blocked = store.drain_blocked()
    assert [b.rule for b in blocked] == ["dnc.unavailable", "dnc.unavailable"]
    counts = await store.counts(NOW)
    assert counts["scheduled"] == 1  # tried again after dnc_retry_s, not ended

    async def partial(numbers: object) -> dict[str, bool]:
        return {NY: True, "+12125551235": False}

    store.dnc_lookup = partial
    c = await store.claim_next("n", now=NOW + 301)
    assert c is not None and c.number == "+12125551235"


async def test_uk_abandoned_lock_across_records(redis_client: aioredis.Redis,
                                                redis_prefix: str) -> None:
    policy = CampaignPolicy(uk_mode=True, region_hours={"GB": "00:00-24:00"})
    store = RecordStore(redis_client, campaign="uk", policy=policy, prefix=redis_prefix)
    uk = "+447400123456"
    await store.import_records([rec("a", uk), rec("b", uk)], now=NOW)
    c = await store.claim_next("n", now=NOW)
    assert c is not None
    await store.report_attempt(c, Outcome.ABANDONED, 200, now=NOW + 5)
    assert await store.claim_next("n", now=NOW + 10) is None  # record b, same number: locked
    assert [b.rule for b in store.drain_blocked()] == ["redial_lock.abandoned"]
    again = await store.claim_next("n", now=NOW + 5 + 72 * 3600)
    assert again is not None


async def test_wrapup_deadline_applies_default_disposition(store: RecordStore) -> None:
    await store.import_records([rec("r1", NY)], now=NOW)
    c = await store.claim_next("n", now=NOW)
    assert c is not None
    await store.report_attempt(c, Outcome.ANSWERED, 200, now=NOW + 5, agent_id="a")
    assert (await store.counts(NOW + 6))["wrapup"] == 1
    await store.claim_next("n", now=NOW + 5 + 901)
    got = await store.get("r1")
    assert got is not None and got[1] is RecordState.PENDING
    hist = await store.history("r1")
    assert hist[-1].kind == "disposition" and hist[-1].disposition == "No Disposition"
    with pytest.raises(StaleLease):
        await store.complete(c, "a", NOW + 1000, "Sale")


async def test_reimport_keeps_what_is_stored_and_reports_progress(store: RecordStore,
                                                                  tmp_path: Path) -> None:
    csv = tmp_path / "l.csv"
    csv.write_text("id,phone,notes\n" + "".join(f"r{i},21255512{i:02d},n{i}\n"
                                               for i in range(50)))
    seen: list[tuple[int, int, int]] = []
    first = await store.import_csv(csv, progress=lambda *a: seen.append(a), batch=10, now=NOW)
    assert first.imported == 50 and seen and seen[-1][1] == seen[-1][2]
    c = await store.claim_next("n", now=NOW)
    assert c is not None
    await store.report_attempt(c, Outcome.ANSWERED, 200, now=NOW, disposition="Sale")
    csv.write_text("id,phone,notes\nr0,2125551299,changed\nr99,bad,x\n")
    second = await store.import_csv(csv, now=NOW)
    assert second.imported == 0
    assert [e[0] for e in second.errors] == [2, 3]
    assert "already stored" in second.errors[0][1]
    got = await store.get(c.record_id)
    assert got is not None and got[1] is RecordState.DONE  # untouched by the re-import


async def test_skip_decline_and_stats(store: RecordStore) -> None:
    await store.import_records([rec("r1", NY), rec("r2", "+12125551235")], now=NOW)
    a = await store.claim_next("n", now=NOW)
    assert a is not None
    d = await store.skip(a, "agent", NOW)
    assert d.due == NOW + store.policy.skip_delay_s
    b = await store.claim_next("n", now=NOW + 1)
    assert b is not None
    d = await store.decline(b, "agent", NOW + 2, do_not_call=True)
    assert d.state is RecordState.DONE and d.dnc_added == [b.number]
    assert await store.dnc.contains(b.number)
    stats = await store.stats()
    assert stats["skips"] == 1 and stats["declines"] == 1 and stats["done"] == 1
    assert (await store.claim_next("n", now=NOW + 3)) is None  # r1 skipped until later
    later = await store.claim_next("n", now=NOW + store.policy.skip_delay_s + 1)
    assert later is not None and later.record_id == a.record_id


async def test_accept_rechecks_the_gate(store: RecordStore) -> None:
    from dialer.errors import ComplianceBlocked

    await store.import_records([rec("r1", NY)], now=NOW)
    c = await store.claim_next("n", now=NOW, lease_s=3 * 3600)
    assert c is not None
    await store.offer(c, "agent-1", NOW)
    await store.dnc.add([NY])  # listed while the preview was on screen
    with pytest.raises(ComplianceBlocked) as err:
        await store.accept(c, "agent-1", NOW + 60)
    assert err.value.rule == "dnc.campaign"
    await store.dnc.remove([NY])
    late = dt.datetime(2024, 6, 11, 1, 30, tzinfo=dt.UTC).timestamp()  # 21:30 New York
    with pytest.raises(ComplianceBlocked) as err:
        await store.accept(c, "agent-1", late)
    assert err.value.rule == "calling_hours" and "310.4(c)" in str(err.value)
    d = await store.accept(c, "agent-1", NOW + 120)
    assert d.state is RecordState.ACCEPTED


async def test_agent_field_edits(redis_client: aioredis.Redis, redis_prefix: str) -> None:
    from dialer.campaign.records import FieldDef, FieldKind

    policy = CampaignPolicy(fields=[FieldDef(name="balance", kind=FieldKind.NUMBER,
                                             editable=False),
                                    FieldDef(name="vip", kind=FieldKind.BOOLEAN)])
    store = RecordStore(redis_client, campaign="f", policy=policy, prefix=redis_prefix)
    r = Record(id="r1", numbers=[Phone(number=NY)],
               fields={"balance": 10, "vip": False, "extra": "x"})
    await store.import_records([r], now=NOW)
    c = await store.claim_next("n", now=NOW)
    assert c is not None
    shown = {f["name"]: f for f in store.agent_fields(c.record)}
    assert shown["balance"]["editable"] is False and shown["vip"]["editable"] is True
    assert shown["extra"]["editable"] is False and shown["extra"]["value"] == "x"
    for edits, where in (({"balance": 5}, "fields.balance"), ({"nope": 1}, "fields.nope"),
                         ({"vip": "maybe"}, "fields.vip"), ({"extra": "y"}, "fields.extra")):
        with pytest.raises(InputError) as err:
            await store.complete(c, "a", NOW + 1, "Sale", fields=edits)
        assert err.value.where == where
    d = await store.complete(c, "a", NOW + 1, "Sale", fields={"vip": "yes"})
    assert d.final == "Sale"
    got = await store.get("r1")
    assert got is not None and got[0].fields["vip"] is True and got[0].fields["balance"] == 10

"""8 claimers race over 10,000 records on real Redis: no double claim, caps hold.

Claimers are asyncio tasks, each with its own connection and RecordStore, so their
commands interleave at Redis. Some claimers "crash" (drop a claim without reporting);
the lease expires, the record goes back, and the crashed claimer's late report is
refused (StaleLease) and never counted.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random

import pytest
import redis.asyncio as aioredis

from dialer.campaign.policy import CampaignPolicy, RetryRule
from dialer.campaign.records import Phone, Record
from dialer.errors import StaleLease
from dialer.outcomes import Outcome
from dialer.store.records import Claim, RecordStore

NOW = dt.datetime(2024, 6, 10, 15, tzinfo=dt.UTC).timestamp()  # 11:00 New York
N_RECORDS = 10_000
CLAIMERS = 8

POLICY = CampaignPolicy(
    outcome_rules={
        "busy": RetryRule(delay_s=0, max_attempts=0),
        "no_answer": RetryRule(delay_s=0, max_attempts=0, next_number=True),
    },
    max_attempts_per_record=4,
    max_attempts_per_number=3,
    max_attempts_per_day=4,
    max_attempts_per_number_per_day=3,
)


class Clock:
    """A shared fake clock: every claim moves it on a little."""

    def __init__(self) -> None:
        self.t = NOW

    def tick(self) -> float:
        self.t += 0.002
        return self.t


@pytest.mark.slow
async def test_eight_claimers_no_double_claims(redis_url: str, redis_client: aioredis.Redis,
                                               redis_prefix: str) -> None:
    loader = RecordStore(redis_client, campaign="race", policy=POLICY, prefix=redis_prefix)
    records = [
        Record(id=f"r{i:05d}", numbers=[Phone(number=f"+1212555{i % 10000:04d}", order=0),
                                        Phone(number=f"+1415555{i % 10000:04d}", order=1)])
        for i in range(N_RECORDS)
    ]
    report = await loader.import_records(records, now=NOW)
    assert report.imported == N_RECORDS

    clock = Clock()
    held: dict[str, str] = {}  # record id -> claimer holding it right now
    violations: list[str] = []
    stale_reports = 0
    dropped: list[Claim] = []
    claims_total = 0

    async def claimer(name: str, seed: int) -> None:
        nonlocal stale_reports, claims_total
        rng = random.Random(seed)
        client = aioredis.Redis.from_url(redis_url)
        store = RecordStore(client, campaign="race", policy=POLICY, prefix=redis_prefix)
        idle = 0
        try:
            while idle < 50:
                claim = await store.claim_next(name, now=clock.tick(), lease_s=2.0)
                if claim is None:
                    # nothing due: done when nothing is left at all (a scan may also stop
                    # early after parking many records the gate refused)
                    if await store.exhausted(clock.t):
                        break
                    idle += 1
                    clock.t += 3.0  # let any dropped lease expire
                    await asyncio.sleep(0)
                    continue
                idle = 0
                claims_total += 1
                if claim.record_id in held:
                    violations.append(f"{claim.record_id}: {held[claim.record_id]} and {name}")
                held[claim.record_id] = name
                await asyncio.sleep(0)  # let the others run while we "dial"
                if rng.random() < 0.01:
                    dropped.append(claim)  # crash: never report; the lease will expire
                    del held[claim.record_id]
                    continue
                del held[claim.record_id]
                r = rng.random()
                outcome, disposition = (
                    (Outcome.ANSWERED, "Sale") if r < 0.3 else
                    (Outcome.BUSY, None) if r < 0.7 else
                    (Outcome.NO_ANSWER, None) if r < 0.9 else
                    (Outcome.INVALID_NUMBER, None)
                )
                try:
                    await store.report_attempt(claim, outcome, 200, now=clock.tick(),
                                               agent_id=name, disposition=disposition)
                except StaleLease:
                    # another claimer found nothing and moved the clock past our lease:
                    # the record went back (counted as a lost attempt); we must not count it
                    stale_reports += 1
                if dropped and rng.random() < 0.2:
                    late = dropped.pop()
                    try:
                        await store.report_attempt(late, Outcome.BUSY, 486, now=clock.tick())
                    except StaleLease:
                        stale_reports += 1
        finally:
            await client.aclose()

    await asyncio.gather(*(claimer(f"c{i}", i) for i in range(CLAIMERS)))
    for late in dropped:
        with pytest.raises(StaleLease):
            await loader.report_attempt(late, Outcome.BUSY, 486, now=clock.tick())
        stale_reports += 1

    assert violations == []
    assert claims_total >= N_RECORDS
    assert await loader.exhausted(clock.t), await loader.counts(clock.t)
    # caps never exceeded, and every attempt is counted once
    over = 0
    attempts = 0
    for rec in records[:: 7]:  # a sample: reading every history takes a while
        hist = await loader.history(rec.id)
        dials = [h for h in hist if h.kind in ("attempt", "lost")]
        attempts += len(dials)
        tokens = [h.token for h in dials]
        assert len(tokens) == len(set(tokens)), rec.id  # one attempt per claim token
        per_number = [sum(1 for h in dials if h.number_index in (i, -1)) for i in (0, 1)]
        if len(dials) > POLICY.max_attempts_per_record or max(per_number) > 3:
            over += 1
    assert over == 0
    assert attempts > 0
    stats = await loader.stats()
    assert stats["done"] == N_RECORDS

"""``scripts/bench-records``: the record store's figures against real Redis.

1. import of a generated 100,000-row CSV through ``RecordStore.import_csv``;
2. the store filled to 1,000,000 records (pipelined batches through the import script);
3. ``claim_next`` latency at that size (p50/p99 over 2,000 claims);
4. 8 claimer processes racing over 10,000 records; every claim takes a SET NX marker,
   so a second holder of a record would be seen, and every record is finalised, so
   ``claims - distinct records`` counts double claims too.

Uses its own key prefix (``bench-records:<pid>``) on DB 13 by default and deletes every
key it made. ``--json`` prints one object.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import datetime as dt
import gc
import json
import multiprocessing as mp
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis

from dialer.campaign.policy import CampaignPolicy
from dialer.campaign.records import Phone, Record
from dialer.compliance.numbers import number_info
from dialer.outcomes import Outcome
from dialer.store.records import RecordStore

# Mon 2024-06-10 18:00 UTC: 14:00 New York ... 08:00 Honolulu: every US zone is open.
NOW = dt.datetime(2024, 6, 10, 18, tzinfo=dt.UTC).timestamp()
AREAS = ["212", "718", "312", "303", "602", "213", "415", "808", "907", "305", "617", "206"]
ZONES = ["", "", "", "America/New_York", "America/Chicago", "America/Los_Angeles"]


def _number(i: int) -> str:
    area = AREAS[i % len(AREAS)]
    sub = i // len(AREAS)
    exchange = 200 + (sub // 10000) % 800
    return f"{area}{exchange:03d}{sub % 10000:04d}"


def write_csv(path: Path, rows: int, start: int = 0) -> None:
    rng = random.Random(5)
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "first_name", "last_name", "phone", "phone2", "phone3", "timezone",
                    "priority", "account", "notes"])
        for i in range(start, start + rows):
            n = _number(i)
            second = _number(i + 5_000_000) if i % 3 == 0 else ""
            w.writerow([f"c{i}", "Ann", f"Lee{i}", f"({n[:3]}) {n[3:6]}-{n[6:]}",
                        f"+1{second}" if second else "", "", ZONES[i % len(ZONES)],
                        rng.randint(0, 9), f"A-{i}", "imported by bench"])


def gen_records(start: int, count: int) -> Iterator[Record]:
    """Records as the CSV import makes them (zones found per area code, as phonenumbers
    would find them per number, without paying for it 900,000 times)."""
    zones: dict[str, tuple[str, tuple[str, ...]]] = {}
    for i in range(start, start + count):
        n = f"+1{_number(i)}"
        area = n[2:5]
        if area not in zones:
            zones[area] = number_info(n)
        country, z = zones[area]
        yield Record(id=f"c{i}", numbers=[Phone(number=n, country=country, zones=list(z))],
                     fields={"first_name": "Ann", "last_name": f"Lee{i}", "account": f"A-{i}"},
                     priority=i % 10)


async def delete_prefix(client: aioredis.Redis, prefix: str) -> int:
    removed, batch = 0, []
    async for key in client.scan_iter(match=f"{prefix}:*", count=10000):
        batch.append(key)
        if len(batch) >= 5000:
            removed += int(await client.unlink(*batch))
            batch = []
    if batch:
        removed += int(await client.unlink(*batch))
    return removed


def _race_worker(url: str, prefix: str, name: str, q: Any) -> None:
    async def run() -> tuple[int, list[str], int, float]:
        client = aioredis.Redis.from_url(url)
        store = RecordStore(client, campaign="race", policy=CampaignPolicy(), prefix=prefix)
        claimed: list[str] = []
        doubles = 0
        started = time.time()
        t0 = time.perf_counter()
        try:
            while True:
                now = NOW + (time.time() - started)
                claim = await store.claim_next(name, now=now, lease_s=120)
                if claim is None:
                    break
                marker = f"{prefix}:held:{claim.record_id}"
                if not await client.set(marker, name, nx=True):
                    doubles += 1
                claimed.append(claim.record_id)
                await client.delete(marker)
                await store.report_attempt(claim, Outcome.ANSWERED, 200, now=now,
                                           agent_id=name, disposition="Sale")
        finally:
            await client.aclose()
        return len(claimed), claimed, doubles, time.perf_counter() - t0

    q.put(asyncio.run(run()))


async def bench(url: str, import_rows: int, store_size: int, claims: int, race: int,
                claimers: int, log: Any) -> dict[str, Any]:
    prefix = f"bench-records:{os.getpid()}"
    client = aioredis.Redis.from_url(url)
    out: dict[str, Any] = {}
    try:
        await client.ping()
        store = RecordStore(client, campaign="bench", policy=CampaignPolicy(), prefix=prefix)
        mem0 = int((await client.info("memory"))["used_memory"])
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "bench.csv"
            write_csv(path, import_rows)
            log(f"importing {import_rows:,} CSV rows ...")
            t0 = time.perf_counter()
            report = await store.import_csv(path, region="US", now=NOW)
            import_s = time.perf_counter() - t0
        assert report.imported == import_rows, report.errors[:5]
        out["import_rows_per_s"] = round(import_rows / import_s)
        out["import_s"] = round(import_s, 2)
        fill = max(0, store_size - import_rows)
        log(f"filling the store with {fill:,} more records ...")
        t0 = time.perf_counter()
        await store.import_records(gen_records(import_rows, fill), now=NOW, batch=2000)
        fill_s = time.perf_counter() - t0
        out["fill_rows_per_s"] = round(fill / fill_s) if fill else 0
        counts = await store.counts(NOW)
        out["records_in_store"] = counts["pending"]
        mem1 = int((await client.info("memory"))["used_memory"])
        out["redis_bytes_per_record"] = round((mem1 - mem0) / max(counts["pending"], 1))
        log(f"timing {claims:,} claims at {counts['pending']:,} records ...")
        times, pings = [], []
        gc.collect()  # measure the store, not a collection of the fill's garbage
        out["load_avg_1m"] = round(os.getloadavg()[0], 2)
        for i in range(claims):
            # a PING just before each claim: the machine's own round-trip noise, for scale
            t0 = time.perf_counter()
            await client.ping()
            pings.append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            claim = await store.claim_next("bench", now=NOW + i * 0.01, lease_s=60)
            times.append((time.perf_counter() - t0) * 1000)
            assert claim is not None
            await store.report_attempt(claim, Outcome.BUSY, 486, now=NOW + i * 0.01)
        times.sort()
        out["next_record_ms_p50"] = round(statistics.median(times), 3)
        out["next_record_ms_p99"] = round(times[int(len(times) * 0.99) - 1], 3)
        pings.sort()
        out["redis_ping_ms_p50"] = round(statistics.median(pings), 3)
        out["redis_ping_ms_p99"] = round(pings[int(len(pings) * 0.99) - 1], 3)
        log(f"racing {claimers} claimer processes over {race:,} records ...")
        racer = RecordStore(client, campaign="race", policy=CampaignPolicy(), prefix=prefix)
        await racer.import_records(gen_records(0, race), now=NOW)
        ctx = mp.get_context("spawn")
        q = ctx.Queue()
        procs = [ctx.Process(target=_race_worker, args=(url, prefix, f"c{i}", q))
                 for i in range(claimers)]
        for p in procs:
            p.start()
        results = [q.get(timeout=600) for _ in procs]
        for p in procs:
            p.join(timeout=60)
        race_s = max(r[3] for r in results)  # from each claimer's first claim to its last
        total = sum(r[0] for r in results)
        ids = [rid for r in results for rid in r[1]]
        out["claimers"] = claimers
        out["claims"] = total
        out["double_claims"] = sum(r[2] for r in results) + (len(ids) - len(set(ids)))
        out["race_records"] = race
        out["race_unclaimed"] = race - len(set(ids))
        out["race_claims_per_s"] = round(total / race_s)
    finally:
        log("cleaning up ...")
        await delete_prefix(client, prefix)
        await client.aclose()
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="bench-records", description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL",
                                                          "redis://127.0.0.1:6379/13"))
    ap.add_argument("--import-rows", type=int, default=100_000)
    ap.add_argument("--store-size", type=int, default=1_000_000)
    ap.add_argument("--claims", type=int, default=2_000)
    ap.add_argument("--race-records", type=int, default=10_000)
    ap.add_argument("--claimers", type=int, default=8)
    args = ap.parse_args(argv)

    def log(msg: str) -> None:
        print(f"[bench-records] {msg}", file=sys.stderr, flush=True)

    out = asyncio.run(bench(args.redis_url, args.import_rows, args.store_size, args.claims,
                            args.race_records, args.claimers, log))
    if args.json:
        print(json.dumps(out))
    else:
        for k, v in out.items():
            print(f"{k:>24}: {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The record store the daemon and the agent API use (one instance per campaign).

::

    store = RecordStore(redis, campaign="demo", policy=CampaignPolicy(), prefix="dialer")
    report = await store.import_csv("list.csv", region="US")
    claim = await store.claim_next(claimer="node-1", now=time.time(), lease_s=60)
    await store.report_attempt(claim, Outcome.BUSY, 486, now=time.time())

Claims, leases and reports live in :mod:`dialer.store.core`, agent actions in
:mod:`dialer.store.actions`; this module adds imports and the DNC lists.
"""

from __future__ import annotations

import csv
import io
import os
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import msgspec

from dialer.campaign.records import Record
from dialer.errors import InputError
from dialer.store.actions import AgentActions
from dialer.store.core import (
    TIER_NORMAL,
    Blocked,
    Claim,
    DncLookup,
    HasLease,
    LeaseRef,
    _s,
    rank,
)
from dialer.store.csvimport import RowParser
from dialer.store.dnc import DncList

__all__ = [
    "Blocked",
    "Claim",
    "DncLookup",
    "HasLease",
    "ImportReport",
    "LeaseRef",
    "RecordStore",
]

Progress = Callable[[int, int, int], None]
"""progress(rows_done, bytes_done, bytes_total) during an import."""

_enc = msgspec.json.Encoder()


class ImportReport(msgspec.Struct, kw_only=True):
    imported: int = 0
    errors: list[tuple[int, str]] = []  # (line number, reason) of every rejected row
    warnings: list[tuple[int, str]] = []  # (line number, note) of rows imported with a change
    rows: int = 0
    seconds: float = 0.0

    @property
    def rejected(self) -> int:
        return len(self.errors)


class RecordStore(AgentActions):
    """Records of one campaign in Redis: import, claim, report, agent actions, DNC."""

    @property
    def dnc(self) -> DncList:
        """The campaign's do-not-call list."""
        return DncList(self.redis, self.keys.dnc)

    @property
    def global_dnc(self) -> DncList:
        """The global internal do-not-call list (shared by every campaign of this prefix)."""
        return DncList(self.redis, self.keys.global_dnc)

    async def import_csv(
        self,
        path: str | os.PathLike[str],
        mapping: dict[str, str] | None = None,
        region: str | None = None,
        progress: Progress | None = None,
        *,
        now: float | None = None,
        batch: int = 1000,
    ) -> ImportReport:
        """Import a CSV calling list. Bad rows are reported, the rest imported.

        Raises InputError for problems with the file as a whole (unreadable, no header,
        a mapping naming an unknown column or field). Records already stored are never
        overwritten: a row with a stored id is reported as an error.
        """
        p = Path(path)
        try:
            total = p.stat().st_size
            fh = p.open("r", encoding="utf-8-sig", newline="")
        except OSError as exc:
            raise InputError(str(p), f"cannot read: {exc.strerror}") from None
        with fh:
            return await self.import_text(fh, mapping=mapping, region=region, progress=progress,
                                          now=now, batch=batch, total_bytes=total,
                                          id_prefix=f"{p.stem}-")

    async def import_text(
        self,
        fh: Iterable[str] | io.TextIOBase,
        mapping: dict[str, str] | None = None,
        region: str | None = None,
        progress: Progress | None = None,
        *,
        now: float | None = None,
        batch: int = 1000,
        total_bytes: int = 0,
        id_prefix: str = "row-",
    ) -> ImportReport:
        started = time.perf_counter()
        t = time.time() if now is None else now
        report = ImportReport()
        consumed = [0]

        def lines() -> Iterable[str]:
            for line in fh:
                consumed[0] += len(line)
                yield line

        reader = csv.reader(lines())
        try:
            header = next(reader)
        except StopIteration:
            raise InputError("header", "the file is empty") from None
        except csv.Error as exc:
            raise InputError("line 1", f"malformed CSV header: {exc}") from None
        parser = RowParser(header, mapping, self.policy, (region or self.policy.region).upper(),
                           id_prefix)
        pending: list[tuple[int, Record]] = []
        seen: set[str] = set()
        while True:
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                report.rows += 1
                report.errors.append((reader.line_num, f"malformed CSV: {exc}"))
                continue
            line = reader.line_num
            if not row or all(not c.strip() for c in row):
                continue
            report.rows += 1
            try:
                record, warnings = parser.parse(row, line)
            except ValueError as exc:
                report.errors.append((line, str(exc)))
                continue
            if record.id in seen:
                report.errors.append((line, f"id: duplicate id {record.id!r} in this file"))
                continue
            seen.add(record.id)
            report.warnings += [(line, w) for w in warnings]
            pending.append((line, record))
            if len(pending) >= batch:
                await self._store_batch(pending, t, report)
                pending = []
                if progress is not None:
                    progress(report.rows, consumed[0], total_bytes)
        if pending:
            await self._store_batch(pending, t, report)
        if progress is not None:
            progress(report.rows, consumed[0], total_bytes)
        report.errors.sort()
        report.seconds = time.perf_counter() - started
        return report

    async def import_records(
        self, records: Iterable[Record], now: float | None = None, batch: int = 1000
    ) -> ImportReport:
        """Store already-validated records (tests, benchmarks, other importers)."""
        t = time.time() if now is None else now
        report = ImportReport()
        pending: list[tuple[int, Record]] = []
        for i, r in enumerate(records, start=1):
            report.rows += 1
            pending.append((i, r))
            if len(pending) >= batch:
                await self._store_batch(pending, t, report)
                pending = []
        if pending:
            await self._store_batch(pending, t, report)
        return report

    async def _store_batch(
        self, items: list[tuple[int, Record]], now: float, report: ImportReport
    ) -> None:
        k = self.keys
        args: list[str | int | float] = [k.rec_prefix, repr(now), len(items)]
        for _, r in items:
            args += [r.id, _enc.encode(r).decode(), ",".join(p.number for p in r.numbers),
                     rank(TIER_NORMAL, r.priority, now), repr(now)]
        dups = {_s(x) for x in await self._import(keys=[k.ready, k.sched, k.stats], args=args)}
        for line, r in items:
            if r.id in dups:
                report.errors.append((line, f"id: record {r.id!r} is already stored (kept as is)"))
            else:
                report.imported += 1

    async def delete_all(self) -> int:
        """Remove every key of this campaign (tests, benchmarks). Returns keys removed."""
        removed = 0
        async for key in self.redis.scan_iter(match=self.keys.base + ":*", count=5000):
            removed += int(await self.redis.unlink(key))
        return removed

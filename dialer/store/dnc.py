"""Do-not-call lists in Redis: a global internal list and one per campaign.

Numbers are stored as E.164 in a set, so the claim script checks them atomically
with the claim. Import from a file (one number per line, or a CSV whose first column
is the number); bad lines are reported by line number, the rest are added.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable
from pathlib import Path

import redis.asyncio as aioredis

from dialer.compliance.numbers import normalize
from dialer.errors import InputError


def _normalize_all(numbers: Iterable[str], region: str) -> list[str]:
    """E.164 of every number; InputError("number", ...) for the first bad one."""
    e164 = []
    for n in numbers:
        try:
            e164.append(normalize(n, region))
        except ValueError as exc:
            raise InputError("number", str(exc)) from None
    return e164


class DncList:
    def __init__(self, redis: aioredis.Redis, key: str) -> None:
        self.redis = redis
        self.key = key

    async def add(self, numbers: Iterable[str], region: str = "US") -> int:
        """Add numbers (any format); returns how many were new. InputError names a bad one."""
        e164 = _normalize_all(numbers, region)
        return int(await self.redis.sadd(self.key, *e164)) if e164 else 0

    async def remove(self, numbers: Iterable[str], region: str = "US") -> int:
        e164 = _normalize_all(numbers, region)
        return int(await self.redis.srem(self.key, *e164)) if e164 else 0

    async def contains(self, number: str, region: str = "US") -> bool:
        try:
            e164 = normalize(number, region)
        except ValueError:
            return False
        return bool(await self.redis.sismember(self.key, e164))

    async def size(self) -> int:
        return int(await self.redis.scard(self.key))

    async def members(self) -> set[str]:
        raw = await self.redis.smembers(self.key)
        return {x.decode() if isinstance(x, bytes) else str(x) for x in raw}

    async def import_file(
        self, path: str | os.PathLike[str], region: str = "US", batch: int = 5000
    ) -> tuple[int, list[tuple[int, str]]]:
        """Add every number in the file; returns (added, [(line, reason), ...])."""
        p = Path(path)
        errors: list[tuple[int, str]] = []
        added = 0
        chunk: list[str] = []
        try:
            fh = p.open("r", encoding="utf-8-sig", newline="")
        except OSError as exc:
            raise InputError(str(p), f"cannot read: {exc.strerror}") from None
        with fh:
            reader = csv.reader(fh)
            for row in reader:
                if not row or not row[0].strip() or row[0].strip().startswith("#"):
                    continue
                cell = row[0].strip()
                if reader.line_num == 1 and not any(c.isdigit() for c in cell):
                    continue  # a header
                try:
                    chunk.append(normalize(cell, region))
                except ValueError as exc:
                    errors.append((reader.line_num, str(exc)))
                    continue
                if len(chunk) >= batch:
                    added += int(await self.redis.sadd(self.key, *chunk))
                    chunk = []
        if chunk:
            added += int(await self.redis.sadd(self.key, *chunk))
        return added, errors

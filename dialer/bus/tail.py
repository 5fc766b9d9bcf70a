"""``dialer events tail``: follow the event stream live (like ``tail -f``).

    dialer events tail [--redis-url URL] [--stream KEY] [--from-start] [--type CallEnded,...] [--count N]

Prints one JSON document per line, so the output pipes into ``jq``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

import redis.asyncio as aioredis

from dialer.bus.publisher import decode_event


async def tail(
    url: str, stream: str, *, from_start: bool, types: set[str], count: int | None
) -> int:
    client = aioredis.from_url(url)
    try:
        await client.ping()
    except (aioredis.ConnectionError, OSError) as exc:
        print(f"dialer events: cannot reach Redis at {url}: {exc}", file=sys.stderr)
        return 1
    last = "0-0" if from_start else "$"
    seen = 0
    try:
        while count is None or seen < count:
            reply = await client.xread({stream: last}, block=1000, count=500)
            for _key, entries in reply or []:
                for entry_id, fields in entries:
                    last = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
                    ev_type = fields.get(b"type", b"").decode()
                    if types and ev_type not in types:
                        continue
                    raw = fields.get(b"event", b"{}")
                    decode_event(raw)  # validates it is JSON before printing
                    sys.stdout.write(raw.decode() + "\n")
                    seen += 1
                    if count is not None and seen >= count:
                        break
            sys.stdout.flush()
    finally:
        await client.aclose()
    return 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="dialer events", description=__doc__)
    sub = parser.add_subparsers(dest="action", required=True)
    t = sub.add_parser("tail", help="follow the event stream")
    t.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    t.add_argument("--stream", default="dialer:events")
    t.add_argument("--from-start", action="store_true", help="print the whole stream first")
    t.add_argument("--type", default="", help="comma-separated event types to show")
    t.add_argument("--count", type=int, default=None, help="stop after N events")
    args = parser.parse_args(argv)
    types = {x for x in args.type.split(",") if x}
    try:
        return asyncio.run(
            tail(args.redis_url, args.stream, from_start=args.from_start, types=types, count=args.count)
        )
    except KeyboardInterrupt:
        return 0

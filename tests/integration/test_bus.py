"""The event bus against real Redis: order, encoding, batching, tail, and a Redis blip."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import redis.asyncio as aioredis

from dialer import events as ev
from dialer.bus.publisher import EventBus, decode_event


async def test_publishes_in_order_as_json(redis_client: aioredis.Redis, redis_prefix: str) -> None:
    stream = f"{redis_prefix}:events"
    bus = EventBus(redis_client, stream, batch=7)
    bus.start()
    for i in range(50):
        bus.publish(ev.CallRinging(at=float(i), call_id=f"c{i}", campaign="x", sip_code=180))
    await bus.close()
    entries = await redis_client.xrange(stream)
    assert len(entries) == 50 and bus.published == 50
    decoded = [decode_event(f[b"event"]) for _i, f in entries]
    assert [d["call_id"] for d in decoded] == [f"c{i}" for i in range(50)]
    assert all(f[b"type"] == b"CallRinging" for _i, f in entries)
    assert decoded[3] == {"type": "CallRinging", "at": 3.0, "call_id": "c3", "campaign": "x", "sip_code": 180}


async def test_events_tail_prints_json_lines(redis_url: str, redis_client: aioredis.Redis, redis_prefix: str) -> None:
    stream = f"{redis_prefix}:events"
    bus = EventBus(redis_client, stream)
    bus.start()
    bus.publish(ev.CampaignStarted(at=1.0, campaign="sales", mode="progressive"))
    bus.publish(ev.CampaignStopped(at=2.0, campaign="sales", reason="operator"))
    await bus.close()
    out = subprocess.run(
        [sys.executable, "-m", "dialer.cli", "events", "tail", "--redis-url", redis_url, "--stream", stream,
         "--from-start", "--count", "2"],
        capture_output=True, text=True, timeout=30,
    )
    assert out.returncode == 0, out.stderr
    lines = [decode_event(line) for line in out.stdout.splitlines()]
    assert [x["type"] for x in lines] == ["CampaignStarted", "CampaignStopped"]


async def test_events_survive_a_redis_outage(redis_url: str, redis_prefix: str) -> None:
    """Queued events are written once Redis answers again; none is lost."""
    stream = f"{redis_prefix}:events"
    real = aioredis.from_url(redis_url)
    broken = aioredis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    bus = EventBus(broken, stream)
    bus.start()
    try:
        for i in range(5):
            bus.publish(ev.CallRinging(at=float(i), call_id=f"c{i}", campaign="x", sip_code=180))
        await asyncio.sleep(0.5)
        assert bus.published == 0
        bus._redis = real  # Redis is back (same effect as a reconnect)
        await bus.close(timeout_s=10)
        assert bus.published == 5
        assert await real.xlen(stream) == 5
    finally:
        await real.delete(stream)
        await real.aclose()
        await broken.aclose()

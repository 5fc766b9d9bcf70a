"""Publishes events to a Redis Stream as msgspec JSON (docs/events.md).

Each stream entry has two fields: ``type`` (the event class, for cheap
filtering with XREAD consumers that don't parse JSON) and ``event`` (the
JSON document itself, which also carries ``type``).

Publishing must never stall a call: events are queued in memory and written
in pipelined batches by one task. If Redis goes away the queue keeps filling
(bounded) and the writer retries, so a Redis blip loses no event unless the
bound is hit, which is logged with the count dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import msgspec
import redis.asyncio as aioredis
import structlog

from dialer.events import Event

_decoder = msgspec.json.Decoder(dict[str, Any])


def entry_fields(event: Event) -> dict[str, bytes | str]:
    """The two fields of a stream entry: ``type`` and the JSON ``event``."""
    return {"type": type(event).__name__, "event": msgspec.json.encode(event)}


async def publish_once(client: aioredis.Redis, stream: str, event: Event, maxlen: int = 1_000_000) -> None:
    """Publish one event directly (for short-lived commands such as ``dialer import``)."""
    await client.xadd(stream, entry_fields(event), maxlen=maxlen, approximate=True)


def decode_event(raw: bytes | str) -> dict[str, Any]:
    """Decode one published event into a plain dict (consumers need no dialer types)."""
    return _decoder.decode(raw)


class EventBus:
    """Queue + background writer for one Redis Stream."""

    def __init__(
        self,
        client: aioredis.Redis,
        stream: str = "dialer:events",
        *,
        maxlen: int = 1_000_000,
        queue_limit: int = 100_000,
        batch: int = 500,
    ) -> None:
        self._redis = client
        self.stream = stream
        self._maxlen = maxlen
        self._batch = batch
        self._queue: asyncio.Queue[Event] = asyncio.Queue(maxsize=queue_limit)
        self._task: asyncio.Task[None] | None = None
        self._log = structlog.get_logger("dialer.bus").bind(stream=stream)
        self.published = 0
        self.dropped = 0
        self._in_flight = 0  # taken off the queue, not yet written

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._writer(), name="event-bus-writer")

    def publish(self, event: Event) -> None:
        """Queue an event; never blocks and never raises into the caller."""
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 1000 == 0:
                self._log.error("event_queue_full", dropped=self.dropped)

    async def _write(self, events: list[Event]) -> None:
        pipe = self._redis.pipeline(transaction=False)
        for ev in events:
            pipe.xadd(self.stream, entry_fields(ev), maxlen=self._maxlen, approximate=True)
        await pipe.execute()

    async def _writer(self) -> None:
        backoff = 0.1
        while True:
            events = [await self._queue.get()]
            while len(events) < self._batch and not self._queue.empty():
                events.append(self._queue.get_nowait())
            self._in_flight = len(events)
            while True:
                try:
                    await self._write(events)
                    self.published += len(events)
                    self._in_flight = 0
                    backoff = 0.1
                    break
                except (aioredis.ConnectionError, aioredis.TimeoutError, OSError) as exc:
                    self._log.warning("redis_unavailable", error=str(exc), retry_in_s=backoff)
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, 5.0)

    @property
    def pending(self) -> int:
        """Events accepted but not yet on Redis."""
        return self._queue.qsize() + self._in_flight

    async def flush(self, timeout_s: float = 5.0) -> None:
        """Wait until everything queued so far is written (or the timeout passes)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while self.pending and loop.time() < deadline:
            await asyncio.sleep(0.01)

    async def close(self, timeout_s: float = 5.0) -> None:
        await self.flush(timeout_s)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self.pending:
            self._log.error("events_unwritten_at_close", count=self.pending)

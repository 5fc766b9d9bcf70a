"""Customer audio, 20 ms at a time, to whoever wants it (answering-machine detection).

The PJSIP thread owns one *tap* per answered call that was placed with a
``frame_consumer``. A FramePort (our pjsua2 addition, scripts/pjsip/) sits in the
conference bridge, receives the call's audio on the bridge clock thread and keeps
it in a small C++ ring buffer; the PJSIP thread drains every tap between event
polls (``FramePort.read()``: one memcpy, no GIL taken by the clock thread) and
feeds the consumer frame by frame. Pulling instead of a per-frame Python callback
keeps the bridge clock - which drives *every* call's audio - from ever waiting
for the GIL. docs/sip.md has the measured costs.

This module is pure apart from ``time.perf_counter_ns`` for the cost counters.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol, runtime_checkable

FRAME_MS = 20
FRAME_BYTES = 320  # 8 kHz * 20 ms * 16-bit mono


@runtime_checkable
class FrameConsumer(Protocol):
    """Receives a call's audio; AMD's ``AmdDetector`` is one.

    ``feed`` gets one 20 ms frame of signed 16-bit little-endian mono PCM at 8 kHz
    and ``now_ms``, the time since the answer in 20 ms steps (0, 20, 40, ...).
    Any non-None return value is posted as a ``FrameResult`` event. Once ``done``
    is true the edge stops feeding and returns the port to its pool.
    """

    done: bool

    def feed(self, pcm: bytes, now_ms: int) -> object | None: ...


class FrameTap:
    """Delivery state of one call's frames: position, counters, the consumer."""

    __slots__ = ("call_id", "consumer", "frames", "now_ms", "feed_ns", "errors", "closed")

    def __init__(self, call_id: str, consumer: FrameConsumer) -> None:
        self.call_id = call_id
        self.consumer = consumer
        self.frames = 0  # frames fed so far
        self.now_ms = 0  # now_ms of the next frame
        self.feed_ns = 0  # time spent inside consumer.feed
        self.errors = 0
        self.closed = False

    @property
    def done(self) -> bool:
        return self.closed or bool(getattr(self.consumer, "done", False))

    def deliver(self, chunk: bytes, on_result: Callable[[str, object], None]) -> int:
        """Feed every whole frame of ``chunk`` (N * 320 bytes) until the consumer is done.

        Returns the number of frames fed. A consumer that raises is closed (and the
        exception re-raised for the caller to log): one broken detector must not
        take the PJSIP thread down, nor get fed again.
        """
        consumer = self.consumer
        fed = 0
        t0 = time.perf_counter_ns()
        try:
            for offset in range(0, len(chunk) - FRAME_BYTES + 1, FRAME_BYTES):
                if self.closed or consumer.done:
                    break
                now_ms = self.now_ms
                self.now_ms = now_ms + FRAME_MS
                self.frames += 1
                fed += 1
                result = consumer.feed(chunk[offset : offset + FRAME_BYTES], now_ms)
                if result is not None:
                    on_result(self.call_id, result)
        except Exception:
            self.errors += 1
            self.closed = True
            raise
        finally:
            self.feed_ns += time.perf_counter_ns() - t0
        return fed

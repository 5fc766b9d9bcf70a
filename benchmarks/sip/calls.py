# SPDX-License-Identifier: GPL-2.0-or-later
"""Per-call records of the dialer phases: frame counting, call events, RTP counters."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from dialer.sip.events import CallConnected, CallFinished, SipEvent


class CountingConsumer:
    """A FrameConsumer that counts frames (and the bytes, to catch short frames)."""

    __slots__ = ("frames", "bytes", "done")

    def __init__(self) -> None:
        self.frames = 0
        self.bytes = 0
        self.done = False

    def feed(self, pcm: bytes, now_ms: int) -> None:
        self.frames += 1
        self.bytes += len(pcm)


@dataclass
class CallRec:
    consumer: CountingConsumer
    placed: float
    connected: float = 0.0
    finished: CallFinished | None = None
    hangup_at: float = 0.0


@dataclass
class Calls:
    """Every call the bench placed, by call id; fed by the edge's on_event."""

    by_id: dict[str, CallRec] = field(default_factory=dict)
    connected: int = 0
    finished: int = 0
    settled: int = 0  # calls that connected or ended without connecting
    on_connect: Callable[[str, CallRec], None] | None = None

    def __call__(self, event: SipEvent) -> None:
        if isinstance(event, CallConnected):
            rec = self.by_id.get(event.call_id)
            if rec is not None and not rec.connected:
                rec.connected = event.mono
                self.connected += 1
                self.settled += 1
                if self.on_connect is not None:
                    self.on_connect(event.call_id, rec)
        elif isinstance(event, CallFinished):
            rec = self.by_id.get(event.call_id)
            if rec is not None and rec.finished is None:
                rec.finished = event
                self.finished += 1
                if not rec.connected:
                    self.settled += 1


class RtpProbe:
    """Per-call RTP packet counters, read on the PJSIP thread.

    The edge has no public API for stream statistics, so the bench installs one extra
    command on its worker (``cmd_bench_rtp``: the worker runs ``cmd_<name>`` for a
    queued ``(name, *args)``). It only reads ``Call.getStreamStat(0)`` of live legs.
    """

    def __init__(self, edge: Any, loop: asyncio.AbstractEventLoop) -> None:
        self.worker = edge._worker  # noqa: SLF001 - a bench reads what the edge does not export
        self.loop = loop
        worker = self.worker

        def cmd_bench_rtp(reply: Callable[[dict[str, tuple[int, int]]], None]) -> None:
            out: dict[str, tuple[int, int]] = {}
            for call_id, leg in list(worker.customers.items()):
                if leg.call is None or leg.media is None:
                    continue
                try:
                    st = leg.call.getStreamStat(0)
                    out[call_id] = (int(st.rtcp.rxStat.pkt), int(st.rtcp.txStat.pkt))
                except Exception:  # noqa: BLE001 - a call ending right now
                    continue
            reply(out)

        worker.cmd_bench_rtp = cmd_bench_rtp

    async def read(self, timeout_s: float = 20.0) -> dict[str, tuple[int, int]]:
        fut: asyncio.Future[dict[str, tuple[int, int]]] = self.loop.create_future()

        def settle(out: dict[str, tuple[int, int]]) -> None:
            if not fut.done():
                fut.set_result(out)

        def reply(out: dict[str, tuple[int, int]]) -> None:  # on the PJSIP thread
            self.loop.call_soon_threadsafe(settle, out)

        self.worker.enqueue("bench_rtp", reply)
        return await asyncio.wait_for(fut, timeout_s)


def _pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    s = sorted(values)
    return s[min(len(s) - 1, int(q * (len(s) - 1) + 0.5))]

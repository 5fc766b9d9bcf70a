"""SipEdge: the asyncio-facing side of the SIP edge (docs/sip.md).

Every method here is thread-safe and non-blocking apart from ``start`` and
``stop``: it validates its arguments, puts a command on the PJSIP thread's
queue and returns. Results come back as :mod:`dialer.sip.events` records,
delivered on the event loop through ``on_event``.

    edge = SipEdge(cfg.sip, on_event)
    info = await edge.start()                 # {"capacity": 1024, "pjproject": "2.12", ...}
    edge.connect_agent("a1", "sip:agent1@127.0.0.1:5070")   # -> AgentLegUp
    edge.place_call("c1", "5551230", caller_id="+12125550100", frame_consumer=amd)
    ...                                       # -> CallProgress, CallConnected, FrameResult
    edge.bridge("c1", "a1")                   # -> Bridged
    ...                                       # -> CallFinished(outcome=ANSWERED, ...)
    await edge.stop()
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import structlog

from dialer.config import MIN_RING_TIMEOUT_S, SipSettings
from dialer.errors import SipFailure
from dialer.sip.events import CallFinished, SipEvent
from dialer.sip.frames import FrameConsumer
from dialer.sip.policy import effective_ring_timeout
from dialer.sip.worker import PjsipWorker, loop_poster


class SipEdge:
    """One PJSIP thread behind a command queue; see the module docstring."""

    def __init__(
        self,
        settings: SipSettings,
        on_event: Callable[[SipEvent], None],
        *,
        loop: asyncio.AbstractEventLoop | None = None,
        log: Any = None,
    ) -> None:
        self.settings = settings
        self._on_event = on_event
        self._loop = loop
        self._log = log if log is not None else structlog.get_logger("dialer.sip").bind(component="sip")
        self._worker: PjsipWorker | None = None
        self._info: dict[str, Any] = {}
        self._open_calls: set[str] = set()  # place_call'ed, CallFinished not yet delivered
        self._state = "new"  # new -> running -> stopped
        self._ring_floor_s = MIN_RING_TIMEOUT_S  # only _unsafe_set_min_ring_timeout lowers it

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> dict[str, Any]:
        """Start the PJSIP thread and the library; return the engine info with ``capacity``.

        Raises SipFailure (port taken, no pjsua2, ...) with a message a user can act on.
        """
        if self._state != "new":
            raise SipFailure(0, f"SipEdge cannot start from state {self._state!r}")
        loop = self._loop or asyncio.get_running_loop()
        self._loop = loop
        worker = PjsipWorker(self.settings, loop_poster(loop, self._deliver), self._log)
        started: asyncio.Future[dict[str, Any] | BaseException] = loop.create_future()

        def settle(result: dict[str, Any] | BaseException) -> None:
            if not started.done():
                started.set_result(result)

        def report(result: dict[str, Any] | BaseException) -> None:
            loop.call_soon_threadsafe(settle, result)

        self._worker = worker
        worker.start_thread(report)
        result = await started
        if isinstance(result, BaseException):
            self._state = "stopped"
            await asyncio.to_thread(_join, worker, 5.0)
            raise result
        self._info = result
        self._state = "running"
        return dict(result)

    async def stop(self, *, timeout_s: float = 5.0) -> None:
        """Hang up everything still up, wait up to ``timeout_s``, destroy the library, join."""
        worker = self._worker
        if worker is None or self._state != "running":
            self._state = "stopped"
            return
        self._state = "stopping"
        worker.refuse_new = True
        worker.enqueue("stop", timeout_s)
        await asyncio.to_thread(_join, worker, timeout_s + 10.0)
        # Let the events the thread posted on its way out reach on_event.
        await asyncio.sleep(0)
        self._state = "stopped"

    @property
    def running(self) -> bool:
        return self._state == "running"

    @property
    def info(self) -> dict[str, Any]:
        return dict(self._info)

    # ------------------------------------------------------------------ commands

    def place_call(
        self,
        call_id: str,
        number: str,
        *,
        caller_id: str = "",
        ring_timeout_s: float = 17.0,
        frame_consumer: FrameConsumer | None = None,
    ) -> None:
        """INVITE sip:NUMBER@trunk. Exactly one CallFinished follows, whatever happens.

        The ring timeout is never under 15 s (47 CFR 64.1200(a)(6)); when it passes
        we CANCEL and the outcome is no_answer. ``frame_consumer`` gets the
        customer's audio from the answer on (see dialer.sip.frames).
        """
        worker = self._running_worker()
        if call_id in self._open_calls:
            raise SipFailure(0, f"call id {call_id!r} is already in progress")
        self._open_calls.add(call_id)
        timeout = effective_ring_timeout(ring_timeout_s, self._ring_floor_s)
        worker.enqueue("place", call_id, str(number), caller_id, timeout, frame_consumer)

    def hangup(self, call_id: str, *, code: int = 0) -> None:
        """CANCEL a ringing call or BYE an answered one (unknown ids are ignored)."""
        self._running_worker().enqueue("hangup", call_id, int(code))

    def connect_agent(self, agent_id: str, uri: str) -> None:
        """Call the agent's softphone once; the leg stays up between customers (AgentLegUp)."""
        self._running_worker().enqueue("connect_agent", agent_id, uri)

    def disconnect_agent(self, agent_id: str) -> None:
        self._running_worker().enqueue("disconnect_agent", agent_id)

    def bridge(self, call_id: str, agent_id: str) -> None:
        """Customer <-> agent both ways; stops any prompt first (Bridged / BridgeFailed)."""
        self._running_worker().enqueue("bridge", call_id, agent_id)

    def unbridge(self, call_id: str) -> None:
        self._running_worker().enqueue("unbridge", call_id)

    def play(self, call_id: str, wav_path: str, *, hangup_after: bool = False) -> None:
        """Play a WAV once into the call (PlaybackFinished); hang up after it if asked."""
        self._running_worker().enqueue("play", call_id, str(wav_path), bool(hangup_after))

    def stats(self) -> dict[str, Any]:
        """Counters of the edge: active calls, agent legs, frames delivered and their cost."""
        if self._worker is None:
            return {"running": False}
        out = self._worker.snapshot()
        out["open_calls"] = len(self._open_calls)
        return out

    # ------------------------------------------------------------------ internals

    def _running_worker(self) -> PjsipWorker:
        if self._worker is None or self._state != "running":
            raise SipFailure(0, f"the SIP edge is not running (state {self._state})")
        return self._worker

    def _deliver(self, event: SipEvent) -> None:
        """On the event loop: bookkeeping, then the user's handler (which must not break us)."""
        if isinstance(event, CallFinished):
            self._open_calls.discard(event.call_id)
        try:
            self._on_event(event)
        except Exception:
            self._log.exception("sip.on_event_failed", event_type=type(event).__name__)

    def _unsafe_set_min_ring_timeout(self, seconds: float) -> None:
        """TEST HOOK ONLY: lower the 15 s ring-timeout floor of calls placed from now on.

        Integration tests use it to see a ring timeout in seconds rather than 15.
        Production code must never call it (47 CFR 64.1200(a)(6)).
        """
        self._ring_floor_s = float(seconds)


def _join(worker: PjsipWorker, timeout_s: float) -> None:
    if worker.thread is not None:
        worker.thread.join(timeout_s)

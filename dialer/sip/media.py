"""Audio on the PJSIP thread: keep-alive, frame taps, prompts, agent bridges.

Every connected call has exactly one kind of source in the conference bridge:
the agent it is bridged to, else a prompt being played, else the keep-alive
(slot 0, the null sound device's silence). With the null audio device a call
that nothing transmits to sends no RTP at all, and far ends (and NATs) hang up
on silence that is not there, so :meth:`refresh_sources` keeps that invariant
after every change.

Customer audio reaches frame consumers through pooled FramePorts: a FramePort
is created once, connected to a call's audio while its consumer wants frames,
then disconnected and kept for the next call. Ports are only closed at
shutdown, after the calls are gone (ARCHITECTURE.md: never delete a media
port while the bridge clock runs).
"""

from __future__ import annotations

import time
from typing import Any

from dialer.sip.base import WorkerBase
from dialer.sip.events import Bridged, BridgeFailed, FrameResult, PlaybackFinished
from dialer.sip.frames import FRAME_BYTES, FRAME_MS, FrameTap

TAP_BUFFER_FRAMES = 100  # 2 s of audio waits in C++ if the PJSIP thread is busy


def make_player_class(pj: Any, worker: Any) -> type:
    class EdgePlayer(pj.AudioMediaPlayer):  # type: ignore[misc, name-defined]
        def __init__(self, call_id: str) -> None:
            super().__init__()
            self.call_id = call_id

        def onEof2(self) -> None:  # noqa: N802 - pjsua2 name; runs on the bridge clock thread
            try:
                worker.enqueue("eof", self.call_id, self, time.monotonic())
            except Exception:  # noqa: BLE001 - never raise into the bridge
                pass

    return EdgePlayer


class MediaHandlers(WorkerBase):
    """Mixin of PjsipWorker: conference connections, taps, players."""

    def __init__(self) -> None:
        self.keep: Any = None  # AudioMedia of conference slot 0 (null device: silence)
        self.port_class: Any = None
        self.PlayerClass: Any = None
        self.taps: dict[str, tuple[FrameTap, Any, Any]] = {}  # call_id -> (tap, port, leg)
        self.port_pool: list[Any] = []
        self.ports_created = 0

    def setup_media(self) -> None:
        pj = self.pj
        self.keep = self.ep.audDevManager().getCaptureDevMedia()
        self.port_class = getattr(pj, "FramePort", None)
        self.PlayerClass = make_player_class(pj, self)
        if self.port_class is None:
            self.log.warning("sip.no_frame_port", detail="this pjsua2 has no FramePort: frame consumers get nothing")

    # ------------------------------------------------------------------ sources

    def refresh_sources(self, leg: Any) -> None:
        """Keep-alive on iff nothing else transmits to the call."""
        if leg.media is None:
            leg.keepalive = False
            return
        want = leg.peer is None and leg.player is None
        if want and not leg.keepalive:
            self.keep.startTransmit(leg.media)
            leg.keepalive = True
        elif not want and leg.keepalive:
            _quiet(self.keep.stopTransmit, leg.media)
            leg.keepalive = False

    def on_media_state(self, call: Any) -> None:
        pj = self.pj
        leg = call.leg
        if leg.finished:
            return
        media = None
        info = call.getInfo()  # keep it alive: SWIG's vector items point into it
        for mi in info.media:
            if mi.type == pj.PJMEDIA_TYPE_AUDIO and mi.status in (
                pj.PJSUA_CALL_MEDIA_ACTIVE, pj.PJSUA_CALL_MEDIA_REMOTE_HOLD,
            ):
                media = call.getAudioMedia(mi.index)
                break
        if media is None:
            leg.media = None
            leg.keepalive = False
            return
        leg.media = media
        leg.keepalive = False  # a new conference slot starts with no connections
        self.refresh_sources(leg)
        if leg.player is not None:
            leg.player.startTransmit(media)
        if leg.peer is not None:
            other = self.agents.get(leg.peer) if leg.kind == "customer" else self.customers.get(leg.peer)
            if other is not None and other.media is not None:
                media.startTransmit(other.media)
                other.media.startTransmit(media)
        self.maybe_tap(leg)

    def maybe_tap(self, leg: Any) -> None:
        """Start feeding the consumer once the call is answered *and* has audio.

        Early media (183 with SDP: ringback, announcements) is not the customer:
        frames, and ``now_ms``, start at the answer.
        """
        if (
            leg.kind == "customer" and leg.answered and leg.media is not None
            and leg.consumer is not None and leg.key not in self.taps
        ):
            self._attach_tap(leg)

    # ------------------------------------------------------------------ frames

    def _attach_tap(self, leg: Any) -> None:
        if self.port_class is None:
            return
        if self.port_pool:
            port = self.port_pool.pop()
            port.clearBuffer()
        else:
            port = self.port_class()
            port.createPort(TAP_BUFFER_FRAMES, False, 8000, FRAME_MS)
            self.ports_created += 1
        leg.media.startTransmit(port)
        self.taps[leg.key] = (FrameTap(leg.key, leg.consumer), port, leg)

    def _detach_tap(self, call_id: str, *, drain: bool) -> None:
        entry = self.taps.pop(call_id, None)
        if entry is None:
            return
        tap, port, leg = entry
        if drain and not tap.done:
            self._deliver(tap, port)
        if leg.media is not None and not leg.finished:  # ended: pjsua already freed the call's slot
            _quiet(leg.media.stopTransmit, port)
        self.counters["frames_dropped"] += int(port.droppedFrames())
        port.clearBuffer()
        self.port_pool.append(port)

    def pump_frames(self) -> None:
        """Drain every tap's FramePort and feed its consumer (every PUMP_INTERVAL_S)."""
        if not self.taps:
            return
        t0 = time.perf_counter_ns()
        finished = []
        for call_id, (tap, port, _leg) in list(self.taps.items()):
            self._deliver(tap, port)
            if tap.done:
                finished.append(call_id)
        for call_id in finished:
            self._detach_tap(call_id, drain=False)
        self.counters["pump_ns"] += time.perf_counter_ns() - t0
        self.counters["pump_runs"] += 1

    def _deliver(self, tap: FrameTap, port: Any) -> None:
        data = port.read()
        if len(data) < FRAME_BYTES:
            return
        before_ns = tap.feed_ns
        try:
            fed = tap.deliver(data, self._frame_result)
        except Exception:
            fed = 0
            self.log.exception("sip.frame_consumer_failed", call_id=tap.call_id)
        self.counters["frames_delivered"] += fed
        self.counters["feed_ns"] += tap.feed_ns - before_ns

    def _frame_result(self, call_id: str, value: object) -> None:
        self.counters["frame_results"] += 1
        self.emit(FrameResult(call_id=call_id, value=value, mono=time.monotonic()))

    # ------------------------------------------------------------------ bridge

    def cmd_bridge(self, call_id: str, agent_id: str) -> None:
        mono = time.monotonic()
        customer, agent = self.customers.get(call_id), self.agents.get(agent_id)
        problem = ""
        if customer is None or customer.media is None:
            problem = "call is not connected"
        elif agent is None or agent.media is None or not agent.answered:
            problem = "agent leg is not up"
        if problem or customer is None or agent is None:
            self.emit(BridgeFailed(call_id=call_id, agent_id=agent_id, reason=problem, mono=mono))
            return
        if customer.player is not None:  # the agent takes over from any prompt
            self._stop_player(customer, ok=False, reason="bridged to an agent")
        if agent.peer not in (None, call_id):
            self.cmd_unbridge(agent.peer)
        if customer.peer not in (None, agent_id):
            self.cmd_unbridge(call_id)
        customer.media.startTransmit(agent.media)
        agent.media.startTransmit(customer.media)
        customer.peer, agent.peer = agent_id, call_id
        self.refresh_sources(customer)
        self.refresh_sources(agent)
        self.emit(Bridged(call_id=call_id, agent_id=agent_id, mono=time.monotonic()))

    def cmd_unbridge(self, call_id: str) -> None:
        customer = self.customers.get(call_id)
        if customer is None or customer.peer is None:
            return
        agent = self.agents.get(customer.peer)
        customer.peer = None
        if agent is not None:
            agent.peer = None
            if agent.media is not None and customer.media is not None:
                _quiet(customer.media.stopTransmit, agent.media)
                _quiet(agent.media.stopTransmit, customer.media)
            self.refresh_sources(agent)
        self.refresh_sources(customer)

    # ------------------------------------------------------------------ prompts

    def cmd_play(self, call_id: str, wav_path: str, hangup_after: bool) -> None:
        pj = self.pj
        leg = self.customers.get(call_id)
        if leg is None or leg.media is None:
            self.emit(PlaybackFinished(call_id=call_id, ok=False, reason="call is not connected", mono=time.monotonic()))
            if leg is not None and hangup_after:
                self._hangup(leg, 0)
            return
        if leg.player is not None:
            self._stop_player(leg, ok=False, reason="replaced by another prompt")
        player = self.PlayerClass(call_id)
        try:
            player.createPlayer(wav_path, pj.PJMEDIA_FILE_NO_LOOP)
        except pj.Error as exc:
            self.log.error("sip.prompt_failed", call_id=call_id, path=wav_path, reason=exc.reason)
            self.emit(PlaybackFinished(call_id=call_id, ok=False, reason=exc.reason, mono=time.monotonic()))
            if hangup_after:
                self._hangup(leg, 0)
            return
        leg.player, leg.hangup_after = player, hangup_after
        player.startTransmit(leg.media)
        self.refresh_sources(leg)

    def cmd_eof(self, call_id: str, player: Any, mono: float) -> None:
        """A player reached its end (queued from the bridge clock thread)."""
        leg = self.customers.get(call_id)
        if leg is None or leg.player is not player:
            return  # stopped or replaced meanwhile; its event was sent then
        hangup_after = leg.hangup_after
        self._stop_player(leg, ok=True, mono=mono)
        if hangup_after:
            self._hangup(leg, 0)

    def _stop_player(self, leg: Any, *, ok: bool, reason: str = "", mono: float = 0.0) -> None:
        player, leg.player, leg.hangup_after = leg.player, None, False
        if player is None:
            return
        if leg.media is not None:
            _quiet(player.stopTransmit, leg.media)
        self.refresh_sources(leg)
        self.emit(PlaybackFinished(call_id=leg.key, ok=ok, reason=reason, mono=mono or time.monotonic()))
        # dropping `player` destroys it: pjsua removes its port under the bridge mutex

    # ------------------------------------------------------------------ endings

    def release_media(self, leg: Any) -> None:
        """A leg ended: feed the last frames, free the tap, stop prompts, free the peer."""
        if leg.kind == "customer":
            self._detach_tap(leg.key, drain=True)
            if leg.player is not None and leg.media is not None:
                _quiet(leg.player.stopTransmit, leg.media)
            # The call's conference port is going away: nothing may be connected
            # to it again (refresh_sources would try the keep-alive source and
            # pjsua refuses with PJ_EINVAL).
            leg.media = None
            if leg.player is not None:
                self._stop_player(leg, ok=False, reason="call ended")
            peers = self.agents
        else:
            peers = self.customers
        if leg.peer is not None:
            other = peers.get(leg.peer)
            leg.peer = None
            if other is not None:
                other.peer = None
                self.refresh_sources(other)
        leg.media = None
        leg.keepalive = False

    def teardown_media(self) -> None:
        for call_id in list(self.taps):
            self._detach_tap(call_id, drain=False)
        for port in self.port_pool:
            _quiet(port.close)
        self.port_pool.clear()
        self.keep = None

    def media_counts(self) -> dict[str, int]:
        return {
            "taps_active": len(self.taps),
            "frame_ports": self.ports_created,
            "frame_ports_idle": len(self.port_pool),
        }


def _quiet(fn: Any, *args: Any) -> None:
    """Conference (dis)connections of a port that is already gone fail harmlessly."""
    try:
        fn(*args)
    except Exception:  # noqa: BLE001 - pj.Error: the slot was removed with its call
        pass

"""The PJSIP thread: owns the Endpoint and every pjsua2 object (ARCHITECTURE.md habit 5).

Nothing outside this thread calls pjsua2. The asyncio side puts commands on
``self.commands`` (a thread-safe queue); the thread drains it between
``libHandleEvents(POLL_MS)`` polls, fires its own timers (ring timeouts), pulls
customer audio out of the FramePorts and feeds the frame consumers. PJSIP
callbacks copy plain values into :mod:`dialer.sip.events` records and hand them to
the event loop with ``loop.call_soon_threadsafe``.

The SIP work happens on this thread only (``uaConfig.threadCnt = 0``); RTP has
its own ioqueue and one pjmedia worker thread (``medConfig.hasIoqueue``), and the
conference bridge clock runs on the null sound device's thread. Callbacks from
those threads (a player's end of file) only enqueue work for this one.

Call handling lives in :mod:`dialer.sip.legs`, media in :mod:`dialer.sip.media`;
this module is the thread, its loop, start-up and shutdown.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import queue
import resource
import threading
import time
from collections.abc import Callable
from typing import Any

from dialer import __version__
from dialer.config import SipSettings
from dialer.errors import SipFailure
from dialer.sip.engine import engine_info, import_pjsua2
from dialer.sip.events import SipEvent
from dialer.sip.legs import LegHandlers
from dialer.sip.media import MediaHandlers

POLL_MS = 10  # libHandleEvents timeout: the worst-case latency of a command
# Commands run per poll: under a burst of place/hangup (each may wait for the conference
# bridge's tick), the SIP socket is still read between batches instead of overflowing.
COMMANDS_PER_POLL = 16
PUMP_INTERVAL_S = 0.02  # drain FramePorts at most this often (one frame)


class PjsipWorker(LegHandlers, MediaHandlers):
    """State and loop of the PJSIP thread. Only ``enqueue`` and ``snapshot`` are thread-safe."""

    def __init__(
        self,
        settings: SipSettings,
        post: Callable[[SipEvent], None],
        log: Any,
    ) -> None:
        self.settings = settings
        self.post = post  # thread-safe: hands an event to the asyncio side
        self.log = log
        self.commands: queue.SimpleQueue[tuple[Any, ...]] = queue.SimpleQueue()
        self.thread: threading.Thread | None = None
        # set by the thread
        self.pj: Any = None
        self.ep: Any = None
        self.info: dict[str, Any] = {}
        self.stopping = False
        # Set by SipEdge.stop() from the asyncio thread (a plain bool: atomic in
        # CPython) so that place commands still queued behind the stop command
        # end at once with a local 503 instead of being dialed first.
        self.refuse_new = False
        self.stop_deadline = 0.0
        self.exit_now = False
        self._timers: list[tuple[float, int, Callable[..., None], tuple[Any, ...]]] = []
        self._seq = itertools.count()
        self._last_pump = 0.0
        self.counters: dict[str, int] = dict.fromkeys(
            (
                "commands", "command_errors", "callback_errors", "foreign_thread_callbacks",
                "calls_placed", "calls_finished", "agent_legs_placed", "events_posted",
                "frames_delivered", "frame_results", "pump_ns", "pump_runs", "feed_ns",
                "frames_dropped",
            ),
            0,
        )
        LegHandlers.__init__(self)
        MediaHandlers.__init__(self)

    # ------------------------------------------------------------------ threading

    def start_thread(self, started: Callable[[dict[str, Any] | BaseException], None]) -> None:
        self.thread = threading.Thread(target=self._main, args=(started,), name="pjsip", daemon=True)
        self.thread.start()

    def enqueue(self, *command: Any) -> None:
        """Any thread: queue a command (name, *args) for the PJSIP thread."""
        self.commands.put(command)

    def on_pjsip_thread(self) -> bool:
        return self.thread is not None and threading.get_ident() == self.thread.ident

    def call_later(self, delay_s: float, fn: Callable[..., None], *args: Any) -> tuple[float, int]:
        """PJSIP thread: run fn(*args) after delay_s (checked every poll)."""
        key = (time.monotonic() + delay_s, next(self._seq))
        heapq.heappush(self._timers, (key[0], key[1], fn, args))
        return key

    def emit(self, event: SipEvent) -> None:
        self.counters["events_posted"] += 1
        self.post(event)

    # ------------------------------------------------------------------ the loop

    def _main(self, started: Callable[[dict[str, Any] | BaseException], None]) -> None:
        try:
            self.info = self._setup()
        except BaseException as exc:  # noqa: BLE001 - reported to start()
            self._teardown()
            # A fresh exception without a traceback: the original's frames hold the
            # Endpoint, and pjsua2 allows one per process.
            if isinstance(exc, SipFailure):
                started(SipFailure(exc.code, exc.reason))
            else:
                started(SipFailure(0, f"PJSIP start-up failed: {exc}"))
            del exc
            return
        started(self.info)
        try:
            while not self.exit_now:
                self._drain_commands(COMMANDS_PER_POLL)
                if self.exit_now:
                    break
                self._fire_timers()
                # commands left over: poll without waiting, then take the next batch
                self.ep.libHandleEvents(0 if not self.commands.empty() else POLL_MS)
                now = time.monotonic()
                if now - self._last_pump >= PUMP_INTERVAL_S:
                    self._last_pump = now
                    self.pump_frames()
                if self.stopping and (not self.live_legs() or now >= self.stop_deadline):
                    break
        except BaseException:  # noqa: BLE001 - the loop itself must never die silently
            self.log.exception("sip.thread_crashed")
        finally:
            self._teardown()

    def _drain_commands(self, limit: int = 1 << 30) -> None:
        for _ in range(limit):
            try:
                command = self.commands.get_nowait()
            except queue.Empty:
                return
            self.counters["commands"] += 1
            name, args = command[0], command[1:]
            try:
                getattr(self, f"cmd_{name}")(*args)
            except Exception:
                self.counters["command_errors"] += 1
                self.log.exception("sip.command_failed", command=name)

    def _fire_timers(self) -> None:
        now = time.monotonic()
        while self._timers and self._timers[0][0] <= now:
            _, _, fn, args = heapq.heappop(self._timers)
            try:
                fn(*args)
            except Exception:
                self.counters["command_errors"] += 1
                self.log.exception("sip.timer_failed", timer=getattr(fn, "__name__", "?"))

    # ------------------------------------------------------------------ start-up

    def _setup(self) -> dict[str, Any]:
        s = self.settings
        pj = self.pj = import_pjsua2()
        info = dict(engine_info() or {})
        _raise_fd_limit(4 * s.max_calls + 256)
        if _endpoint_exists(pj):
            # pj.Endpoint() would throw from C++ and abort the process.
            raise SipFailure(0, "a PJSIP endpoint already exists in this process (one SipEdge at a time)")
        self.ep = pj.Endpoint()
        self.ep.libCreate()
        cfg = pj.EpConfig()
        ua = cfg.uaConfig
        ua.maxCalls = s.max_calls
        ua.threadCnt = 0  # SIP events are handled on this thread only, in libHandleEvents
        ua.mainThreadOnly = False
        ua.userAgent = f"dialer/{__version__}"
        lc = cfg.logConfig
        lc.level = s.log_level
        lc.consoleLevel = s.log_level
        lc.msgLogging = 1 if s.log_level >= 4 else 0
        mc = cfg.medConfig
        mc.clockRate = 8000  # G.711 frames are then 160 samples = 320 bytes per 20 ms
        mc.sndClockRate = 8000
        mc.channelCount = 1
        mc.audioFramePtime = 20
        mc.ptime = 20
        mc.noVad = True  # send silence as audio: RTP keeps flowing, AMD sees real time
        mc.ecTailLen = 0
        mc.hasIoqueue = True  # RTP on its own ioqueue and worker, away from SIP
        mc.threadCnt = 1
        if info.get("max_conf_ports"):
            mc.maxMediaPorts = min(int(info["max_conf_ports"]), 3 * s.max_calls + 16)
        try:
            self.ep.libInit(cfg)
        except pj.Error as exc:
            raise SipFailure(0, f"PJSIP libInit failed: {exc.info()}") from None
        self._create_transport()  # first: a taken port fails before any audio device opens
        self.ep.audDevManager().setNullDev()
        self._set_codecs()
        self.ep.libStart()
        self.setup_accounts()
        self.setup_media()
        capacity = s.max_calls
        if hasattr(pj, "engineCallCapacity"):
            capacity = min(capacity, int(pj.engineCallCapacity()))
        else:
            capacity = min(capacity, int(info.get("max_calls", 4)))
        info.update(
            capacity=capacity,
            bind=f"{s.transport}:{s.bind_host}:{s.bind_port}",
            trunk=f"{s.trunk_host}:{s.trunk_port}",
            rtp_ports=list(s.rtp_port_range),
            codec=s.codec,
            frame_delivery="pull" if self.port_class is not None else "unavailable",
        )
        self.capacity = capacity
        self.log.info("sip.started", **{k: info[k] for k in ("capacity", "bind", "trunk", "frame_delivery")})
        return info

    def _set_codecs(self) -> None:
        """Offer only G.711, the configured law first (PSTN trunks all speak it)."""
        preferred = f"{self.settings.codec}/8000"
        other = "PCMA/8000" if self.settings.codec == "PCMU" else "PCMU/8000"
        for codec in self.ep.codecEnum2():
            cid = codec.codecId
            if cid.startswith(preferred):
                prio = 255
            elif cid.startswith(other):
                prio = 128
            else:
                prio = 0
            try:
                self.ep.codecSetPriority(cid, prio)
            except self.pj.Error:
                pass

    def _create_transport(self) -> None:
        s, pj = self.settings, self.pj
        tcfg = pj.TransportConfig()
        tcfg.port = s.bind_port
        tcfg.boundAddress = s.bind_host
        tcfg.publicAddress = s.bind_host
        kind = pj.PJSIP_TRANSPORT_TCP if s.transport == "tcp" else pj.PJSIP_TRANSPORT_UDP
        try:
            self.transport_id = self.ep.transportCreate(kind, tcfg)
        except pj.Error as exc:
            raise SipFailure(
                0, f"cannot listen for SIP on {s.transport} {s.bind_host}:{s.bind_port}: {exc.reason}"
            ) from None

    # ------------------------------------------------------------------ shutdown

    def cmd_stop(self, timeout_s: float) -> None:
        """Hang up every leg; the loop ends when all are gone or the deadline passes."""
        self.stopping = True
        self.stop_deadline = time.monotonic() + max(0.0, timeout_s)
        self.hangup_everything()

    def _teardown(self) -> None:
        """Report what is still up, release media, destroy the library. Never raises."""
        # With every call already gone, skip pjsua's 1 s wait for late responses.
        quick = not self.live_legs()
        steps: list[tuple[str, Callable[[], None]]] = [
            ("legs", self.abandon_legs),
            ("media", self.teardown_media),
            ("accounts", self.teardown_accounts),
        ]
        for name, step in steps:
            try:
                step()
            except Exception:
                self.log.exception("sip.teardown_failed", step=name)
        if self.ep is not None:
            try:
                self.ep.libDestroy(self.pj.PJSUA_DESTROY_NO_RX_MSG if quick else 0)
            except Exception:
                self.log.exception("sip.teardown_failed", step="libDestroy")
            self.graveyard.clear()
            self.ep = None
        self.log.info("sip.stopped", **{k: self.counters[k] for k in ("calls_placed", "calls_finished")})

    # ------------------------------------------------------------------ stats

    def snapshot(self) -> dict[str, Any]:
        """Any thread: counters and sizes (plain ints read under the GIL)."""
        out: dict[str, Any] = dict(self.counters)
        out.update(self.leg_counts())
        out.update(self.media_counts())
        frames = out["frames_delivered"]
        out["pump_us_per_frame"] = round(out["pump_ns"] / frames / 1000, 2) if frames else None
        out["feed_us_per_frame"] = round(out["feed_ns"] / frames / 1000, 2) if frames else None
        out["running"] = bool(self.thread and self.thread.is_alive())
        out["stopping"] = self.stopping
        return out


def _endpoint_exists(pj: Any) -> bool:
    try:
        pj.Endpoint.instance()
    except Exception:  # noqa: BLE001 - pj.Error: no instance
        return False
    return True


def _raise_fd_limit(wanted: int) -> None:
    """Two sockets per call plus SIP: lift the soft RLIMIT_NOFILE towards the hard one."""
    try:
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        if soft != resource.RLIM_INFINITY and soft < target:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    except (ValueError, OSError):
        pass


def loop_poster(loop: asyncio.AbstractEventLoop, deliver: Callable[[SipEvent], None]) -> Callable[[SipEvent], None]:
    """A thread-safe ``post(event)`` that schedules ``deliver(event)`` on ``loop``."""

    def post(event: SipEvent) -> None:
        try:
            loop.call_soon_threadsafe(deliver, event)
        except RuntimeError:  # the loop is closed: nobody is listening any more
            pass

    return post

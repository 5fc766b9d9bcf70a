"""SipEdge against real sipp customers on 127.0.0.1 (docs/sip.md).

Needs the PJSIP engine (scripts/setup builds it) and sipp (Debian's sip-tester).
Every test starts its own edge and sipp on free ports in 15000-15999 / 25000-25999,
so it runs beside the demo and beside another test run.
"""

from __future__ import annotations

import asyncio
import re
import socket
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from dialer.config import SipSettings
from dialer.errors import SipFailure
from dialer.outcomes import Outcome
from dialer.sim import dominant_frequency
from dialer.sip.events import (
    CallConnected,
    CallFinished,
    CallProgress,
    FrameResult,
    PlaybackFinished,
    SipEvent,
)

try:
    import pjsua2  # noqa: F401
except Exception as exc:  # noqa: BLE001
    pytest.skip(f"pjsua2 is not importable ({exc}); run scripts/setup", allow_module_level=True)

from dialer.sip.edge import SipEdge  # noqa: E402


def _load_sippctl() -> Any:
    """tests/integration/sipp/sippctl.py, whatever the test package layout."""
    import importlib.util
    import sys

    name = "dialer_tests_sippctl"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).parent / "sipp" / "sippctl.py")
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


_sippctl = _load_sippctl()
SippUas, audio_scenario, free_port = _sippctl.SippUas, _sippctl.audio_scenario, _sippctl.free_port

pytestmark = pytest.mark.pjsip  # skipped only without pjsua2; a missing sipp is a failure


class Recorder:
    """on_event for the edge: keeps every event, lets a test await one."""

    def __init__(self) -> None:
        self.events: list[SipEvent] = []
        self._changed = asyncio.Event()

    def __call__(self, event: SipEvent) -> None:
        self.events.append(event)
        self._changed.set()

    def of(self, kind: type, call_id: str | None = None) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind) and (call_id is None or getattr(e, "call_id", None) == call_id)]

    async def wait_for(self, pred: Callable[[SipEvent], bool], timeout: float = 10.0) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            for event in self.events:
                if pred(event):
                    return event
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no matching event in {timeout} s; got {self.events}")
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), left)
            except TimeoutError:
                pass

    async def finished(self, call_id: str, timeout: float = 10.0) -> CallFinished:
        return await self.wait_for(lambda e: isinstance(e, CallFinished) and e.call_id == call_id, timeout)


@pytest.fixture
async def make_edge() -> AsyncIterator[Callable[..., Any]]:
    edges: list[SipEdge] = []

    async def make(trunk_port: int, **overrides: Any) -> tuple[SipEdge, Recorder]:
        values: dict[str, Any] = {
            "bind_host": "127.0.0.1",
            "bind_port": free_port(15000, 15999),
            "trunk_host": "127.0.0.1",
            "trunk_port": trunk_port,
            "max_calls": 8,
            "rtp_port_start": free_port(25000, 25900, pair=True),
            "log_level": 1,
        }
        values.update(overrides)
        recorder = Recorder()
        edge = SipEdge(SipSettings(**values), recorder)
        await edge.start()
        edges.append(edge)
        return edge, recorder

    yield make
    for edge in edges:
        await edge.stop(timeout_s=3.0)


class Collector:
    """A FrameConsumer that keeps frames; returns a marker on frame 5; done after `limit`."""

    def __init__(self, limit: int = 10_000) -> None:
        self.frames: list[tuple[int, int]] = []  # (len(pcm), now_ms)
        self.pcm = bytearray()
        self.limit = limit
        self.done = False

    def feed(self, pcm: bytes, now_ms: int) -> object | None:
        self.frames.append((len(pcm), now_ms))
        self.pcm += pcm
        if len(self.frames) >= self.limit:
            self.done = True
        return "fifth-frame" if len(self.frames) == 5 else None


# ---------------------------------------------------------------- outcomes


async def test_customer_mix_by_last_digit(make_edge: Any, tmp_path: Path) -> None:
    port = free_port()
    sipp = SippUas("customer_uas.xml", port=port, rtp_echo=True, variables={"talk_ms": 1500},
                   log_dir=tmp_path, trace_messages=True)
    with sipp:
        edge, rec = await make_edge(port)
        for call_id, number in (("ans", "2125550100"), ("busy", "2125550106"), ("na", "2125550108"), ("rej", "2125550109")):
            edge.place_call(call_id, number, caller_id="+12125550199")
        ans, busy, na, rej = [await rec.finished(c, 15) for c in ("ans", "busy", "na", "rej")]

    assert (ans.outcome, ans.sip_code, ans.hangup_by) == (Outcome.ANSWERED, 200, "customer")
    assert ans.answered_mono > 0 and ans.mono - ans.answered_mono >= 1.2  # talked ~1.5 s
    assert [e.sip_code for e in rec.of(CallProgress, "ans")] == [180]
    assert len(rec.of(CallConnected, "ans")) == 1
    assert (busy.outcome, busy.sip_code) == (Outcome.BUSY, 486)
    assert (na.outcome, na.sip_code, na.timed_out) == (Outcome.NO_ANSWER, 480, False)
    assert (rej.outcome, rej.sip_code) == (Outcome.REJECTED, 603)
    assert not rec.of(CallConnected, "busy") and not rec.of(CallConnected, "na")
    assert edge.stats()["calls_active"] == 0
    # Caller ID: From user part and display name, and P-Asserted-Identity.
    invite = sipp.message_file.read_text().split("INVITE sip:2125550100@", 1)[1].split("\n\n", 1)[0]
    assert re.search(r'^From: "\+12125550199" <sip:\+12125550199@127\.0\.0\.1', invite, re.M), invite
    assert re.search(r"^P-Asserted-Identity: <sip:\+12125550199@127\.0\.0\.1>", invite, re.M), invite


async def test_not_found_is_invalid_number(make_edge: Any) -> None:
    port = free_port()
    with SippUas("uas_404.xml", port=port):
        edge, rec = await make_edge(port)
        edge.place_call("c404", "5550000")
        end = await rec.finished("c404")
    assert (end.outcome, end.sip_code, end.hangup_by) == (Outcome.INVALID_NUMBER, 404, "customer")


async def test_ring_timeout_cancels_with_no_answer(make_edge: Any) -> None:
    port = free_port()
    with SippUas("uas_no_answer.xml", port=port):
        edge, rec = await make_edge(port)
        edge._unsafe_set_min_ring_timeout(1.5)  # test hook: the public floor is 15 s
        placed = time.monotonic()
        edge.place_call("ring", "5550001", ring_timeout_s=1.5)
        end = await rec.finished("ring", 10)
    assert (end.outcome, end.sip_code, end.timed_out, end.hangup_by) == (Outcome.NO_ANSWER, 487, True, "dialer")
    assert 1.4 <= end.mono - placed < 4.0
    assert rec.of(CallProgress, "ring")


async def test_unreachable_trunk_fails_without_crashing(make_edge: Any) -> None:
    closed = free_port()  # nothing listens there
    edge, rec = await make_edge(closed, transport="tcp")
    edge.place_call("tcp-refused", "5551230")
    end = await rec.finished("tcp-refused", 10)
    assert end.outcome == Outcome.FAILED and end.sip_code in (0, 408, 503)
    assert end.hangup_by == "network"
    assert edge.stats()["running"]


async def test_silent_udp_trunk_fails_at_ring_timeout(make_edge: Any) -> None:
    closed = free_port()
    edge, rec = await make_edge(closed)
    edge._unsafe_set_min_ring_timeout(1.0)
    edge.place_call("udp-silent", "5551230", ring_timeout_s=1.0)
    end = await rec.finished("udp-silent", 10)
    # No response at all: FAILED with a local 408, not a no-answer.
    assert (end.outcome, end.sip_code, end.timed_out) == (Outcome.FAILED, 408, False)


async def test_bad_number_and_misuse(make_edge: Any) -> None:
    edge, rec = await make_edge(free_port())
    edge.place_call("bad", "55 51<>")
    end = await rec.finished("bad")
    assert (end.outcome, end.sip_code) == (Outcome.INVALID_NUMBER, 484)
    edge.hangup("no-such-call")  # ignored
    edge.place_call("dup", "5551230")
    with pytest.raises(SipFailure):
        edge.place_call("dup", "5551230")


async def test_port_in_use_is_a_clear_sip_failure() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as blocker:
        blocker.bind(("127.0.0.1", 0))
        taken = blocker.getsockname()[1]
        edge = SipEdge(SipSettings(bind_port=taken, rtp_port_start=free_port(25000, 25900, pair=True), max_calls=4), print)
        with pytest.raises(SipFailure, match=f"127.0.0.1:{taken}"):
            await edge.start()
    with pytest.raises(SipFailure):
        edge.place_call("x", "5551230")


# ---------------------------------------------------------------- media


async def test_frames_reach_the_consumer(make_edge: Any, tmp_path: Path) -> None:
    port = free_port()
    with SippUas("customer_uas.xml", port=port, rtp_echo=True, variables={"talk_ms": 1500}, log_dir=tmp_path):
        edge, rec = await make_edge(port)
        consumer, limited = Collector(), Collector(limit=20)
        edge.place_call("f1", "5551230", frame_consumer=consumer)
        edge.place_call("f2", "5551231", frame_consumer=limited)
        await rec.finished("f1", 10)
        await rec.finished("f2", 10)
    assert len(consumer.frames) >= 50  # ~1.5 s of talk = ~75 frames
    assert {size for size, _ in consumer.frames} == {320}
    assert [ms for _, ms in consumer.frames] == list(range(0, 20 * len(consumer.frames), 20))
    assert len(limited.frames) == 20  # nothing after done
    results = rec.of(FrameResult, "f1")
    assert [r.value for r in results] == ["fifth-frame"]
    stats = edge.stats()
    assert stats["frames_delivered"] >= len(consumer.frames) + 20
    assert stats["taps_active"] == 0 and stats["frame_ports_idle"] >= 1


async def test_customer_audio_file_is_heard(make_edge: Any, tmp_path: Path) -> None:
    t = np.arange(8000) / 8000.0
    tone = (8000 * np.sin(2 * np.pi * 440.0 * t)).astype(np.int16)  # 1 s at 440 Hz
    scenario = audio_scenario(tone, tmp_path)
    port = free_port()
    with SippUas(scenario, port=port, variables={"hold_ms": 1500}, log_dir=tmp_path):
        edge, rec = await make_edge(port)
        consumer = Collector()
        edge.place_call("amd", "5551230", frame_consumer=consumer)
        end = await rec.finished("amd", 10)
    assert end.outcome == Outcome.ANSWERED
    pcm = np.frombuffer(bytes(consumer.pcm), dtype="<i2")
    loud = pcm[np.abs(pcm) > 0]
    assert loud.size > 4000, "the customer's audio did not arrive"
    assert abs(dominant_frequency(pcm, 8000) - 440.0) < 20


async def test_prompt_then_hangup(make_edge: Any, tmp_path: Path) -> None:
    import wave

    prompt = tmp_path / "prompt.wav"
    with wave.open(str(prompt), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes((np.sin(np.arange(4000) * 0.3) * 3000).astype("<i2").tobytes())  # 0.5 s
    port = free_port()
    with SippUas("customer_uas.xml", port=port, rtp_echo=True, variables={"talk_ms": 5000}, log_dir=tmp_path):
        edge, rec = await make_edge(port)
        edge.place_call("p", "5551230")
        connected = await rec.wait_for(lambda e: isinstance(e, CallConnected))
        edge.play("p", str(tmp_path / "missing.wav"))
        missing = await rec.wait_for(lambda e: isinstance(e, PlaybackFinished))
        assert not missing.ok
        edge.play("p", str(prompt), hangup_after=True)
        done = await rec.wait_for(lambda e: isinstance(e, PlaybackFinished) and e.ok)
        end = await rec.finished("p")
    assert 0.4 <= done.mono - connected.mono < 2.0
    assert (end.outcome, end.hangup_by) == (Outcome.ANSWERED, "dialer")
    assert end.mono - done.mono < 1.0


async def test_dialer_cancel_while_ringing(make_edge: Any, tmp_path: Path) -> None:
    port = free_port()
    with SippUas("customer_uas.xml", port=port, rtp_echo=True, log_dir=tmp_path):
        edge, rec = await make_edge(port)
        edge.place_call("cx", "5551238")  # rings ~3 s before its 480
        await rec.wait_for(lambda e: isinstance(e, CallProgress) and e.call_id == "cx")
        edge.hangup("cx")
        end = await rec.finished("cx")
    assert (end.outcome, end.sip_code, end.timed_out, end.hangup_by) == (Outcome.NO_ANSWER, 487, False, "dialer")


async def test_stop_ends_every_call_with_an_event(tmp_path: Path) -> None:
    port = free_port()
    with SippUas("customer_uas.xml", port=port, rtp_echo=True, variables={"talk_ms": 10000}, log_dir=tmp_path):
        rec = Recorder()
        edge = SipEdge(
            SipSettings(bind_port=free_port(), trunk_port=port, max_calls=8,
                        rtp_port_start=free_port(25000, 25900, pair=True)),
            rec,
        )
        await edge.start()
        edge.place_call("up", "5551230", frame_consumer=Collector())
        edge.place_call("ringing", "5551238")
        await rec.wait_for(lambda e: isinstance(e, CallConnected))
        started = time.monotonic()
        await edge.stop(timeout_s=3.0)
        assert time.monotonic() - started < 5.0
    up, ringing = rec.of(CallFinished, "up"), rec.of(CallFinished, "ringing")
    assert len(up) == 1 and len(ringing) == 1  # delivered before stop() returned
    assert (up[0].outcome, up[0].hangup_by) == (Outcome.ANSWERED, "dialer")
    assert (ringing[0].outcome, ringing[0].hangup_by) == (Outcome.NO_ANSWER, "dialer")
    assert not edge.running


async def test_one_edge_per_process(make_edge: Any) -> None:
    await make_edge(free_port())
    second = SipEdge(SipSettings(bind_port=free_port(), rtp_port_start=free_port(25000, 25900, pair=True)), print)
    with pytest.raises(SipFailure, match="already exists"):
        await second.start()


async def test_early_media_is_not_fed_to_the_consumer(make_edge: Any, tmp_path: Path) -> None:
    t = np.arange(12000) / 8000.0
    ringback = (8000 * np.sin(2 * np.pi * 425.0 * t)).astype(np.int16)  # 1.5 s, before the answer
    voice = (8000 * np.sin(2 * np.pi * 1000.0 * t[:8000])).astype(np.int16)  # 1 s, after it
    scenario = _sippctl.scenario_with_audio(
        "uas_early_media.xml", tmp_path, {"ringback.ulaw.wav": ringback, "hello.ulaw.wav": voice}
    )
    port = free_port()
    with SippUas(scenario, port=port, variables={"early_ms": 1200, "hold_ms": 1500}, log_dir=tmp_path):
        edge, rec = await make_edge(port)
        consumer = Collector()
        edge.place_call("em", "5551230", frame_consumer=consumer)
        end = await rec.finished("em", 10)
    assert end.outcome == Outcome.ANSWERED
    assert [e.sip_code for e in rec.of(CallProgress, "em")] == [183]
    assert consumer.frames and consumer.frames[0][1] == 0
    first_second = np.frombuffer(bytes(consumer.pcm[: 8000 * 2]), dtype="<i2")
    assert abs(dominant_frequency(first_second, 8000) - 1000.0) < 20, "early media reached the consumer"

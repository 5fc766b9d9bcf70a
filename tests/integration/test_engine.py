# SPDX-License-Identifier: GPL-2.0-or-later
"""The PJSIP engine built by scripts/build-pjsip: capacity, threads and FramePort.

Real pjsua2 against a real sipp UAS on 127.0.0.1. One Python thread (the test's) owns every
pjsua2 object and drives libHandleEvents(); the conference bridge clock thread delivers
frames to the FramePorts. See docs/engine.md.
"""

from __future__ import annotations

import array
import json
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pj: Any = pytest.importorskip(
    "pjsua2", reason="pjsua2 is not importable: run scripts/setup (it runs scripts/build-pjsip)"
)
pytestmark = pytest.mark.pjsip

SIPP_DIR = Path(__file__).parent / "sipp"
CALLS = 20
FRAME_BYTES = 320  # 8 kHz, 16-bit mono, 20 ms


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pump(ep: Any, until: Any, timeout: float) -> bool:
    """Run the PJSIP event loop on this (the owning) thread until `until()` or timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if until():
            return True
        ep.libHandleEvents(20)
    return bool(until())


class RecordingPort(pj.FramePort):  # type: ignore[misc]
    """Buffers for read() and also counts director callbacks (both paths at once)."""

    def __init__(self) -> None:
        super().__init__()
        self.callbacks = 0
        self.bad: list[tuple[str, int]] = []
        self.timestamps: list[int] = []

    def onFrame(self, pcm: bytes, timestamp: int) -> None:
        self.callbacks += 1
        if type(pcm) is not bytes or len(pcm) != FRAME_BYTES:
            self.bad.append((type(pcm).__name__, len(pcm)))
        if len(self.timestamps) < 5:
            self.timestamps.append(timestamp)


class DialerCall(pj.Call):  # type: ignore[misc]
    def __init__(self, acc: Any, port: RecordingPort, tone: Any) -> None:
        super().__init__(acc)
        self.port = port
        self.tone = tone
        self.state = pj.PJSIP_INV_STATE_NULL
        self.last_code = 0
        self.attached = False

    def onCallState(self, prm: Any) -> None:
        ci = self.getInfo()
        self.state = ci.state
        self.last_code = ci.lastStatusCode

    def onCallMediaState(self, prm: Any) -> None:
        ci = self.getInfo()
        for i, mi in enumerate(ci.media):
            if mi.type == pj.PJMEDIA_TYPE_AUDIO and mi.status == pj.PJSUA_CALL_MEDIA_ACTIVE:
                am = self.getAudioMedia(i)
                am.startTransmit(self.port)  # what the callee says -> our FramePort
                self.tone.startTransmit(am)  # something to say, so RTP flows
                self.attached = True


@pytest.fixture
def sipp_uas() -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    sipp = shutil.which("sipp")
    if sipp is None:
        pytest.fail("sipp not found: install Debian's sip-tester (scripts/setup does)")
    port, media_port = free_udp_port(), free_udp_port()
    proc = subprocess.Popen(
        [
            sipp,
            "-sf",
            str(SIPP_DIR / "uas_echo.xml"),
            "-i",
            "127.0.0.1",
            "-p",
            str(port),
            "-mi",
            "127.0.0.1",
            "-mp",
            str(media_port),
            "-rtp_echo",
            "-aa",
            "-nostdin",
            "-timeout",
            "60s",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    time.sleep(0.3)
    if proc.poll() is not None:
        err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
        pytest.fail(f"sipp exited at once ({proc.returncode}): {err}")
    try:
        yield port, proc
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def engine_json() -> dict[str, Any]:
    path = Path(pj.__file__).parent / "ENGINE.json"
    return dict(json.loads(path.read_text()))


def test_engine_facts_match_the_module() -> None:
    facts = engine_json()
    assert facts["pjproject"] == "2.12"
    assert facts["max_calls"] == pj.ENGINE_MAX_CALLS >= 1000
    assert facts["call_capacity"] == pj.ENGINE_MAX_CALLS
    assert facts["max_conf_ports"] == pj.ENGINE_MAX_CONF_PORTS >= 3 * 1000
    assert facts["ioqueue"] == "epoll"
    assert facts["ioqueue_max_handles"] == pj.ENGINE_IOQUEUE_MAX_HANDLES >= 2 * 1000
    assert facts["threads"] is True and facts["frame_port"] is True
    assert facts["frame"]["bytes"] == FRAME_BYTES


def test_concurrent_calls_deliver_frames(sipp_uas: tuple[int, Any]) -> None:
    sipp_port, sipp_proc = sipp_uas
    ep = pj.Endpoint()
    ep.libCreate()
    try:
        cfg = pj.EpConfig()
        cfg.uaConfig.maxCalls = 1000
        cfg.uaConfig.threadCnt = 0  # SIP events only in our libHandleEvents()
        cfg.uaConfig.userAgent = "dialer-engine-test"
        cfg.medConfig.clockRate = 8000
        cfg.medConfig.sndClockRate = 8000
        cfg.medConfig.noVad = True
        cfg.logConfig.level = 2
        cfg.logConfig.consoleLevel = 2
        ep.libInit(cfg)
        assert pj.engineCallCapacity() == 1000, "libInit did not accept maxCalls=1000"

        tcfg = pj.TransportConfig()
        tcfg.port = 0
        tcfg.boundAddress = "127.0.0.1"
        ep.transportCreate(pj.PJSIP_TRANSPORT_UDP, tcfg)
        ep.audDevManager().setNullDev()
        ep.libStart()

        acfg = pj.AccountConfig()
        acfg.idUri = "sip:dialer@127.0.0.1"
        acfg.mediaConfig.transportConfig.boundAddress = "127.0.0.1"
        acfg.mediaConfig.transportConfig.port = 0
        acc = pj.Account()
        acc.create(acfg)

        tone = pj.ToneGenerator()
        tone.createToneGenerator(8000, 1)
        desc = pj.ToneDesc()
        desc.freq1, desc.freq2, desc.on_msec, desc.off_msec, desc.volume = 440, 0, 1000, 0, 0
        tones = pj.ToneDescVector()
        tones.append(desc)
        tone.play(tones, True)

        # A pool of ports made up front on this thread; calls only attach to them.
        ports = [RecordingPort() for _ in range(CALLS)]
        for p in ports:
            p.createPort(bufferFrames=1000, callback=True)  # 20 s: never overflows here
            assert p.frameBytes() == FRAME_BYTES

        calls: list[DialerCall] = []
        for i in range(CALLS):
            call = DialerCall(acc, ports[i], tone)
            call.makeCall(f"sip:echo{i}@127.0.0.1:{sipp_port}", pj.CallOpParam(True))
            calls.append(call)

        def all_confirmed() -> bool:
            return all(c.state == pj.PJSIP_INV_STATE_CONFIRMED and c.attached for c in calls)

        assert pump(ep, all_confirmed, 10), [(c.state, c.last_code) for c in calls]
        # 20 calls up at once; now let one second of audio (50 frames) reach every port.
        assert pump(ep, lambda: all(p.frameCount() >= 50 for p in ports), 10), [
            p.frameCount() for p in ports
        ]
        pump(ep, lambda: False, 0.5)  # let echoed RTP come back after the jitter buffer

        for i, p in enumerate(ports):
            pcm = p.read()
            assert isinstance(pcm, bytes)
            assert len(pcm) > 0 and len(pcm) % FRAME_BYTES == 0, (i, len(pcm))
            assert p.callbacks >= 50 and not p.bad, (i, p.callbacks, p.bad[:3])
            assert p.droppedFrames() == 0
            ts = p.timestamps
            assert all(b - a == FRAME_BYTES // 2 for a, b in zip(ts, ts[1:], strict=False)), ts
            # The callee echoes our 440 Hz tone: real audio came back over RTP.
            samples = array.array("h", pcm[-50 * FRAME_BYTES :])
            assert max(abs(s) for s in samples) > 1000, f"call {i}: only silence came back"
            assert p.read() == b"" or len(p.read()) % FRAME_BYTES == 0

        for c in calls:
            c.hangup(pj.CallOpParam(True))
        assert pump(ep, lambda: all(c.state == pj.PJSIP_INV_STATE_DISCONNECTED for c in calls), 10)
        calls.clear()  # drop Call objects as soon as they are DISCONNECTED
        for p in ports:
            p.close()
            assert not p.isOpen()
        ports.clear()
        tone.stop()
        del tone
        acc.shutdown()
        del acc
        assert sipp_proc.poll() is None or sipp_proc.returncode == 0
    finally:
        ep.libDestroy()
        del ep

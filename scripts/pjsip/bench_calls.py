#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Hold N concurrent calls against a local sipp UAS, each with a FramePort, to check that the
engine's limits hold well past the stock ones (4 calls, 64 sockets, 254 conference ports).

    .venv/bin/python scripts/pjsip/bench_calls.py [--calls 300] [--hold 5] [--rate 100]

Uses tests/integration/sipp/uas_echo.xml with -rtp_echo on 127.0.0.1 only. Prints how many
calls were up at once, frames received, setup time, and the worst frame shortfall.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pjsua2 as pj

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "tests" / "integration" / "sipp" / "uas_echo.xml"


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class BenchCall(pj.Call):  # type: ignore[misc]
    def __init__(self, acc: Any, port: Any, tone: Any) -> None:
        super().__init__(acc)
        self.port, self.tone = port, tone
        self.state = 0
        self.code = 0
        self.media = False

    def onCallState(self, prm: Any) -> None:
        ci = self.getInfo()
        self.state, self.code = ci.state, ci.lastStatusCode

    def onCallMediaState(self, prm: Any) -> None:
        ci = self.getInfo()
        for i, mi in enumerate(ci.media):
            if mi.type == pj.PJMEDIA_TYPE_AUDIO and mi.status == pj.PJSUA_CALL_MEDIA_ACTIVE:
                am = self.getAudioMedia(i)
                am.startTransmit(self.port)
                self.tone.startTransmit(am)
                self.media = True


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=300)
    ap.add_argument("--hold", type=float, default=5.0, help="seconds all calls stay up")
    ap.add_argument("--rate", type=int, default=100, help="new calls per second")
    args = ap.parse_args()

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    sipp_bin = shutil.which("sipp")
    if not sipp_bin:
        print("sipp not found (Debian package sip-tester)", file=sys.stderr)
        return 2
    sport, mport = free_udp_port(), free_udp_port()
    sipp = subprocess.Popen(
        [sipp_bin, "-sf", str(SCENARIO), "-i", "127.0.0.1", "-p", str(sport), "-mi", "127.0.0.1",
         "-mp", str(mport), "-rtp_echo", "-aa", "-nostdin", "-timeout", "120s",
         "-max_socket", "4096"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    time.sleep(0.3)

    ep = pj.Endpoint()
    ep.libCreate()
    cfg = pj.EpConfig()
    cfg.uaConfig.maxCalls = 1000
    cfg.uaConfig.threadCnt = 0
    cfg.medConfig.clockRate = 8000
    cfg.medConfig.sndClockRate = 8000
    cfg.medConfig.noVad = True
    cfg.logConfig.level = 1
    cfg.logConfig.consoleLevel = 1
    ep.libInit(cfg)
    tcfg = pj.TransportConfig()
    tcfg.boundAddress = "127.0.0.1"
    ep.transportCreate(pj.PJSIP_TRANSPORT_UDP, tcfg)
    ep.audDevManager().setNullDev()
    ep.libStart()
    acfg = pj.AccountConfig()
    acfg.idUri = "sip:bench@127.0.0.1"
    acfg.mediaConfig.transportConfig.boundAddress = "127.0.0.1"
    acc = pj.Account()
    acc.create(acfg)
    tone = pj.ToneGenerator()
    tone.createToneGenerator(8000, 1)
    d = pj.ToneDesc()
    d.freq1, d.on_msec = 440, 1000
    tv = pj.ToneDescVector()
    tv.append(d)
    tone.play(tv, True)

    ports = []
    for _ in range(args.calls):
        p = pj.FramePort()
        p.createPort(bufferFrames=500)
        ports.append(p)
    calls: list[BenchCall] = []
    t0 = time.monotonic()
    interval = 1.0 / args.rate
    next_at = t0
    while len(calls) < args.calls:
        now = time.monotonic()
        if now >= next_at:
            c = BenchCall(acc, ports[len(calls)], tone)
            c.makeCall(f"sip:b{len(calls)}@127.0.0.1:{sport}", pj.CallOpParam(True))
            calls.append(c)
            next_at += interval
        ep.libHandleEvents(1)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if all(c.state == pj.PJSIP_INV_STATE_CONFIRMED and c.media for c in calls):
            break
        if any(c.state == pj.PJSIP_INV_STATE_DISCONNECTED for c in calls):
            break
        ep.libHandleEvents(10)
    up = sum(c.state == pj.PJSIP_INV_STATE_CONFIRMED and c.media for c in calls)
    setup_s = time.monotonic() - t0
    f0 = [p.frameCount() for p in ports]
    h0 = time.monotonic()
    cpu0 = time.process_time()
    while time.monotonic() - h0 < args.hold:
        ep.libHandleEvents(10)
        for p in ports:
            p.read()
    held = time.monotonic() - h0
    cpu = time.process_time() - cpu0
    got = [p.frameCount() - a for p, a in zip(ports, f0, strict=True)]
    expected = held * 50
    failed = [(c.code) for c in calls if c.state != pj.PJSIP_INV_STATE_CONFIRMED]
    print(f"calls up at once: {up}/{args.calls} (setup {setup_s:.1f} s); failed codes: "
          f"{sorted(set(failed))[:5]}")  # fmt: skip
    print(f"frames per port in {held:.1f} s: min {min(got)}, max {max(got)} "
          f"(expected ~{expected:.0f}); process CPU {cpu / held * 100:.0f}% of one core")  # fmt: skip
    print(f"effective maxCalls {pj.engineCallCapacity()}, conference ports "
          f"{pj.engineConfPortCapacity()}")  # fmt: skip

    for c in calls:
        if c.state != pj.PJSIP_INV_STATE_DISCONNECTED:
            try:
                c.hangup(pj.CallOpParam(True))
            except pj.Error:
                pass
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not all(
        c.state == pj.PJSIP_INV_STATE_DISCONNECTED for c in calls
    ):
        ep.libHandleEvents(10)
    calls.clear()
    for p in ports:
        p.close()
    ports.clear()
    tone.stop()
    del tone
    acc.shutdown()
    del acc
    ep.libDestroy()
    sipp.terminate()
    sipp.wait(5)
    return 0 if up == args.calls else 1


if __name__ == "__main__":
    sys.exit(main())

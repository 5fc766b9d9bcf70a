#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Measure what FramePort delivery costs, for docs/engine.md.

    .venv/bin/python scripts/pjsip/bench_frameport.py [--ports 200] [--seconds 4]

One ToneGenerator transmits to N FramePorts on the null audio device (8 kHz, 20 ms), so the
bridge clock thread delivers 50 frames/s to each port. For every delivery mode, with the
Python side idle and with a second Python thread spinning (as a busy asyncio loop would),
it reports:
  - rate: frames/s per port the bridge actually managed (50 = it kept up);
  - cb:   wall time per onFrame() call inside the bridge thread, GIL wait included;
  - read: time per read() call and per frame on the polling thread.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time

import pjsua2 as pj


class CountingPort(pj.FramePort):
    def __init__(self) -> None:
        super().__init__()
        self.bytes = 0

    def onFrame(self, pcm: bytes, timestamp: int) -> None:  # noqa: N802 (pjsua2 naming)
        self.bytes += len(pcm)


def run(
    ep: pj.Endpoint,
    tone: pj.ToneGenerator,
    mode: str,
    n: int,
    seconds: float,
    busy: bool,
    poll_ms: int,
) -> str:
    ports: list[pj.FramePort] = []
    for _ in range(n):
        if mode == "read":
            p = pj.FramePort()
            p.createPort(bufferFrames=50)
        else:
            p = CountingPort()
            batch = 1 if mode == "callback" else int(mode.split("x")[1])
            p.createPort(bufferFrames=0, callback=True, callbackFrames=batch)
        tone.startTransmit(p)
        ports.append(p)

    stop = threading.Event()

    def spin() -> None:
        x = 0
        while not stop.is_set():
            x += 1

    spinner = threading.Thread(target=spin) if busy else None
    if spinner:
        spinner.start()
    f0 = sum(p.frameCount() for p in ports)
    t0 = time.perf_counter()
    read_time = 0.0
    read_calls = 0
    read_bytes = 0
    next_poll = t0
    while True:
        now = time.perf_counter()
        if now - t0 >= seconds:
            break
        ep.libHandleEvents(1)
        if mode == "read" and now >= next_poll:
            r0 = time.perf_counter()
            for p in ports:
                read_bytes += len(p.read())
            read_time += time.perf_counter() - r0
            read_calls += n
            next_poll += poll_ms / 1000
    elapsed = time.perf_counter() - t0
    stop.set()
    if spinner:
        spinner.join()
    frames = sum(p.frameCount() for p in ports) - f0
    rate = frames / n / elapsed
    if mode == "read":
        got = read_bytes // 320
        detail = (
            f"read: {read_time / max(read_calls, 1) * 1e6:.2f} us/call, "
            f"{read_time / max(got, 1) * 1e6:.2f} us/frame (poll {poll_ms} ms)"
        )
    else:
        cb_ns = sum(p.callbackNanos() for p in ports)
        calls = frames / (1 if mode == "callback" else int(mode.split("x")[1]))
        detail = (
            f"cb: {cb_ns / max(calls, 1) / 1000:.1f} us/call, "
            f"{cb_ns / max(frames, 1) / 1000:.1f} us/frame"
        )
    for p in ports:
        p.close()
    return (
        f"{mode:<10} busy={'yes' if busy else 'no ':<3} ports={n:<4} rate={rate:5.1f}/s  {detail}"
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ports", type=int, default=200)
    ap.add_argument("--seconds", type=float, default=4.0)
    ap.add_argument("--poll-ms", type=int, default=100)
    ap.add_argument("--modes", default="callback,callbackx5,read")
    args = ap.parse_args()

    ep = pj.Endpoint()
    ep.libCreate()
    cfg = pj.EpConfig()
    cfg.uaConfig.threadCnt = 0
    cfg.medConfig.clockRate = 8000
    cfg.medConfig.sndClockRate = 8000
    cfg.medConfig.noVad = True
    cfg.logConfig.level = 1
    cfg.logConfig.consoleLevel = 1
    ep.libInit(cfg)
    ep.audDevManager().setNullDev()
    ep.libStart()
    tone = pj.ToneGenerator()
    tone.createToneGenerator(8000, 1)
    desc = pj.ToneDesc()
    desc.freq1, desc.freq2, desc.on_msec, desc.off_msec = 440, 0, 1000, 0
    tones = pj.ToneDescVector()
    tones.append(desc)
    tone.play(tones, True)
    print(
        f"pjsua2 {ep.libVersion().full}, Python {sys.version.split()[0]}, "
        f"{args.ports} ports, {args.seconds:.0f} s each"
    )
    for busy in (False, True):
        for mode in args.modes.split(","):
            print(run(ep, tone, mode, args.ports, args.seconds, busy, args.poll_ms), flush=True)
    tone.stop()
    del tone
    ep.libDestroy()
    return 0


if __name__ == "__main__":
    sys.exit(main())

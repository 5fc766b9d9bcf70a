"""``dialer agent-phone``: PJSIP softphones that play the agents (or test customers).

    dialer agent-phone --agents 5 --host 127.0.0.1 --port 5070 [--tone-hz 0] [--measure]

One process, one SIP UDP port. Every INVITE to sip:ANYTHING@host:port is
answered at once (200 OK) and kept up until the far end hangs up - which is
what the dialer's nailed-up agent legs need. Each call hears either silence
(keeping RTP flowing) or, with ``--tone-hz F``, a continuous sine of F Hz from
a ToneGenerator. With ``--measure`` the phone listens to every call through a
FramePort and prints, once a second, the dominant frequency of the last second
it heard (numpy FFT), so tests can check that audio crosses a bridge both ways.

Lines on stdout (one event per line, stable for scripts):
    READY                          listening; printed once
    ANSWERED user=agent1 call=0    a call was answered
    HEARD user=agent1 call=0 hz=600.0 rms=2345.6   (--measure, every --report-s)
    ENDED user=agent1 call=0 code=200 reason=Normal call clearing
SIGTERM or SIGINT hangs up every call and exits 0.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import sys
import time
from typing import Any

import numpy as np

from dialer.errors import SipFailure
from dialer.sim import dominant_frequency
from dialer.sip.engine import import_pjsua2

CLOCK_RATE = 8000
FRAME_MS = 20


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="dialer agent-phone", description=__doc__.split("\n\n")[0])
    p.add_argument("--agents", type=int, default=5, help="calls to size for (any user part is answered)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind SIP and RTP to")
    p.add_argument("--port", type=int, default=5070, help="SIP UDP port")
    p.add_argument("--rtp-port", type=int, default=0, help="first RTP port (default: SIP port + 1000)")
    p.add_argument("--tone-hz", type=float, default=0.0, help="play a sine of this frequency into every call (0 = silence)")
    p.add_argument("--measure", action="store_true", help="print the dominant frequency heard, every --report-s")
    p.add_argument("--report-s", type=float, default=1.0)
    p.add_argument("--log-level", type=int, default=1, help="PJSIP log level 0-6, to stderr")
    return p.parse_args(argv)


_OUT = sys.stdout  # replaced in main() by a private copy of fd 1


def say(line: str) -> None:
    print(line, file=_OUT, flush=True)


def _keep_stdout_for_protocol() -> None:
    """PJSIP's C code logs to fd 1; send that to stderr and keep stdout for our lines."""
    global _OUT
    try:
        sys.stdout.flush()
        _OUT = os.fdopen(os.dup(1), "w", buffering=1)
        os.dup2(2, 1)
    except OSError:
        _OUT = sys.stdout


class Phone:
    """Everything runs on the main thread: callbacks come from libHandleEvents."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.pj: Any = import_pjsua2()
        self.ep: Any = None
        self.calls: dict[int, Any] = {}  # pjsua call id -> PhoneCall
        self.tone: Any = None
        self.keep: Any = None
        self.port_pool: list[Any] = []
        self.stop = False

    # ------------------------------------------------------------------ set-up

    def start(self) -> None:
        pj, a = self.pj, self.args
        self.ep = pj.Endpoint()
        self.ep.libCreate()
        cfg = pj.EpConfig()
        cfg.uaConfig.maxCalls = max(4, 2 * a.agents + 2)
        cfg.uaConfig.threadCnt = 0
        cfg.uaConfig.mainThreadOnly = False
        cfg.uaConfig.userAgent = "dialer-agent-phone"
        cfg.logConfig.level = a.log_level
        cfg.logConfig.consoleLevel = a.log_level
        mc = cfg.medConfig
        mc.clockRate = CLOCK_RATE
        mc.sndClockRate = CLOCK_RATE
        mc.channelCount = 1
        mc.audioFramePtime = FRAME_MS
        mc.noVad = True
        mc.ecTailLen = 0
        self.ep.libInit(cfg)
        self.ep.audDevManager().setNullDev()
        tcfg = pj.TransportConfig()
        tcfg.port = a.port
        tcfg.boundAddress = a.host
        tcfg.publicAddress = a.host
        try:
            self.ep.transportCreate(pj.PJSIP_TRANSPORT_UDP, tcfg)
        except pj.Error as exc:
            raise SipFailure(0, f"cannot listen on udp {a.host}:{a.port}: {exc.reason}") from None
        self.ep.libStart()
        self.keep = self.ep.audDevManager().getCaptureDevMedia()
        if a.tone_hz > 0:
            self.tone = pj.ToneGenerator()
            self.tone.createToneGenerator(CLOCK_RATE, 1)
            desc = pj.ToneDesc()
            desc.freq1 = int(a.tone_hz)
            desc.freq2 = int(a.tone_hz)
            desc.on_msec = 10_000
            desc.off_msec = 0
            desc.volume = 0
            tones = pj.ToneDescVector()
            tones.append(desc)
            self.tone.play(tones, True)
        acfg = pj.AccountConfig()
        acfg.idUri = f"sip:agent@{a.host}:{a.port}"
        span = 4 * a.agents + 8
        rtp = a.rtp_port or (a.port + 1000 if a.port + 1000 + span <= 65535 else max(1024, a.port - 1000 - span))
        acfg.mediaConfig.transportConfig.port = rtp
        acfg.mediaConfig.transportConfig.portRange = span
        acfg.mediaConfig.transportConfig.boundAddress = a.host
        self.account = make_account(pj, self)()
        self.account.create(acfg)

    # ------------------------------------------------------------------ calls

    def incoming(self, account: Any, call_id: int) -> None:
        call = make_call(self.pj, self)(account, call_id)
        info = call.getInfo()
        call.user = _user_of(info.localUri)
        self.calls[call_id] = call
        prm = self.pj.CallOpParam()
        prm.statusCode = 200
        call.answer(prm)

    def state_changed(self, call: Any) -> None:
        info = call.getInfo()
        if info.state == self.pj.PJSIP_INV_STATE_CONFIRMED:
            say(f"ANSWERED user={call.user} call={info.id}")
        elif info.state == self.pj.PJSIP_INV_STATE_DISCONNECTED:
            self.report(call, final=True)
            say(f"ENDED user={call.user} call={info.id} code={info.lastStatusCode} reason={info.lastReason}")
            if call.port is not None:
                call.port.clearBuffer()
                self.port_pool.append(call.port)
                call.port = None
            self.calls.pop(info.id, None)  # pjsua2: drop the Call in its DISCONNECTED callback

    def media_changed(self, call: Any) -> None:
        pj = self.pj
        info = call.getInfo()
        for mi in info.media:
            if mi.type == pj.PJMEDIA_TYPE_AUDIO and mi.status == pj.PJSUA_CALL_MEDIA_ACTIVE:
                media = call.getAudioMedia(mi.index)
                (self.tone or self.keep).startTransmit(media)
                if self.args.measure and call.port is None and hasattr(pj, "FramePort"):
                    call.port = self.port_pool.pop() if self.port_pool else self._new_port()
                    media.startTransmit(call.port)
                return

    def _new_port(self) -> Any:
        port = self.pj.FramePort()
        port.createPort(int(self.args.report_s * 1000 / FRAME_MS) + 10, False, CLOCK_RATE, FRAME_MS)
        return port

    def report(self, call: Any, *, final: bool = False) -> None:
        if call.port is None:
            return
        data = call.port.read()
        if data:
            call.heard = (call.heard + data)[-int(self.args.report_s * CLOCK_RATE) * 2 :]
        if not call.heard or (final and not data):
            return
        pcm = np.frombuffer(call.heard, dtype="<i2")
        hz = dominant_frequency(pcm, CLOCK_RATE)
        rms = float(np.sqrt(np.mean(pcm.astype(np.float64) ** 2)))
        say(f"HEARD user={call.user} call={call.getId()} hz={hz:.1f} rms={rms:.1f}")

    # ------------------------------------------------------------------ loop

    def run(self) -> int:
        say("READY")
        next_report = time.monotonic() + self.args.report_s
        while not self.stop:
            self.ep.libHandleEvents(20)
            if self.args.measure and time.monotonic() >= next_report:
                next_report += self.args.report_s
                for call in list(self.calls.values()):
                    self.report(call)
        return 0

    def shutdown(self) -> None:
        if self.ep is None:
            return
        try:
            self.ep.hangupAllCalls()
            deadline = time.monotonic() + 2.0
            while self.calls and time.monotonic() < deadline:
                self.ep.libHandleEvents(20)
        except Exception:  # noqa: BLE001 - best effort on the way out
            pass
        for port in self.port_pool:
            port.close()
        self.port_pool.clear()
        # pjsua2 media and accounts must go before the library: a ToneGenerator
        # destroyed after libDestroy() throws from its destructor (abort).
        quick = not self.calls  # nothing left to hear back from: skip pjsua's 1 s wait
        self.tone = self.keep = None
        if getattr(self, "account", None) is not None:
            self.account.shutdown()
            self.account = None
        self.ep.libDestroy(self.pj.PJSUA_DESTROY_NO_RX_MSG if quick else 0)
        self.calls.clear()  # after libDestroy: a live Call's destructor would hang up (and may throw)
        self.ep = None


def make_account(pj: Any, phone: Phone) -> type:
    class PhoneAccount(pj.Account):  # type: ignore[misc, name-defined]
        def onIncomingCall(self, prm: Any) -> None:  # noqa: N802 - pjsua2 name
            _guard(phone.incoming, self, prm.callId)

    return PhoneAccount


def make_call(pj: Any, phone: Phone) -> type:
    class PhoneCall(pj.Call):  # type: ignore[misc, name-defined]
        def __init__(self, account: Any, call_id: int) -> None:
            super().__init__(account, call_id)
            self.user = "?"
            self.port: Any = None
            self.heard = b""

        def onCallState(self, prm: Any) -> None:  # noqa: N802
            _guard(phone.state_changed, self)

        def onCallMediaState(self, prm: Any) -> None:  # noqa: N802
            _guard(phone.media_changed, self)

    return PhoneCall


def _guard(fn: Any, *args: Any) -> None:
    try:
        fn(*args)
    except Exception as exc:  # noqa: BLE001 - never raise into PJSIP
        print(f"agent-phone: {fn.__name__} failed: {exc!r}", file=sys.stderr, flush=True)


def _user_of(uri: str) -> str:
    match = re.search(r"sips?:([^@;>]+)@", uri)
    return match.group(1) if match else "?"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(list(sys.argv[1:] if argv is None else argv))
    _keep_stdout_for_protocol()
    phone = Phone(args)

    def on_signal(signum: int, frame: Any) -> None:
        phone.stop = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        phone.start()
        return phone.run()
    except SipFailure as exc:
        print(f"agent-phone: {exc.reason}", file=sys.stderr, flush=True)
        return 1
    finally:
        phone.shutdown()


if __name__ == "__main__":
    sys.exit(main())

"""AMD on live calls: sipp plays a human hello or a voicemail greeting with a beep over RTP.

The daemon runs a one-record campaign with AMD on and ``on_machine = "voicemail"``;
we check the verdict published on Redis, that a human is bridged to the agent,
and that for a machine the voicemail message starts just after the beep ends.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import redis.asyncio as aioredis

from dialer.bus.publisher import decode_event
from dialer.demo import Demo, parse_args

sys.path.insert(0, str(Path(__file__).resolve().parent / "sipp"))
from sippctl import SippUas, audio_scenario, free_port, read_pcm16_wav  # noqa: E402

pytestmark = [pytest.mark.pjsip, pytest.mark.slow]

try:
    import pjsua2  # noqa: F401
except ImportError:  # pragma: no cover
    pytest.skip("pjsua2 engine not built (run scripts/setup)", allow_module_level=True)

RATE = 8000
AMD_TOML = """
[campaigns.amd]
enabled = true
on_machine = "voicemail"
"""


def speak(text: str, path: Path, voice: str = "en-us") -> np.ndarray:
    if shutil.which("espeak-ng") is None or shutil.which("sox") is None:
        pytest.skip("espeak-ng and sox are needed (scripts/setup installs them)")
    raw = path.with_suffix(".raw.wav")
    subprocess.run(["espeak-ng", "-v", voice, "-s", "165", "-w", str(raw), text], check=True)
    subprocess.run(["sox", str(raw), "-r", "8000", "-c", "1", "-b", "16", str(path)], check=True)
    return read_pcm16_wav(path).astype(np.int16)


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * RATE), dtype=np.int16)


def tone(hz: float, seconds: float, level: float = 8000) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return (level * np.sin(2 * np.pi * hz * t)).astype(np.int16)


class ClipDemo(Demo):
    """The demo's machinery with one sipp customer that plays ``audio``."""

    def __init__(self, audio: np.ndarray, hold_extra_s: float, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.audio = audio
        self.hold_extra_s = hold_extra_s
        self.sipp: SippUas | None = None

    def start_customers(self, port: int) -> None:
        scenario = audio_scenario(self.audio, self.work / "sipp")
        hold_ms = int((len(self.audio) / RATE + self.hold_extra_s) * 1000)
        self.sipp = SippUas(scenario, port=port, variables={"hold_ms": hold_ms}, log_dir=self.work).start()

    def stop_all(self) -> None:
        super().stop_all()
        if self.sipp is not None:
            self.sipp.stop()


async def run_clip(audio: np.ndarray, tmp_path: Path, redis_url: str, prefix: str,
                   client: aioredis.Redis, *, hold_extra_s: float = 1.0
                   ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    args = parse_args(["--records", "1", "--agents", "1", "--rtp-port", str(free_port(31000, 31900, pair=True))])
    args.campaign_toml = AMD_TOML
    demo = ClipDemo(audio, hold_extra_s, args, work=tmp_path, redis_url=redis_url, prefix=prefix)
    try:
        summary = await demo.run()
    finally:
        demo.stop_all()
    entries = await client.xrange(f"{prefix}:events")
    return summary, [decode_event(f[b"event"]) for _i, f in entries]


def one(events: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    found = [e for e in events if e["type"] == kind]
    assert len(found) == 1, f"expected one {kind}, got {found}"
    return found[0]


async def test_human_hello_is_bridged_to_an_agent(
    tmp_path: Path, redis_url: str, redis_prefix: str, redis_client: aioredis.Redis
) -> None:
    hello = speak("Hello?", tmp_path / "hello.wav")
    audio = np.concatenate([silence(0.3), hello, silence(6.0)])
    summary, events = await run_clip(audio, tmp_path, redis_url, redis_prefix, redis_client)
    assert summary["daemon_exit"] == 0
    amd = one(events, "AmdDecided")
    assert amd["verdict"] == "human"
    speech_end_ms = (0.3 + len(hello) / RATE) * 1000
    # Decided soon after the hello ends, well inside the 2-second rule.
    assert speech_end_ms < amd["latency_ms"] < speech_end_ms + 1500
    bridged = one(events, "CallBridged")
    assert bridged["agent_id"] == "agent1" and bridged["wait_ms"] < 500
    assert one(events, "CallEnded")["outcome"] == "answered"
    assert not [e for e in events if e["type"] == "MessagePlayed"]


async def test_voicemail_greeting_gets_the_message_after_the_beep(
    tmp_path: Path, redis_url: str, redis_prefix: str, redis_client: aioredis.Redis
) -> None:
    greeting = speak(
        "Hi, you have reached the Anderson family. We can't come to the phone right now. "
        "Please leave a message after the tone.",
        tmp_path / "greeting.wav",
    )
    beep_start = 0.3 + len(greeting) / RATE + 0.4
    audio = np.concatenate([silence(0.3), greeting, silence(0.4), tone(1000, 0.5), silence(8.0)])
    # The customer stays on past the whole voicemail message (~17 s): the dialer hangs up.
    summary, events = await run_clip(audio, tmp_path, redis_url, redis_prefix, redis_client,
                                     hold_extra_s=25.0)
    assert summary["daemon_exit"] == 0
    amd = one(events, "AmdDecided")
    assert amd["verdict"] == "machine"
    # At the latest the beep settles it: within 300 ms of the beep's end.
    assert amd["latency_ms"] < (beep_start + 0.5) * 1000 + 300
    played = one(events, "MessagePlayed")
    assert played["reason"] == "voicemail" and played["prompt"] == "voicemail.wav"
    answered = one(events, "CallAnswered")
    # The message starts after the beep ends (beep_start + 0.5 s), not before, and
    # promptly (the offline evaluation measures the 300 ms target; here the
    # Redis timestamps add scheduling jitter, so allow a little more).
    start_after_answer = played["at"] - answered["at"]
    beep_end = beep_start + 0.5
    assert beep_end - 0.05 < start_after_answer < beep_end + 1.0, start_after_answer
    ended = one(events, "CallEnded")
    assert ended["outcome"] == "machine" and ended["hangup_by"] == "dialer"
    assert not [e for e in events if e["type"] == "CallBridged"]

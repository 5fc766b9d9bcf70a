"""Run the sipp scenarios of this directory from tests (docs/sip.md, "sipp customers").

    with SippUas("customer_uas.xml", port=free_port(), rtp_echo=True, variables={"talk_ms": 1500}):
        ...  # the dialer's trunk is 127.0.0.1:port

``audio_scenario(wav, workdir)`` writes a copy of uas_play.xml that streams the
given WAV (converted to G.711 mu-law) - sipp cannot take that file name from its
command line.
"""

from __future__ import annotations

import random
import re
import shutil
import socket
import struct
import subprocess
import time
import wave
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def sipp_binary() -> str | None:
    return shutil.which("sipp")


def free_port(lo: int = 15000, hi: int = 15999, *, pair: bool = False) -> int:
    """A port in [lo, hi] free for UDP and TCP (and port+2 too with pair=True, for RTP/RTCP)."""
    candidates = list(range(lo, hi + 1, 2 if pair else 1))
    random.shuffle(candidates)
    for port in candidates:
        if all(_free(p) for p in ((port, port + 1, port + 2, port + 3) if pair else (port,))):
            return port
    raise RuntimeError(f"no free port in {lo}-{hi}")


def _free(port: int) -> bool:
    for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
        with socket.socket(socket.AF_INET, kind) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                return False
    return True


class SippUas:
    """A sipp UAS in the background on 127.0.0.1:port; a context manager."""

    def __init__(
        self,
        scenario: str | Path,
        *,
        port: int,
        media_port: int | None = None,
        rtp_echo: bool = False,
        variables: dict[str, object] | None = None,
        log_dir: Path | None = None,
        trace_messages: bool = False,
    ) -> None:
        self.scenario = Path(scenario) if Path(scenario).is_absolute() else HERE / scenario
        self.port = port
        self.media_port = media_port or free_port(25000, 25998, pair=True)
        self.rtp_echo = rtp_echo
        self.variables = variables or {}
        self.log_dir = log_dir
        self.trace_messages = trace_messages and log_dir is not None
        self.proc: subprocess.Popen[bytes] | None = None

    def command(self) -> list[str]:
        sipp = sipp_binary() or "sipp"
        cmd = [sipp, "-sf", str(self.scenario), "-i", "127.0.0.1", "-p", str(self.port),
               "-mi", "127.0.0.1", "-mp", str(self.media_port), "-cp", str(free_port(25000, 25999)),
               "-nostdin", "-nd"]
        if self.rtp_echo:
            cmd.append("-rtp_echo")
        for name, value in self.variables.items():
            cmd += ["-set", name, str(value)]
        if self.log_dir is not None:
            cmd += ["-trace_err", "-error_file", str(self.log_dir / f"sipp-{self.port}-errors.log")]
        if self.trace_messages:
            cmd += ["-trace_msg", "-message_file", str(self.message_file)]
        return cmd

    @property
    def message_file(self) -> Path:
        """With trace_messages: every SIP message sipp sent or received."""
        assert self.log_dir is not None
        return self.log_dir / f"sipp-{self.port}-messages.log"

    def start(self) -> SippUas:
        if sipp_binary() is None:
            raise RuntimeError("sipp is not installed (Debian package sip-tester; run scripts/setup)")
        self.proc = subprocess.Popen(
            self.command(), cwd=self.scenario.parent,
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else ""
                raise RuntimeError(f"sipp exited with {self.proc.returncode}: {err.strip()[-800:]}")
            if not _udp_free(self.port):
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"sipp did not bind 127.0.0.1:{self.port}")

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stderr:
            self.proc.stderr.close()
        self.proc = None

    def __enter__(self) -> SippUas:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _udp_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


# ---------------------------------------------------------------- audio files for uas_play.xml


def mulaw_encode(pcm: np.ndarray) -> bytes:
    """G.711 mu-law of signed 16-bit samples (ITU-T G.711, with the usual bias of 0x84)."""
    x = np.asarray(pcm, dtype=np.int32)
    sign = np.where(x < 0, 0x80, 0x00)
    mag = np.minimum(np.abs(x), 32635) + 0x84
    exponent = np.floor(np.log2(mag)).astype(np.int32) - 7
    exponent = np.clip(exponent, 0, 7)
    mantissa = (mag >> (exponent + 3)) & 0x0F
    return (~(sign | (exponent << 4) | mantissa) & 0xFF).astype(np.uint8).tobytes()


def write_mulaw_wav(path: Path, pcm: np.ndarray, rate: int = 8000) -> Path:
    """A WAV (format 7, mu-law) with the plain 44-byte header that sipp skips."""
    data = mulaw_encode(pcm)
    fmt = struct.pack("<HHIIHH", 7, 1, rate, rate, 1, 8)
    header = b"RIFF" + struct.pack("<I", 36 + len(data)) + b"WAVE"
    header += b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(data))
    path.write_bytes(header + data)
    return path


def read_pcm16_wav(path: Path) -> np.ndarray:
    with wave.open(str(path), "rb") as w:
        if w.getsampwidth() != 2 or w.getnchannels() != 1 or w.getframerate() != 8000:
            raise ValueError(f"{path}: need 8 kHz 16-bit mono PCM (sox in.wav -r 8000 -c 1 -b 16 out.wav)")
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")


def audio_scenario(audio: Path | np.ndarray, workdir: Path) -> Path:
    """Write uas_play.xml + audio into workdir so that sipp streams ``audio``; returns the scenario."""
    return scenario_with_audio("uas_play.xml", workdir, {"hello.ulaw.wav": audio})


def scenario_with_audio(scenario: str, workdir: Path, files: dict[str, Path | np.ndarray]) -> Path:
    """A copy of ``scenario`` in workdir whose ``rtp_stream`` files are replaced.

    ``files`` maps a file name used in the scenario (e.g. "hello.ulaw.wav") to samples
    (int16 at 8 kHz), a 16-bit PCM WAV (converted to mu-law) or a mu-law WAV.
    Names not given are copied from this directory if the scenario uses them.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    text = (HERE / scenario).read_text()
    for name in set(re.findall(r'rtp_stream="([^",]+),', text)):
        target = workdir / name
        audio = files.get(name)
        if audio is None:
            shutil.copyfile(HERE / name, target)
        elif isinstance(audio, np.ndarray):
            write_mulaw_wav(target, audio)
        elif _is_pcm16(audio):
            write_mulaw_wav(target, read_pcm16_wav(audio))
        else:
            shutil.copyfile(audio, target)  # assume it is already mu-law
        text = text.replace(f'rtp_stream="{name},', f'rtp_stream="{target},')
    out = workdir / scenario
    out.write_text(text)
    return out


def _is_pcm16(path: Path) -> bool:
    try:
        with wave.open(str(path), "rb") as w:
            return w.getsampwidth() == 2
    except (wave.Error, EOFError):
        return False

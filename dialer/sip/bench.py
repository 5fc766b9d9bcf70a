"""``scripts/bench-sip``: capacity of the SIP edge against sipp on 127.0.0.1 (docs/bench-sip.md).

Three phases, each bounded in count and in time:

1. **sipp ceiling** - sipp UAC -> sipp UAS (no dialer) at increasing call rates, a few
   seconds each: what sipp and the loopback manage on this machine, as a reference.
2. **held concurrency** - one ``SipEdge`` in this process places calls to a sipp UAS that
   answers at once and echoes RTP (``-rtp_echo``); the edge keeps RTP going (keep-alive) and
   taps every call's audio into a frame consumer that counts frames. Levels are reached by
   adding calls; each is held ``hold_s`` seconds and passes only if *every* call stayed up,
   received RTP (pjsua stream statistics) and delivered frames to Python at
   ``>= min_rate`` per second. The ramp stops at the first failing level or when a thread
   of the dialer (or sipp) saturates a core.
3. **calls per second** - short calls (answer, ``cps_hold_s`` talk, BYE from the dialer),
   each with a frame consumer, originated at each rate for ``cps_duration_s``; a rate passes
   with 0 failures (not answered, not ended by us, or no frame reached Python).

This process is "the dialer": its CPU time (all threads) and RSS are the figures reported.
``--json`` prints one object on stdout (PJSIP's own log lines are moved to stderr).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from dialer.config import SipSettings
from dialer.sip.engine import engine_info
from dialer.sip.events import CallConnected, CallFinished, SipEvent

CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")
NCPU = os.cpu_count() or 1
FRAMES_PER_S = 50  # 20 ms frames
SATURATED_PCT = 95.0  # a thread using this much of one core is saturated
OVERLOAD_BACKLOG_S = 3.0  # cps: stop originating when this many seconds of calls wait for an answer

# A customer that answers at once (180, 200 OK with G.711 u-law), and waits for our BYE.
# Run with -rtp_echo: every RTP packet reaching -mp goes back to its sender.
UAS_SCENARIO = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<!-- scripts/bench-sip: answer at once, echo RTP (-rtp_echo), wait for the caller's BYE.
     SPDX-License-Identifier: GPL-2.0-or-later -->
<scenario name="bench-sip answering UAS">
  <recv request="INVITE" crlf="true"/>
  <send>
    <![CDATA[

      SIP/2.0 180 Ringing
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:[local_ip]:[local_port];transport=[transport]>
      Content-Length: 0

    ]]>
  </send>
  <send retrans="500">
    <![CDATA[

      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:[local_ip]:[local_port];transport=[transport]>
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=sipp 53655765 2353687637 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 0
      a=rtpmap:0 PCMU/8000
      a=ptime:20
      a=sendrecv

    ]]>
  </send>
  <recv request="ACK" rtd="true" crlf="true"/>
  <recv request="BYE"/>
  <send>
    <![CDATA[

      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:[local_ip]:[local_port];transport=[transport]>
      Content-Length: 0

    ]]>
  </send>
  <!-- as a real UAS keeps its BYE transaction: a retransmitted BYE (our 200 was lost) gets
       the 200 again instead of holding the dialer's call slot until its Timer F (32 s) -->
  <timewait milliseconds="4000"/>
  <ResponseTimeRepartition value="10, 20, 50, 100, 200"/>
  <CallLengthRepartition value="1000, 5000, 10000"/>
</scenario>
"""


# ---------------------------------------------------------------------------- settings


@dataclass(frozen=True)
class Plan:
    levels: tuple[int, ...] = (100, 200, 300, 400, 500, 600, 700, 850, 1000)
    hold_s: float = 10.0  # each concurrency level is measured over this window
    setup_cps: float = 200.0  # how fast new calls are added between levels
    min_rate: float = 45.0  # frames/s and RTP packets/s every call must reach (50 = all)
    cps_rates: tuple[float, ...] = (50, 100, 150, 200, 250, 300)
    cps_duration_s: float = 30.0
    cps_hold_s: float = 1.5
    ceiling_rates: tuple[float, ...] = (200, 400, 800, 1600, 3200, 6400)
    ceiling_duration_s: float = 4.0
    quick: bool = False


FULL = Plan()
QUICK = Plan(
    levels=(50,), hold_s=5.0, setup_cps=100.0, cps_rates=(20,), cps_duration_s=5.0,
    ceiling_rates=(50,), ceiling_duration_s=3.0, quick=True,
)


# ---------------------------------------------------------------------------- /proc readings


def _proc_stat(path: str) -> list[str] | None:
    try:
        with open(path, "rb") as fh:
            raw = fh.read().decode(errors="replace")
    except OSError:
        return None
    # comm may contain spaces and parentheses: split after the last ')'
    head, _, rest = raw.rpartition(")")
    return [head.split("(", 1)[-1], *rest.split()]


def cpu_seconds(pid: int | str, tid: int | str | None = None) -> float:
    """utime + stime of a process (all threads) or of one of its threads, in seconds."""
    path = f"/proc/{pid}/task/{tid}/stat" if tid is not None else f"/proc/{pid}/stat"
    fields = _proc_stat(path)
    if fields is None:
        return 0.0
    # fields[0] = comm, fields[1] = state (field 3), utime = field 14, stime = field 15
    return (int(fields[12]) + int(fields[13])) / CLK_TCK


def threads(pid: int | str) -> dict[int, tuple[str, float]]:
    """tid -> (comm, cpu seconds) for every thread of a process."""
    out: dict[int, tuple[str, float]] = {}
    with contextlib.suppress(OSError):
        for tid in os.listdir(f"/proc/{pid}/task"):
            fields = _proc_stat(f"/proc/{pid}/task/{tid}/stat")
            if fields is not None:
                out[int(tid)] = (fields[0], (int(fields[12]) + int(fields[13])) / CLK_TCK)
    return out


def rss_mb(pid: int | str = "self") -> float:
    fields = _proc_stat(f"/proc/{pid}/stat")
    return int(fields[22]) * PAGE / 2**20 if fields else 0.0


def system_cpu() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    with open("/proc/stat") as fh:
        parts = [int(x) for x in fh.readline().split()[1:]]
    idle = parts[3] + (parts[4] if len(parts) > 4 else 0)
    total = sum(parts[:8])
    return total - idle, total


class Window:
    """CPU of this process, its threads, sipp and the whole machine over a time window."""

    def __init__(
        self, names: dict[int, str], others: dict[str, int],
        ports: dict[str, Callable[[int], bool]] | None = None,
    ) -> None:
        self.names = names  # tid -> role for threads of ours we can name
        self.others = others  # label -> pid (sipp processes)
        self.ports = ports or {}
        self.drops0 = udp_drops(self.ports)
        self.t0 = time.monotonic()
        self.cpu0 = time.process_time()
        self.sys0 = system_cpu()
        self.threads0 = threads("self")
        self.others0 = {label: threads(pid) for label, pid in others.items()}

    def close(self) -> dict[str, Any]:
        wall = max(1e-6, time.monotonic() - self.t0)
        cpu = time.process_time() - self.cpu0
        busy1, total1 = system_cpu()
        busy = (busy1 - self.sys0[0]) / max(1, total1 - self.sys0[1]) * 100.0
        top: list[dict[str, Any]] = []
        for tid, (comm, secs) in threads("self").items():
            before = self.threads0.get(tid, (comm, 0.0))[1]
            pct = (secs - before) / wall * 100
            if pct >= 1.0:
                top.append({"thread": self.names.get(tid, comm), "tid": tid, "cpu_pct": round(pct, 1)})
        top.sort(key=lambda t: -t["cpu_pct"])
        sipp: dict[str, Any] = {}
        for label, pid in self.others.items():
            now, before = threads(pid), self.others0[label]
            per = sorted(
                ((now[t][1] - before.get(t, (n, 0.0))[1]) / wall * 100 for t, (n, _) in now.items()),
                reverse=True,
            )
            sipp[label] = {
                "cpu_pct": round(sum(per), 1),
                "busiest_thread_pct": round(per[0], 1) if per else 0.0,
                "rss_mb": round(rss_mb(pid), 1),
            }
        drops1 = udp_drops(self.ports)
        return {
            "udp_drops": {k: drops1[k] - self.drops0.get(k, 0) for k in drops1},
            "wall_s": round(wall, 2),
            "cpu_pct": round(cpu / wall * 100, 1),
            "threads": top[:6],
            "system_busy_pct": round(busy, 1),
            "sipp": sipp,
        }


# What an idle pjlib thread waits in tells which one it is (they all inherit the name "python").
WAITS = {
    "232": "media ioqueue worker (RTP/RTCP receive)",  # epoll_wait
    "230": "bridge clock (jitter buffer, mix, encode, RTP send)",  # clock_nanosleep
    "35": "bridge clock (jitter buffer, mix, encode, RTP send)",  # nanosleep
}


def label_threads(known: set[int]) -> dict[int, str]:
    """Name this process's other threads by the system call they sleep in (sampled while idle)."""
    seen: dict[int, dict[str, int]] = {}
    for _ in range(40):
        with contextlib.suppress(OSError):
            for tid in os.listdir("/proc/self/task"):
                if int(tid) in known:
                    continue
                with contextlib.suppress(OSError):
                    call = Path(f"/proc/self/task/{tid}/syscall").read_text().split()[0]
                    votes = seen.setdefault(int(tid), {})
                    votes[call] = votes.get(call, 0) + 1
        time.sleep(0.005)
    out = {}
    for tid, votes in seen.items():
        # a busy thread is often caught "running": any sighting of its wait names it
        known_waits = [c for c in votes if c in WAITS]
        call = max(known_waits or votes, key=lambda c: votes[c])
        out[tid] = WAITS.get(call, f"pjlib thread (syscall {call})")
    return out


def udp_drops(groups: dict[str, Callable[[int], bool]]) -> dict[str, int]:
    """Datagrams dropped (receive buffer full) per group of local UDP ports, from /proc/net/udp."""
    out = dict.fromkeys(groups, 0)
    out["udp_rcvbuf_errors_all"] = 0
    with contextlib.suppress(OSError):
        for line in Path("/proc/net/udp").read_text().splitlines()[1:]:
            cols = line.split()
            if len(cols) < 13:
                continue
            port, drops = int(cols[1].rsplit(":", 1)[1], 16), int(cols[-1])
            for name, match in groups.items():
                if match(port):
                    out[name] += drops
    with contextlib.suppress(OSError, StopIteration, ValueError):
        lines = [ln.split() for ln in Path("/proc/net/snmp").read_text().splitlines() if ln.startswith("Udp:")]
        head, vals = lines[0], lines[1]
        out["udp_rcvbuf_errors_all"] = int(vals[head.index("RcvbufErrors")])
    return out


def loadavg() -> list[float]:
    try:
        return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]
    except OSError:
        return []


# ---------------------------------------------------------------------------- sipp


def free_port(kind: int = socket.SOCK_DGRAM, *, pair: bool = False) -> int:
    """A free UDP port on 127.0.0.1 (and the next two, with pair=True)."""
    for _ in range(200):
        with socket.socket(socket.AF_INET, kind) as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if port > 65000:
            continue
        if not pair or all(_udp_free(p) for p in (port + 1, port + 2, port + 3)):
            return port
    raise RuntimeError("no free port on 127.0.0.1")


def _udp_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


class Sipp:
    """One sipp process on 127.0.0.1 (UAS in the background, or a UAC run to completion)."""

    def __init__(self, args: list[str], workdir: Path, label: str) -> None:
        self.binary = shutil.which("sipp") or "sipp"
        self.args = args
        self.workdir = workdir
        self.label = label
        self.proc: subprocess.Popen[bytes] | None = None
        self.err_path = workdir / f"{label}.stderr"
        self.media_port = 0
        self.rcvbuf: dict[int, int] = {}
        self.reniced: list[int] = []

    def start(self) -> Sipp:
        self._err = self.err_path.open("wb")
        self.proc = subprocess.Popen(
            [self.binary, *self.args], cwd=self.workdir, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=self._err, preexec_fn=_sipp_preexec,
        )
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def wait_bound(self, port: int, timeout_s: float = 10.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc is None or self.proc.poll() is not None:
                raise RuntimeError(f"sipp ({self.label}) exited at start: {self.stderr_tail()}")
            if not _udp_free(port):
                return
            time.sleep(0.05)
        raise RuntimeError(f"sipp ({self.label}) did not bind 127.0.0.1:{port}")

    def stderr_tail(self, n: int = 600) -> str:
        try:
            return self.err_path.read_text(errors="replace").strip()[-n:]
        except OSError:
            return ""

    def exit_status(self) -> int | None:
        """None while running, else the exit code (negative: killed by that signal)."""
        return None if self.proc is None else self.proc.poll()

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._err.close()
        self.proc = None


SIPP_RCVBUF = 8 * 2**20
SIPP_NICE = -10  # sipp is the reference peer: it must not be what the machine's load starves


def _sipp_preexec() -> None:
    """preexec for sipp: as many descriptors as the hard limit allows."""
    with contextlib.suppress(ValueError, OSError):
        _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def prioritise_echo_threads(pid: int) -> list[int]:
    """Give sipp's RTP echo threads (every thread but its main one) nice SIPP_NICE.

    sipp echoes every call's RTP through one socket; when its echo thread waits for a CPU
    on a shared machine the socket overflows and the loss looks like the dialer's. Only
    the echo threads: a higher-priority SIP thread would preempt the dialer's PJSIP thread
    on every message it sends. Needs root (else nothing changes).
    """
    done = []
    with contextlib.suppress(OSError):
        for tid in os.listdir(f"/proc/{pid}/task"):
            if int(tid) != pid:
                with contextlib.suppress(OSError):
                    os.setpriority(os.PRIO_PROCESS, int(tid), SIPP_NICE)
                    done.append(int(tid))
    return done


def uas(workdir: Path, label: str) -> tuple[Sipp, int]:
    """A sipp UAS running UAS_SCENARIO with RTP echo; returns it and its SIP port."""
    scenario = workdir / "bench_uas.xml"
    if not scenario.exists():
        scenario.write_text(UAS_SCENARIO)
    port, media = free_port(), free_port(pair=True)
    sipp = Sipp(
        ["-sf", str(scenario), "-i", "127.0.0.1", "-p", str(port), "-mi", "127.0.0.1",
         "-mp", str(media), "-rtp_echo", "-cp", str(free_port()), "-nostdin", "-nd", "-aa",
         "-l", "100000", "-max_recv_loops", "10000", "-max_sched_loops", "10000",
         "-trace_err", "-error_file", str(workdir / f"{label}-errors.log")],
        workdir, label,
    ).start()  # fmt: skip
    try:
        sipp.wait_bound(port)
        deadline = time.monotonic() + 5
        while _udp_free(media) and time.monotonic() < deadline:  # the echo socket comes next
            time.sleep(0.02)
    except Exception:
        sipp.stop()
        raise
    sipp.media_port = media
    # One socket echoes every call's RTP; the bridge sends a burst of one packet per call
    # each 20 ms, more than the default buffer (~200 datagrams) holds when sipp's echo
    # thread waits for a CPU. 8 MB holds ~7000.
    sipp.rcvbuf = grow_udp_rcvbuf(sipp.pid, {port, media, media + 2}, SIPP_RCVBUF)
    sipp.reniced = prioritise_echo_threads(sipp.pid)
    return sipp, port


SO_RCVBUFFORCE = 33  # Linux: SO_RCVBUF beyond net.core.rmem_max (CAP_NET_ADMIN)
SYS_PIDFD_GETFD = 438  # x86_64 and most others (asm-generic)


def grow_udp_rcvbuf(pid: int, ports: set[int], size: int) -> dict[int, int]:
    """Give the UDP sockets of process ``pid`` bound to ``ports`` a ``size``-byte receive buffer.

    The socket is borrowed with pidfd_getfd(2) (Linux 5.6+, same user or root), so nothing
    global (net.core.rmem_default) changes. Returns port -> the buffer the kernel now reports
    (twice what was asked, as always), or an empty dict when it could not be done.
    """
    inodes: dict[str, int] = {}
    with contextlib.suppress(OSError):
        for line in Path("/proc/net/udp").read_text().splitlines()[1:]:
            cols = line.split()
            port = int(cols[1].rsplit(":", 1)[1], 16)
            if port in ports:
                inodes[cols[9]] = port
    out: dict[int, int] = {}
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        pidfd = os.pidfd_open(pid)
    except (OSError, AttributeError):
        return out
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            with contextlib.suppress(OSError):
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
                inode = target[len("socket:["):-1] if target.startswith("socket:[") else ""
                if inode not in inodes:
                    continue
                local = libc.syscall(SYS_PIDFD_GETFD, pidfd, int(fd), 0)
                if local < 0:
                    continue
                with socket.socket(fileno=local) as sock:
                    try:
                        sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, size)
                    except OSError:
                        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, size)
                    out[inodes[inode]] = sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
    finally:
        os.close(pidfd)
    return out


def _stat_rows(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        return []
    lines = [ln for ln in path.read_text(errors="replace").splitlines() if ln.strip()]
    if len(lines) < 2:
        return []
    head = lines[0].rstrip(";").split(";")
    return [dict(zip(head, ln.rstrip(";").split(";"), strict=False)) for ln in lines[1:]]


def _secs(hms: str) -> float:
    """sipp's ElapsedTime 'HH:MM:SS:mmm' (or with a '.' before the milliseconds)."""
    parts = hms.replace(".", ":").split(":")
    try:
        h, m, s = int(parts[0]), int(parts[1]), int(parts[2])
        ms = int(parts[3]) if len(parts) > 3 else 0
    except (IndexError, ValueError):
        return 0.0
    return h * 3600 + m * 60 + s + ms / 1000


def _wait_rusage(sipp: Sipp, timeout_s: float) -> tuple[int, float]:
    """Wait for a sipp run to exit (killing it after timeout_s); (exit code, CPU seconds)."""
    assert sipp.proc is not None
    deadline = time.monotonic() + timeout_s
    while True:
        pid, status, ru = os.wait4(sipp.pid, os.WNOHANG)
        if pid:
            code = os.waitstatus_to_exitcode(status)
            sipp.proc.returncode = code
            return code, ru.ru_utime + ru.ru_stime
        if time.monotonic() > deadline:
            sipp.proc.kill()
            _, status, ru = os.wait4(sipp.pid, 0)
            sipp.proc.returncode = -9
            return -9, ru.ru_utime + ru.ru_stime
        time.sleep(0.05)


def sipp_ceiling(plan: Plan, workdir: Path, log: Callable[[str], None]) -> dict[str, Any]:
    """sipp UAC -> sipp UAS at increasing rates; the highest rate kept with 0 failures."""
    hold_ms = int(plan.cps_hold_s * 1000)
    server, port = uas(workdir, "ceiling-uas")
    tried: list[dict[str, Any]] = []
    best = 0.0
    try:
        for rate in plan.ceiling_rates:
            calls = int(rate * plan.ceiling_duration_s)
            stf = workdir / f"ceiling-{int(rate)}.csv"
            uac_port = free_port()
            limit_s = plan.ceiling_duration_s * 3 + plan.cps_hold_s + 20
            client = Sipp(
                ["-sn", "uac", f"127.0.0.1:{port}", "-i", "127.0.0.1", "-p", str(uac_port),
                 "-cp", str(free_port()), "-r", str(rate), "-m", str(calls), "-d", str(hold_ms),
                 "-l", "100000", "-nostdin", "-timeout", f"{int(limit_s)}s", "-timeout_error",
                 "-max_recv_loops", "10000", "-max_sched_loops", "10000",
                 "-trace_stat", "-stf", str(stf), "-fd", "1"],
                workdir, f"ceiling-uac-{int(rate)}",
            )  # fmt: skip
            win = Window({}, {"uas": server.pid}, {
                "uas_sip": lambda p: p == port, "uac_sip": lambda p, u=uac_port: p == u,
            })
            t0 = time.monotonic()
            client.start()
            code, uac_cpu = _wait_rusage(client, limit_s + 10)
            wall = time.monotonic() - t0
            usage = win.close()
            client.stop()
            usage["sipp"]["uac"] = {"cpu_pct": round(uac_cpu / max(wall, 1e-6) * 100, 1)}
            rows = _stat_rows(stf)
            last = rows[-1] if rows else {}
            ok = int(last.get("SuccessfulCall(C)", 0) or 0)
            failed = int(last.get("FailedCall(C)", 0) or 0)
            created = int(last.get("TotalCallCreated", last.get("OutgoingCall(C)", 0)) or 0)
            # when was the last call created? first stats row that shows them all
            origin_s = next(
                (_secs(r.get("ElapsedTime(C)", "")) for r in rows
                 if int(r.get("TotalCallCreated", r.get("OutgoingCall(C)", 0)) or 0) >= calls),
                wall,
            )  # fmt: skip
            achieved = created / origin_s if origin_s > 0 else 0.0
            failed += max(0, calls - ok - failed)
            passed = code == 0 and failed == 0 and ok == calls and achieved >= 0.9 * rate
            tried.append({
                "rate": rate, "calls": calls, "successful": ok, "failed": failed,
                "achieved_cps": round(achieved, 1), "sipp_exit": code, "wall_s": round(wall, 1),
                "passed": passed, "sipp_cpu_pct": {k: v["cpu_pct"] for k, v in usage["sipp"].items()},
                "udp_drops": usage["udp_drops"],
                "system_busy_pct": usage["system_busy_pct"],
            })  # fmt: skip
            log(f"  sipp->sipp {rate:>6.0f} cps: {ok}/{calls} ok, {failed} failed, "
                f"{achieved:.0f} cps achieved, {'pass' if passed else 'FAIL'}")  # fmt: skip
            if not passed:
                break
            best = rate
    finally:
        server.stop()
    return {"cps": best, "hold_s": plan.cps_hold_s, "duration_s": plan.ceiling_duration_s,
            "scenario": "sipp -sn uac -> bench UAS with -rtp_echo (signalling only, no RTP)",
            "tried": tried}  # fmt: skip


# ---------------------------------------------------------------------------- the dialer side


class CountingConsumer:
    """A FrameConsumer that counts frames (and the bytes, to catch short frames)."""

    __slots__ = ("frames", "bytes", "done")

    def __init__(self) -> None:
        self.frames = 0
        self.bytes = 0
        self.done = False

    def feed(self, pcm: bytes, now_ms: int) -> None:
        self.frames += 1
        self.bytes += len(pcm)


@dataclass
class CallRec:
    consumer: CountingConsumer
    placed: float
    connected: float = 0.0
    finished: CallFinished | None = None
    hangup_at: float = 0.0


@dataclass
class Calls:
    """Every call the bench placed, by call id; fed by the edge's on_event."""

    by_id: dict[str, CallRec] = field(default_factory=dict)
    connected: int = 0
    finished: int = 0
    settled: int = 0  # calls that connected or ended without connecting
    on_connect: Callable[[str, CallRec], None] | None = None

    def __call__(self, event: SipEvent) -> None:
        if isinstance(event, CallConnected):
            rec = self.by_id.get(event.call_id)
            if rec is not None and not rec.connected:
                rec.connected = event.mono
                self.connected += 1
                self.settled += 1
                if self.on_connect is not None:
                    self.on_connect(event.call_id, rec)
        elif isinstance(event, CallFinished):
            rec = self.by_id.get(event.call_id)
            if rec is not None and rec.finished is None:
                rec.finished = event
                self.finished += 1
                if not rec.connected:
                    self.settled += 1


class RtpProbe:
    """Per-call RTP packet counters, read on the PJSIP thread.

    The edge has no public API for stream statistics, so the bench installs one extra
    command on its worker (``cmd_bench_rtp``: the worker runs ``cmd_<name>`` for a
    queued ``(name, *args)``). It only reads ``Call.getStreamStat(0)`` of live legs.
    """

    def __init__(self, edge: Any, loop: asyncio.AbstractEventLoop) -> None:
        self.worker = edge._worker  # noqa: SLF001 - a bench reads what the edge does not export
        self.loop = loop
        worker = self.worker

        def cmd_bench_rtp(reply: Callable[[dict[str, tuple[int, int]]], None]) -> None:
            out: dict[str, tuple[int, int]] = {}
            for call_id, leg in list(worker.customers.items()):
                if leg.call is None or leg.media is None:
                    continue
                try:
                    st = leg.call.getStreamStat(0)
                    out[call_id] = (int(st.rtcp.rxStat.pkt), int(st.rtcp.txStat.pkt))
                except Exception:  # noqa: BLE001 - a call ending right now
                    continue
            reply(out)

        worker.cmd_bench_rtp = cmd_bench_rtp

    async def read(self, timeout_s: float = 20.0) -> dict[str, tuple[int, int]]:
        fut: asyncio.Future[dict[str, tuple[int, int]]] = self.loop.create_future()

        def reply(out: dict[str, tuple[int, int]]) -> None:
            self.loop.call_soon_threadsafe(lambda: fut.done() or fut.set_result(out))

        self.worker.enqueue("bench_rtp", reply)
        return await asyncio.wait_for(fut, timeout_s)


def _pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    s = sorted(values)
    return s[min(len(s) - 1, int(q * (len(s) - 1) + 0.5))]


class DialerBench:
    def __init__(
        self, plan: Plan, log: Callable[[str], None], rtp_port_start: int, sip_rcvbuf: int = 0,
    ) -> None:
        self.plan = plan
        self.sip_rcvbuf = sip_rcvbuf
        self.log = log
        self.rtp_port_start = rtp_port_start
        self.calls = Calls()
        self.edge: Any = None
        self.seq = 0
        self.names: dict[int, str] = {}
        self.uas_restarts: list[int] = []  # exit codes of sipp UAS runs that died under us

    async def run(self, workdir: Path) -> dict[str, Any]:
        from dialer.sip.edge import SipEdge

        server, port = uas(workdir, "dialer-uas")
        self.uas = server
        max_level = max([*self.plan.levels, 1])
        need = max_level + int(max(self.plan.cps_rates or [1]) * (self.plan.cps_hold_s + 2)) + 16
        settings = SipSettings(
            bind_host="127.0.0.1", bind_port=free_port(), trunk_host="127.0.0.1", trunk_port=port,
            max_calls=min(1024, max(64, need)), rtp_port_start=self.rtp_port_start, log_level=1,
        )  # fmt: skip
        loop = asyncio.get_running_loop()
        self.settings, self.uas_port = settings, port
        self.edge = SipEdge(settings, self.calls, loop=loop)
        out: dict[str, Any] = {}
        try:
            info = await self.edge.start()
            self.probe = RtpProbe(self.edge, loop)
            self.names = {threading.get_native_id(): "asyncio (main)"}
            worker_thread = self.edge._worker.thread  # noqa: SLF001
            if worker_thread is not None and worker_thread.native_id:
                self.names[worker_thread.native_id] = "pjsip (SIP + frame pump)"
            out["edge"] = {k: info.get(k) for k in ("capacity", "bind", "trunk", "rtp_ports", "frame_delivery")}
            out["sipp_uas_rcvbuf"] = {str(k): v for k, v in server.rcvbuf.items()}
            out["sipp_uas_echo_threads_reniced"] = len(server.reniced)
            if self.sip_rcvbuf:
                # what-if: the product leaves pjsip's default (PJSIP_UDP_SO_RCVBUF_SIZE = 0)
                got = grow_udp_rcvbuf(os.getpid(), {settings.bind_port}, self.sip_rcvbuf)
                out["what_if"] = {"dialer_sip_rcvbuf": got.get(settings.bind_port, 0)}
            await asyncio.sleep(1.0)  # idle baseline after start-up
            self.names.update(label_threads(set(self.names)))
            self.idle_rss = rss_mb()
            out["idle_rss_mb"] = round(self.idle_rss, 1)
            out["concurrency"] = await self.concurrency()
            out["cps"] = await self.cps()
            out["sipp_uas_died"] = self.uas_restarts
        finally:
            try:
                await self.hangup_all(15.0)
                t_stop = time.monotonic()
                await self.edge.stop(timeout_s=10.0)
                thread = self.edge._worker.thread if self.edge._worker else None  # noqa: SLF001
                if thread is not None and thread.is_alive():
                    # a PJSIP thread still busy at interpreter exit aborts the process
                    await asyncio.to_thread(thread.join, 60.0)
                out["edge_stop_s"] = round(time.monotonic() - t_stop, 1)
                out["edge_thread_alive_after_stop"] = bool(thread is not None and thread.is_alive())
            finally:
                server.stop()
        return out

    # ------------------------------------------------------------------ helpers

    def ensure_uas(self) -> None:
        """Restart the sipp UAS on the same ports if it died (recorded in the results)."""
        code = self.uas.exit_status()
        if code is None:
            return
        self.uas_restarts.append(code)
        self.log(f"  sipp UAS exited with {code}; restarting it on the same ports")
        self.uas.stop()
        self.uas.start()
        with contextlib.suppress(RuntimeError):
            self.uas.wait_bound(self.uas_port)
        time.sleep(0.2)
        self.uas.rcvbuf = grow_udp_rcvbuf(
            self.uas.pid, {self.uas_port, self.uas.media_port, self.uas.media_port + 2}, SIPP_RCVBUF
        )
        self.uas.reniced = prioritise_echo_threads(self.uas.pid)

    def port_groups(self) -> dict[str, Callable[[int], bool]]:
        s, media = self.settings, self.uas.media_port
        lo, hi = s.rtp_port_range
        return {
            "dialer_sip": lambda p: p == s.bind_port,
            "dialer_rtp": lambda p: lo <= p < hi,
            "sipp_sip": lambda p: p == self.uas_port,
            "sipp_rtp_echo": lambda p: media <= p <= media + 3,
        }

    def place(self, prefix: str) -> str:
        self.seq += 1
        call_id = f"{prefix}{self.seq}"
        rec = CallRec(CountingConsumer(), time.monotonic())
        self.calls.by_id[call_id] = rec
        self.edge.place_call(call_id, f"555{self.seq:07d}", frame_consumer=rec.consumer)
        return call_id

    def live(self) -> list[str]:
        return [cid for cid, r in self.calls.by_id.items() if r.finished is None]

    async def hangup_all(self, timeout_s: float) -> None:
        if self.edge is None or not self.edge.running:
            return
        for cid in self.live():
            self.edge.hangup(cid)
        deadline = time.monotonic() + timeout_s
        while self.live() and time.monotonic() < deadline:
            await asyncio.sleep(0.1)

    async def settle(self, timeout_s: float) -> None:
        """Wait for every placed call to end and for the edge to have none left."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if not self.live() and self.edge.stats().get("calls_active", 0) == 0:
                return
            await asyncio.sleep(0.1)

    # ------------------------------------------------------------------ concurrency

    async def concurrency(self) -> dict[str, Any]:
        plan = self.plan
        levels: list[dict[str, Any]] = []
        best: dict[str, Any] | None = None
        stopped = "all levels passed"
        ids: list[str] = []
        for target in plan.levels:
            if self.uas.exit_status() is not None:
                stopped = f"the sipp UAS exited ({self.uas.exit_status()}) before {target} calls"
                break
            # add calls at setup_cps until `target` are up (bounded in count and time)
            add = target - len(ids)
            t0 = time.monotonic()
            deadline = t0 + add / plan.setup_cps + 20.0
            placed = 0
            while placed < add and time.monotonic() < deadline:
                due = min(add, int((time.monotonic() - t0) * plan.setup_cps) + 1)
                while placed < due:
                    ids.append(self.place("h"))
                    placed += 1
                await asyncio.sleep(0.01)
            while time.monotonic() < deadline:
                recs = [self.calls.by_id[c] for c in ids]
                if any(r.finished for r in recs):
                    break
                if all(r.connected and r.consumer.frames for r in recs):
                    break
                await asyncio.sleep(0.05)
            setup_s = time.monotonic() - t0
            await asyncio.sleep(1.0)  # let the newest calls' media settle
            level = await self.hold_level(ids, target, setup_s)
            levels.append(level)
            verdict = "pass" if level["passed"] else "FAIL"
            self.log(
                f"  {target:>5} calls: {level['connected']}/{target} up, min {level['min_frames_per_s']:.1f} "
                f"frames/s, min RTP {level['min_rtp_rx_per_s']:.1f} pkt/s, CPU {level['cpu_pct']:.0f}% "
                f"({level['cpu_pct_per_100_calls']:.1f}%/100), RSS +{level['rss_mb_delta']:.0f} MB, "
                f"busiest {level['busiest_thread']}, {verdict}"
            )
            if not level["passed"]:
                stopped = f"{target} calls failed: {level['failure']}"
                break
            best = level
            if level["saturated"]:
                stopped = f"stopped after {target} calls: {level['saturated']}"
                break
        await self.hangup_all(30.0)
        await self.settle(15.0)
        return {
            "max_concurrent_calls": best["calls"] if best else 0,
            "stopped_because": stopped,
            "hold_s": plan.hold_s,
            "min_rate_required": plan.min_rate,
            "levels": levels,
        }

    async def hold_level(self, ids: list[str], target: int, setup_s: float) -> dict[str, Any]:
        plan = self.plan
        recs = {c: self.calls.by_id[c] for c in ids}
        stats0 = self.edge.stats()
        rtp0 = await self.probe.read()
        frames0 = {c: r.consumer.frames for c, r in recs.items()}
        unnamed = {t for t in threads("self") if t not in self.names}
        if unnamed:  # pjlib starts the bridge clock with the first call
            self.names.update(label_threads(set(threads("self")) - unnamed))
        win = Window(self.names, {"uas": self.uas.pid}, self.port_groups())
        await asyncio.sleep(plan.hold_s)
        usage = win.close()
        rss = rss_mb()
        frames1 = {c: r.consumer.frames for c, r in recs.items()}
        rtp1 = await self.probe.read()
        stats1 = self.edge.stats()
        wall = usage["wall_s"]
        alive = [c for c, r in recs.items() if r.finished is None and r.connected]
        dropped = [c for c, r in recs.items() if r.finished is not None]
        fps = {c: (frames1[c] - frames0[c]) / wall for c in alive}
        rtp = {c: (rtp1[c][0] - rtp0[c][0]) / wall for c in alive if c in rtp0 and c in rtp1}
        tx = {c: (rtp1[c][1] - rtp0[c][1]) / wall for c in alive if c in rtp0 and c in rtp1}
        short = [c for c in alive if recs[c].consumer.bytes != recs[c].consumer.frames * 320]
        failure = ""
        died = self.uas.exit_status()
        if died is not None:
            failure = f"the sipp UAS exited ({died}) during the hold"
        elif len(alive) < target:
            codes = sorted({(r.finished.outcome, r.finished.sip_code) for r in recs.values() if r.finished},
                           key=str)[:4]  # fmt: skip
            failure = f"{target - len(alive)} calls not up ({len(dropped)} ended: {codes})"
        elif min(fps.values(), default=0) < plan.min_rate:
            slow = sum(1 for v in fps.values() if v < plan.min_rate)
            failure = f"{slow} calls below {plan.min_rate} frames/s (min {min(fps.values()):.1f})"
        elif len(rtp) < target or min(rtp.values(), default=0) < plan.min_rate:
            slow = target - sum(1 for v in rtp.values() if v >= plan.min_rate)
            failure = f"{slow} calls below {plan.min_rate} RTP packets/s received"
        elif short:
            failure = f"{len(short)} calls got frames that were not 320 bytes"
        if failure and usage["system_busy_pct"] >= 97:
            failure += f"; machine CPU saturated ({usage['system_busy_pct']}% busy, load {loadavg()})"
        cpu = usage["cpu_pct"]
        busiest = usage["threads"][0] if usage["threads"] else {"thread": "-", "cpu_pct": 0.0}
        saturated = ""
        if busiest["cpu_pct"] >= SATURATED_PCT:
            saturated = f"dialer thread {busiest['thread']} at {busiest['cpu_pct']}% of a core"
        elif cpu >= SATURATED_PCT * NCPU:
            saturated = f"dialer process at {cpu}% ({NCPU} cores)"
        else:
            s = usage["sipp"].get("uas", {})
            if s.get("busiest_thread_pct", 0) >= SATURATED_PCT:
                saturated = f"sipp UAS thread at {s['busiest_thread_pct']}% of a core"
        fd = stats1.get("frames_delivered", 0) - stats0.get("frames_delivered", 0)
        pump = stats1.get("pump_ns", 0) - stats0.get("pump_ns", 0)
        feed = stats1.get("feed_ns", 0) - stats0.get("feed_ns", 0)
        n = max(1, len(alive))
        return {
            "calls": target,
            "passed": not failure,
            "failure": failure,
            "connected": len(alive),
            "setup_s": round(setup_s, 2),
            "min_frames_per_s": round(min(fps.values(), default=0.0), 2),
            "median_frames_per_s": round(statistics.median(fps.values()), 2) if fps else 0.0,
            "calls_without_frames": sum(1 for v in fps.values() if v == 0),
            "min_rtp_rx_per_s": round(min(rtp.values(), default=0.0), 2),
            "min_rtp_tx_per_s": round(min(tx.values(), default=0.0), 2),
            "calls_without_rtp": target - sum(1 for v in rtp.values() if v > 0),
            "frames_delivered": fd,
            "frames_dropped": stats1.get("frames_dropped", 0) - stats0.get("frames_dropped", 0),
            "pump_us_per_frame": round(pump / fd / 1000, 2) if fd else None,
            "feed_us_per_frame": round(feed / fd / 1000, 2) if fd else None,
            "cpu_pct": cpu,
            "cpu_pct_per_100_calls": round(cpu / (n / 100), 2),
            "rss_mb": round(rss, 1),
            "rss_mb_delta": round(rss - self.idle_rss, 1),
            "rss_mb_per_100_calls": round((rss - self.idle_rss) / (n / 100), 2),
            "busiest_thread": f"{busiest['thread']} {busiest['cpu_pct']}%",
            "threads": usage["threads"],
            "system_busy_pct": usage["system_busy_pct"],
            "sipp_uas": {**usage["sipp"].get("uas", {}), "exit": self.uas.exit_status()},
            "udp_drops": usage["udp_drops"],
            "saturated": saturated,
            "loadavg": loadavg(),
        }

    # ------------------------------------------------------------------ calls per second

    async def cps(self) -> dict[str, Any]:
        plan = self.plan
        tried: list[dict[str, Any]] = []
        best = 0.0
        stopped = "all rates passed"
        for rate in plan.cps_rates:
            self.ensure_uas()
            result = await self.cps_rate(rate)
            tried.append(result)
            self.log(
                f"  {rate:>5.0f} cps x {plan.cps_duration_s:.0f} s: {result['answered']}/{result['placed']} "
                f"answered, {result['failures']} failures {result['failure_kinds'] or ''}, setup p50 "
                f"{result['setup_ms_p50']:.0f} ms p99 {result['setup_ms_p99']:.0f} ms, peak "
                f"{result['peak_concurrent']} up, CPU {result['cpu_pct']:.0f}%, "
                f"{'pass' if result['passed'] else 'FAIL'}"
            )
            if not result["passed"]:
                stopped = f"{rate:g} cps failed: {result['failures']} failures {result['failure_kinds']}"
                break
            best = rate
        return {
            "cps_sustained": best,
            "stopped_because": stopped,
            "duration_s": plan.cps_duration_s,
            "hold_s": plan.cps_hold_s,
            "failures_per_rate": {f"{t['rate']:g}": t["failures"] for t in tried},
            "tried": tried,
        }

    async def cps_rate(self, rate: float) -> dict[str, Any]:
        plan = self.plan
        loop = asyncio.get_running_loop()
        edge = self.edge
        hold = plan.cps_hold_s

        def on_connect(call_id: str, rec: CallRec) -> None:
            def bye() -> None:
                if rec.finished is None and edge.running:
                    edge.hangup(call_id)

            loop.call_later(hold, bye)

        self.calls.on_connect = on_connect
        total = int(rate * plan.cps_duration_s)
        ids: list[str] = []
        stats0 = edge.stats()
        win = Window(self.names, {"uas": self.uas.pid}, self.port_groups())
        t0 = time.monotonic()
        peak, next_sample = 0, t0
        deadline = t0 + plan.cps_duration_s + 5.0
        overload = ""
        # calls placed and still waiting for an answer: past this the edge is not keeping up,
        # and going on would only queue thousands of commands (bounded: stop originating)
        max_pending = max(100, int(rate * OVERLOAD_BACKLOG_S))
        while len(ids) < total and time.monotonic() < deadline:
            now = time.monotonic()
            due = min(total, int((now - t0) * rate) + 1)
            while len(ids) < due:
                ids.append(self.place(f"r{rate:g}-"))
            if now >= next_sample:
                peak = max(peak, int(edge.stats().get("calls_active", 0)))
                next_sample = now + 0.25
                pending = len(self.calls.by_id) - self.calls.settled
                if pending > max_pending:
                    overload = (f"overload: {pending} calls without an answer after "
                                f"{now - t0:.1f} s; {total - len(ids)} calls not placed")
                    break
            await asyncio.sleep(0.005)
        origin_s = time.monotonic() - t0
        usage = win.close()  # CPU over the origination period
        # wait for them to end: hold + a slack (a call nobody answers ends at the ring timeout)
        end_deadline = time.monotonic() + hold + 25.0
        while time.monotonic() < end_deadline:
            if all(self.calls.by_id[c].finished for c in ids):
                break
            await asyncio.sleep(0.1)
        self.calls.on_connect = None
        for c in ids:  # whatever is still up after the deadline counts as a failure
            if self.calls.by_id[c].finished is None:
                edge.hangup(c)
        stats1 = edge.stats()
        kinds: dict[str, int] = {}
        setup: list[float] = []
        answered = 0
        for c in ids:
            r = self.calls.by_id[c]
            end = r.finished
            if r.connected:
                setup.append((r.connected - r.placed) * 1000)
            if end is None:
                kind = "not ended"
            elif str(end.outcome) != "answered":
                kind = f"{end.outcome}:{end.sip_code} {end.reason[:40]}".strip()
            elif end.hangup_by != "dialer":
                kind = f"ended by {end.hangup_by}"
            elif r.consumer.frames == 0:
                kind = "no frames"
            else:
                kind = ""
            if end is not None and str(end.outcome) == "answered":
                answered += 1
            if kind:
                kinds[kind] = kinds.get(kind, 0) + 1
        failures = sum(kinds.values())
        frames = [self.calls.by_id[c].consumer.frames for c in ids if self.calls.by_id[c].connected]
        await self.settle(20.0)
        n_ok = len(ids) - failures
        return {
            "rate": rate,
            "placed": len(ids),
            "achieved_cps": round(len(ids) / origin_s, 1) if origin_s else 0.0,
            "answered": answered,
            "failures": failures + (total - len(ids)),
            "failure_kinds": {**kinds, **({"not placed (overload)": total - len(ids)} if total > len(ids) else {})},
            "overload": overload,
            "passed": failures == 0 and len(ids) == total,
            "setup_ms_p50": round(_pct(setup, 0.5), 1),
            "setup_ms_p99": round(_pct(setup, 0.99), 1),
            "setup_ms_max": round(max(setup, default=0.0), 1),
            "min_frames_per_call": min(frames, default=0),
            "median_frames_per_call": int(statistics.median(frames)) if frames else 0,
            "frames_dropped": stats1.get("frames_dropped", 0) - stats0.get("frames_dropped", 0),
            "peak_concurrent": peak,
            "ok_calls": n_ok,
            "cpu_pct": usage["cpu_pct"],
            "busiest_thread": usage["threads"][0] if usage["threads"] else None,
            "threads": usage["threads"],
            "system_busy_pct": usage["system_busy_pct"],
            "sipp_uas": usage["sipp"].get("uas", {}),
            "udp_drops": usage["udp_drops"],
            "loadavg": loadavg(),
        }


# ---------------------------------------------------------------------------- main


def _engine() -> dict[str, Any]:
    info = engine_info() or {}
    keep = ("summary", "version", "pjproject", "call_capacity", "max_calls", "max_conf_ports",
            "ioqueue", "ioqueue_max_handles", "frame_port", "assertions", "python")  # fmt: skip
    return {k: info[k] for k in keep if k in info} or {"error": "pjsua2 not importable"}


@contextlib.contextmanager
def private_stdout() -> Iterator[TextIO]:
    """PJSIP logs to fd 1: send fd 1 to stderr and keep a private copy of stdout for results."""
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    out = os.fdopen(os.dup(saved), "w")
    try:
        yield out
    finally:
        out.flush()
        os.dup2(saved, 1)
        os.close(saved)
        out.close()


def raise_nofile(wanted: int = 65536) -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def summary(result: dict[str, Any]) -> dict[str, Any]:
    """The headline figures, computed from the phases."""
    conc = result.get("concurrency") or {}
    levels = [lv for lv in conc.get("levels", []) if lv["passed"]]
    plateau = levels[-1] if levels else None
    return {
        "max_concurrent_calls": conc.get("max_concurrent_calls", 0),
        "min_frames_per_s_per_call": plateau["min_frames_per_s"] if plateau else None,
        "cps_sustained": (result.get("cps") or {}).get("cps_sustained", 0),
        "cps_failures": (result.get("cps") or {}).get("failures_per_rate", {}),
        "sipp_ceiling_cps": (result.get("sipp_ceiling") or {}).get("cps", 0),
        "cpu_pct_per_100_calls": plateau["cpu_pct_per_100_calls"] if plateau else None,
        "rss_mb_per_100_calls": plateau["rss_mb_per_100_calls"] if plateau else None,
        "plateau_calls": plateau["calls"] if plateau else 0,
    }


def human(result: dict[str, Any], out: TextIO) -> None:
    w = out.write
    eng = result["engine"]
    w(f"engine: {eng.get('summary', eng)}\n")
    w(f"machine: {result['machine']['cpus']} CPUs, load {result['machine']['loadavg_start']} at start, "
      f"{result['elapsed_s']} s\n")  # fmt: skip
    w(f"max_concurrent_calls   {result['max_concurrent_calls']}  "
      f"(min {result['min_frames_per_s_per_call']} frames/s per call; "
      f"{result['concurrency'].get('stopped_because', '')})\n")  # fmt: skip
    w(f"cps_sustained          {result['cps_sustained']:g}  (failures per rate: {result['cps_failures']})\n")
    w(f"sipp_ceiling_cps       {result['sipp_ceiling_cps']:g}\n")
    w(f"cpu_pct_per_100_calls  {result['cpu_pct_per_100_calls']}  (at {result['plateau_calls']} calls)\n")
    w(f"rss_mb_per_100_calls   {result['rss_mb_per_100_calls']}\n")


async def _main_async(plan: Plan, args: argparse.Namespace, log: Callable[[str], None]) -> dict[str, Any]:
    started = time.monotonic()
    result: dict[str, Any] = {
        "engine": _engine(),
        "machine": {"cpus": NCPU, "loadavg_start": loadavg(), "nofile": raise_nofile(),
                    "sipp": _sipp_version()},  # fmt: skip
        "plan": {k: v for k, v in plan.__dict__.items()},
        "dialer_nice": os.getpriority(os.PRIO_PROCESS, 0),
        "sipp_echo_thread_nice": SIPP_NICE,
    }
    with tempfile.TemporaryDirectory(prefix="bench-sip-") as tmp:
        workdir = Path(args.keep) if args.keep else Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        if not args.skip_ceiling:
            log("sipp ceiling (sipp UAC -> sipp UAS):")
            result["sipp_ceiling"] = await asyncio.to_thread(sipp_ceiling, plan, workdir, log)
        log("dialer (SipEdge in this process -> sipp UAS with -rtp_echo):")
        bench = DialerBench(plan, log, args.rtp_port_start, args.sip_rcvbuf)
        result.update(await bench.run(workdir))
    result["elapsed_s"] = round(time.monotonic() - started, 1)
    result["machine"]["loadavg_end"] = loadavg()
    return {**summary(result), **result}


def _sipp_version() -> str:
    try:
        out = subprocess.run(["sipp", "-v"], capture_output=True, text=True, timeout=5)
        return " ".join((out.stdout + out.stderr).split())[:60]
    except (OSError, subprocess.SubprocessError):
        return "not found"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="bench-sip", description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    ap.add_argument("--quick", action="store_true", help="smoke run: 50 concurrent, 20 cps for 5 s")
    ap.add_argument("--levels", help="concurrency levels, comma-separated (default 100,...,1000)")
    ap.add_argument("--hold", type=float, help="seconds each concurrency level is measured")
    ap.add_argument("--rates", help="cps rates to try, comma-separated (default 50,100,150,200)")
    ap.add_argument("--cps-duration", type=float, help="seconds each rate is sustained (default 30)")
    ap.add_argument("--ceiling-rates", help="sipp->sipp rates, comma-separated")
    ap.add_argument("--min-rate", type=float, help="frames/s and RTP pkt/s each call must reach (45)")
    ap.add_argument("--skip-ceiling", action="store_true", help="skip the sipp->sipp reference")
    ap.add_argument("--rtp-port-start", type=int, default=28000,
                    help="first RTP port of the dialer (default 28000: below the ephemeral ports)")
    ap.add_argument("--sip-rcvbuf", type=int, default=0, metavar="BYTES",
                    help="what-if: give the dialer's SIP socket this receive buffer (default: pjsip's)")
    ap.add_argument("--nice", type=int, default=0, metavar="N",
                    help="what-if: run the dialer at this nice value (negative needs root), as on "
                         "a machine it does not share")
    ap.add_argument("--keep", help="keep sipp files (scenario, stats, error logs) in this directory")
    args = ap.parse_args(argv)

    plan = QUICK if args.quick else FULL
    changes: dict[str, Any] = {}
    if args.levels:
        changes["levels"] = tuple(sorted(int(x) for x in args.levels.split(",")))
    if args.hold:
        changes["hold_s"] = args.hold
    if args.rates:
        changes["cps_rates"] = tuple(float(x) for x in args.rates.split(","))
    if args.cps_duration:
        changes["cps_duration_s"] = args.cps_duration
    if args.ceiling_rates:
        changes["ceiling_rates"] = tuple(float(x) for x in args.ceiling_rates.split(","))
    if args.min_rate:
        changes["min_rate"] = args.min_rate
    if changes:
        plan = Plan(**{**plan.__dict__, **changes})
    if max(plan.levels, default=0) > 1000:
        ap.error("at most 1000 concurrent calls (the engine's capacity is 1024)")
    if shutil.which("sipp") is None:
        print("bench-sip: sipp not found (Debian package sip-tester)", file=sys.stderr)
        return 2
    if engine_info() is None:
        print("bench-sip: pjsua2 is not importable; run scripts/setup", file=sys.stderr)
        return 2
    _quiet_logs()
    if args.nice:
        try:
            os.nice(args.nice)  # before any thread starts: PJSIP's threads inherit it
        except OSError as exc:
            print(f"bench-sip: --nice {args.nice}: {exc}", file=sys.stderr)
            return 2

    def log(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    with private_stdout() as out:
        result = asyncio.run(_main_async(plan, args, log))
        if args.json:
            out.write(json.dumps(result, indent=2, default=str) + "\n")
        else:
            human(result, out)
    if result.get("edge_thread_alive_after_stop"):
        print("bench-sip: the PJSIP thread did not stop in 70 s; exiting without cleanup",
              file=sys.stderr, flush=True)
        os._exit(3)  # interpreter finalisation under a live PJSIP thread aborts the process
    return 0


def _quiet_logs() -> None:
    """Per-call info lines of the edge are not what we measure: warnings and up, on stderr."""
    from dialer.logsetup import configure

    configure("warning", json=True)


if __name__ == "__main__":
    sys.exit(main())

# SPDX-License-Identifier: GPL-2.0-or-later
"""sipp on 127.0.0.1: the answering customer (UAS) and the sipp -> sipp ceiling.

The UAS scenario is embedded here so that the bench runs from any directory; what the
bench does to keep sipp from being what it measures (a bigger echo-socket buffer, echo
threads at a higher priority) is explained in docs/bench-sip.md.
"""

from __future__ import annotations

import contextlib
import os
import resource
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.sip.machine import Window, free_port, udp_free
from benchmarks.sip.plan import Plan

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
            if not udp_free(port):
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
        while udp_free(media) and time.monotonic() < deadline:  # the echo socket comes next
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
            groups: dict[str, Callable[[int], bool]] = {
                "uas_sip": port.__eq__, "uac_sip": uac_port.__eq__,
            }
            win = Window({}, {"uas": server.pid}, groups)
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

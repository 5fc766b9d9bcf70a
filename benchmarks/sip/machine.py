# SPDX-License-Identifier: GPL-2.0-or-later
"""Readings of this machine: CPU per process and thread, RSS, UDP drops, load, free ports.

All from /proc (Linux); nothing here changes anything.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")
NCPU = os.cpu_count() or 1


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
            now, was = threads(pid), self.others0[label]
            per = sorted(
                ((now[t][1] - was.get(t, (n, 0.0))[1]) / wall * 100 for t, (n, _) in now.items()),
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
    out: dict[int, str] = {}
    for thread_id, votes in seen.items():
        # a busy thread is often caught "running": any sighting of its wait names it
        known_waits = [c for c in votes if c in WAITS]
        wait = max(known_waits or list(votes), key=lambda c: votes[c])
        out[thread_id] = WAITS.get(wait, f"pjlib thread (syscall {wait})")
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


def free_port(kind: int = socket.SOCK_DGRAM, *, pair: bool = False) -> int:
    """A free UDP port on 127.0.0.1 (and the next two, with pair=True)."""
    for _ in range(200):
        with socket.socket(socket.AF_INET, kind) as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if port > 65000:
            continue
        if not pair or all(udp_free(p) for p in (port + 1, port + 2, port + 3)):
            return port
    raise RuntimeError("no free port on 127.0.0.1")


def udp_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True

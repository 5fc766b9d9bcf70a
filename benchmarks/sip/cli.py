# SPDX-License-Identifier: GPL-2.0-or-later
"""Arguments, the run, and its output (one JSON object, or a short summary)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TextIO

from benchmarks.sip.load import DialerBench
from benchmarks.sip.machine import NCPU, loadavg
from benchmarks.sip.plan import FULL, QUICK, Plan
from benchmarks.sip.sipp import SIPP_NICE, sipp_ceiling
from dialer.sip.engine import engine_info


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
        # None: --skip-ceiling
        "sipp_ceiling_cps": result["sipp_ceiling"]["cps"] if "sipp_ceiling" in result else None,
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
    ceiling = result["sipp_ceiling_cps"]
    w(f"sipp_ceiling_cps       {'skipped' if ceiling is None else format(ceiling, 'g')}\n")
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
    ap = argparse.ArgumentParser(
        prog="bench-sip",
        description="SIP edge capacity against sipp on 127.0.0.1 (docs/bench-sip.md)",
    )
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

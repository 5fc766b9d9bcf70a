# SPDX-License-Identifier: GPL-2.0-or-later
"""The dialer phases: held concurrency and calls per second through one SipEdge."""

from __future__ import annotations

import asyncio
import contextlib
import os
import statistics
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.sip.calls import CallRec, Calls, CountingConsumer, RtpProbe, _pct
from benchmarks.sip.machine import NCPU, Window, free_port, label_threads, loadavg, rss_mb, threads
from benchmarks.sip.plan import OVERLOAD_BACKLOG_S, SATURATED_PCT, Plan
from benchmarks.sip.sipp import SIPP_RCVBUF, grow_udp_rcvbuf, prioritise_echo_threads, uas
from dialer.config import SipSettings


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
        busiest: dict[str, Any] = usage["threads"][0] if usage["threads"] else {"thread": "-", "cpu_pct": 0.0}
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

"""The pacing benchmark behind ``scripts/bench-pacing`` (an edge: it reads the CPU clock).

Runs every pacer on a matrix of campaigns - agents x live-answer probability x
mean handle time - prints one table side by side and writes it into
docs/pacing.md between the ``bench-pacing`` markers. It also times every
``CampaignPacing.decide()`` call of the predictive pacers in CPU time.

Simulated time per scenario: a one-hour warm-up shift (not measured: the
pacer learns its statistics as it would on a campaign's first morning), then
``DAYS`` measured days. Each day is one shift, long enough for about
``LIVE_PER_DAY`` live answers, between 1 and 8 hours: small teams get full
8-hour days, large ones shorter days with the same statistical weight, which
keeps the whole matrix to about ten minutes on one core.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import msgspec

from dialer.pacing.scenario import Scenario
from dialer.pacing.sim import RunResult, simulate

AGENTS = (5, 10, 20, 50, 100)
LIVE = (0.15, 0.3, 0.5)
HANDLE_S = (60, 120, 300)
PACERS = ("predictive", "predictive:0.01", "progressive", "power", "vicidial")
DAYS = 3
LIVE_PER_DAY = 2000
WARMUP_H = 1.0
QUICK = {"agents": (5, 20, 100), "live": (0.3,), "handle": (120,), "days": 2, "live_per_day": 1200}
MACHINE_SHARE = 0.2
BEGIN, END = "<!-- bench-pacing:begin -->", "<!-- bench-pacing:end -->"


def shift_hours(agents: int, handle_s: float, wrap_s: float = 10.0) -> float:
    """Hours per day for about LIVE_PER_DAY live answers at ~90 % occupancy, in [1, 8]."""
    per_hour = agents * 3600.0 / (handle_s + wrap_s) * 0.9
    return float(min(8.0, max(1.0, math.ceil(2 * LIVE_PER_DAY / per_hour) / 2)))


def make_scenario(agents: int, live: float, handle_s: float, hours_per_day: float,
                  days: int) -> Scenario:
    text = (f"agents = {agents}\nlive_answer_probability = {live}\n"
            f"machine_share = {MACHINE_SHARE}\nhandle_time_mean_s = {handle_s}\n"
            f"shift_hours = {hours_per_day}\nhours = {hours_per_day * days}\n"
            f"warmup_hours = {min(WARMUP_H, hours_per_day)}\n"
            f'name = "a{agents}-p{live}-h{handle_s}"\n')
    from dialer.pacing.scenario import loads

    return loads(text)


@dataclass
class DecideTimer:
    """Wraps decide() and records its CPU time (thread CPU clock, ns)."""

    samples: list[int] = field(default_factory=list)

    def __call__(self, decide: Callable[[float], int], now: float) -> int:
        t0 = time.thread_time_ns()
        n = decide(now)
        self.samples.append(time.thread_time_ns() - t0)
        return n

    def stats(self) -> tuple[float, float, float]:
        """(mean, p99, max) in microseconds."""
        if not self.samples:
            return 0.0, 0.0, 0.0
        xs = sorted(self.samples)
        p99 = xs[min(len(xs) - 1, int(0.99 * len(xs)))]
        return sum(xs) / len(xs) / 1e3, p99 / 1e3, xs[-1] / 1e3


@dataclass
class Row:
    agents: int
    live: float
    handle_s: float
    hours_per_day: float
    days: int
    results: dict[str, RunResult]


def run_matrix(agents: Iterable[int], lives: Iterable[float], handles: Iterable[float], *,
               days: int, pacers: tuple[str, ...] = PACERS, seed: int = 1,
               progress: Callable[[str], None] | None = None
               ) -> tuple[list[Row], dict[int, DecideTimer]]:
    rows: list[Row] = []
    timers: dict[int, DecideTimer] = {}
    for n in agents:
        timer = timers.setdefault(n, DecideTimer())
        for p in lives:
            for h in handles:
                hpd = shift_hours(n, h)
                sc = make_scenario(n, p, h, hpd, days)
                results: dict[str, RunResult] = {}
                for pacer in pacers:
                    hook = timer if pacer.startswith("predictive") else None
                    t0 = time.process_time()
                    results[pacer] = simulate(sc, pacer, seed=seed, decide_hook=hook)
                    if progress:
                        r = results[pacer]
                        progress(f"{sc.name:<18} {pacer:<16} occ {r.occupancy:.3f} "
                                 f"ab {100 * r.abandon_rate:5.2f}% "
                                 f"maxday {100 * r.max_daily_abandon_rate:5.2f}% "
                                 f"({time.process_time() - t0:.1f} s)")
                rows.append(Row(n, p, h, hpd, days, results))
    return rows, timers


def _pct(x: float) -> str:
    return f"{100 * x:.2f}"


def table(rows: list[Row]) -> str:
    head = ("| agents | live | AHT s | h/day | predictive occ | ab % | max day % "
            "| pred. 1 % occ | ab % | max day % | progressive occ | power occ | ab % "
            "| vicidial occ | ab % | max day % | pred. - vicidial |")
    sep = "|" + "|".join("---:" for _ in range(head.count("|") - 1)) + "|"
    out = [head, sep]
    for r in rows:
        pr, p1, pg = r.results["predictive"], r.results["predictive:0.01"], r.results["progressive"]
        pw, vd = r.results["power"], r.results["vicidial"]
        out.append(
            f"| {r.agents} | {r.live:g} | {r.handle_s:g} | {r.hours_per_day:g} "
            f"| {pr.occupancy:.3f} | {_pct(pr.abandon_rate)} | {_pct(pr.max_daily_abandon_rate)} "
            f"| {p1.occupancy:.3f} | {_pct(p1.abandon_rate)} | {_pct(p1.max_daily_abandon_rate)} "
            f"| {pg.occupancy:.3f} | {pw.occupancy:.3f} | {_pct(pw.abandon_rate)} "
            f"| {vd.occupancy:.3f} | {_pct(vd.abandon_rate)} | {_pct(vd.max_daily_abandon_rate)} "
            f"| {100 * (pr.occupancy - vd.occupancy):+.1f} |"
        )
    return "\n".join(out)


THRESHOLDS: dict[tuple[int, float, float], float] = {
    (20, 0.3, 120.0): 0.90, (50, 0.3, 120.0): 0.95, (100, 0.3, 120.0): 0.97,
}


def check_targets(rows: list[Row]) -> list[str]:
    """One line per target: held everywhere, or where it fell short."""
    misses: dict[str, list[str]] = {k: [] for k in
                                    ("cap", "one", "one_day", "vici", "prog", "level")}
    for r in rows:
        where = f"{r.agents}/{r.live:g}/{r.handle_s:g}"
        pr, p1, pg = r.results["predictive"], r.results["predictive:0.01"], r.results["progressive"]
        vd = r.results["vicidial"]
        if pr.abandon_rate > 0.03 or pr.max_daily_abandon_rate > 0.03:
            misses["cap"].append(f"{where} ({_pct(pr.abandon_rate)} %, day {_pct(pr.max_daily_abandon_rate)} %)")
        if p1.abandon_rate > 0.01:
            misses["one"].append(f"{where} ({_pct(p1.abandon_rate)} %)")
        if p1.max_daily_abandon_rate > 0.01:
            misses["one_day"].append(f"{where} ({_pct(p1.max_daily_abandon_rate)} %)")
        if pr.occupancy < vd.occupancy + 0.05:
            misses["vici"].append(f"{where} ({100 * (pr.occupancy - vd.occupancy):+.1f})")
        if pr.occupancy < pg.occupancy:
            misses["prog"].append(f"{where} ({pr.occupancy:.3f} < {pg.occupancy:.3f})")
        need = THRESHOLDS.get((r.agents, r.live, r.handle_s))
        if need is not None and pr.occupancy < need:
            misses["level"].append(f"{where} ({pr.occupancy:.3f} < {need})")
    names = {
        "cap": "abandon <= 3 % over the run and every day (target 2.5 %)",
        "one": "target 1 %: abandon <= 1 % over the run",
        "one_day": "target 1 %: abandon <= 1 % in every day",
        "vici": "occupancy >= vicidial + 5 points",
        "prog": "occupancy >= progressive",
        "level": "occupancy >= 0.90 / 0.95 / 0.97 at 20 / 50 / 100 agents (0.3 live, 120 s)",
    }
    return [f"- {names[k]}: " + ("holds on every scenario" if not v else
                                  f"falls short on {len(v)}: " + ", ".join(v))
            for k, v in misses.items()]


def decide_table(timers: dict[int, DecideTimer]) -> str:
    out = ["| agents | decisions | mean µs | p99 µs | max µs |", "|---:|---:|---:|---:|---:|"]
    for n, t in sorted(timers.items()):
        mean, p99, mx = t.stats()
        out.append(f"| {n} | {len(t.samples)} | {mean:.0f} | {p99:.0f} | {mx:.0f} |")
    return "\n".join(out)


def write_doc(path: Path, text: str) -> None:
    doc = path.read_text() if path.exists() else f"# Pacing\n\n{BEGIN}\n{END}\n"
    if BEGIN not in doc or END not in doc:
        doc = doc.rstrip() + f"\n\n{BEGIN}\n{END}\n"
    pattern = re.compile(re.escape(BEGIN) + ".*?" + re.escape(END), re.S)
    path.write_text(pattern.sub(lambda _: f"{BEGIN}\n{text}\n{END}", doc))


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="bench-pacing", description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="a small smoke run (3 scenarios)")
    ap.add_argument("--doc", default="docs/pacing.md", help="document to write the table into")
    ap.add_argument("--no-doc", action="store_true", help="print only")
    ap.add_argument("--json", metavar="FILE", help="also write every run's summary as JSON")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    global LIVE_PER_DAY
    if args.quick:
        LIVE_PER_DAY = int(QUICK["live_per_day"])  # type: ignore[call-overload]
        agents, lives, handles = QUICK["agents"], QUICK["live"], QUICK["handle"]
        days = int(QUICK["days"])  # type: ignore[call-overload]
    else:
        agents, lives, handles, days = AGENTS, LIVE, HANDLE_S, DAYS
    wall0, cpu0 = time.perf_counter(), time.process_time()
    rows, timers = run_matrix(agents, lives, handles, days=days, seed=args.seed,  # type: ignore[arg-type]
                              progress=lambda line: print(line, file=sys.stderr, flush=True))
    cpu = time.process_time() - cpu0
    wall = time.perf_counter() - wall0
    hours = sorted({(r.agents, float(r.handle_s), r.hours_per_day) for r in rows})
    hours_text = ", ".join(f"{a} agents/{h:g} s: {d:g} h" for a, h, d in hours)
    text = "\n".join([
        f"Measured {time.strftime('%Y-%m-%d')} with `scripts/bench-pacing{' --quick' if args.quick else ''}`"
        f" (seed {args.seed}): machine share {MACHINE_SHARE}, every other scenario key at its default "
        f"(docs/simulate.md); a {WARMUP_H:g}-hour warm-up shift, then {days} measured days; "
        f"hours per day by agents/handle time: {hours_text}. "
        f"{len(rows) * len(PACERS)} runs in {cpu:.0f} s CPU ({wall:.0f} s wall), one process.",
        "",
        table(rows),
        "",
        "occ = occupancy, (talk + wrap-up) / logged-in time; ab = abandon rate over the run; "
        "max day = the worst calendar day; pred. 1 % = predictive with target_abandon_rate 0.01.",
        "",
        "Targets:",
        "",
        *check_targets(rows),
        "",
        "CPU time of one `CampaignPacing.decide()` (predictive pacers, every decision of the runs):",
        "",
        decide_table(timers),
    ])
    print(text)
    if args.json:
        Path(args.json).write_text(msgspec.json.encode(
            [{"agents": r.agents, "live": r.live, "handle_s": r.handle_s,
              "hours_per_day": r.hours_per_day, "days": r.days,
              "runs": {k: v.summary() for k, v in r.results.items()}} for r in rows]).decode())
    if not args.no_doc:
        write_doc(Path(args.doc), text)
    return 0

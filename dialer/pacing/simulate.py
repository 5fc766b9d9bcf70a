"""``dialer simulate SCENARIO.toml [--pacer NAME] [--seed N] [--hours H] [--json] [--plot FILE.png]``

Runs the discrete-event simulation of :mod:`dialer.pacing.sim` with one pacer,
or with every pacer side by side. The scenario format is in docs/simulate.md.
A bad scenario or option prints the field at fault and exits with status 2.
"""

from __future__ import annotations

import argparse
import json
import sys

from dialer.errors import ConfigError
from dialer.pacing import scenario as scenario_mod
from dialer.pacing.sim import RunResult, simulate

DEFAULT_PACERS = ("predictive", "progressive", "power", "vicidial")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="dialer simulate",
        description="Simulate an outbound campaign with the real pacers (docs/simulate.md).",
    )
    p.add_argument("scenario", help="scenario TOML file")
    p.add_argument("--pacer", action="append",
                   help="predictive[:TARGET], progressive, power[:RATIO] or vicidial; "
                        "repeat for several (default: all four)")
    p.add_argument("--seed", type=int, help="random seed (default: the scenario's)")
    p.add_argument("--hours", type=float, help="working hours to simulate (default: the scenario's)")
    p.add_argument("--json", action="store_true", help="one JSON object per line, one per pacer")
    p.add_argument("--plot", metavar="FILE.png", help="draw dial level, abandon rate and occupancy")
    return p


def format_table(results: list[RunResult]) -> str:
    head = (f"{'pacer':<16}{'occupancy':>10}{'wait s/call':>12}{'abandon':>9}{'max day':>9}"
            f"{'conn/agent-h':>13}{'dials':>9}{'live':>8}{'aband.':>8}")
    lines = [head, "-" * len(head)]
    for r in results:
        lines.append(
            f"{r.pacer:<16}{r.occupancy:>10.3f}{r.agent_wait_s_per_call:>12.1f}"
            f"{100 * r.abandon_rate:>8.2f}%{100 * r.max_daily_abandon_rate:>8.2f}%"
            f"{r.connects_per_agent_hour:>13.1f}{r.dials:>9}{r.live_answers:>8}{r.abandoned:>8}"
        )
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    try:
        sc = scenario_mod.load(args.scenario)
        if args.hours is not None and not args.hours > 0:
            raise ConfigError("--hours", "must be positive")
        pacers = args.pacer or list(DEFAULT_PACERS)
        results = []
        for pacer in pacers:
            result = simulate(sc, pacer, seed=args.seed, hours=args.hours)
            results.append(result)
            if args.json:
                print(json.dumps(result.summary()), flush=True)
    except ConfigError as exc:
        print(f"dialer simulate: {exc}", file=sys.stderr)
        return 2
    if not args.json:
        hours = results[0].hours if results else 0.0
        print(f"scenario {sc.name}: {sc.agents} agents, live {sc.live_answer_probability:g}, "
              f"machine {sc.machine_share:g}, handle {sc.handle_time_mean_s:g} s, {hours:g} h")
        print(format_table(results))
    if args.plot:
        from dialer.pacing.plot import plot_runs

        plot_runs(results, args.plot, title=sc.name)
        if not args.json:
            print(f"plot written to {args.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

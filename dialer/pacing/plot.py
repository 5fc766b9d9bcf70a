"""Draw simulation runs: dial level, abandon rate and occupancy over time (``--plot``)."""

from __future__ import annotations

import datetime as dt

from dialer.pacing.sim import RunResult


def plot_runs(results: list[RunResult], path: str, title: str = "") -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(3, 1, figsize=(11, 8), sharex=True)
    for r in results:
        s = r.series
        if not s.t:
            continue
        # Working hours only: put the days side by side on one axis of elapsed shift time.
        t0 = s.t[0]
        x = []
        offset = 0.0
        prev = t0
        for t in s.t:
            if t - prev > 3600.0:  # a night: close the gap
                offset += t - prev - 60.0
            x.append((t - t0 - offset) / 3600.0)
            prev = t
        axes[0].plot(x, s.dial_level, label=r.pacer, linewidth=0.8)
        axes[1].plot(x, [100 * v for v in s.abandon_rate_day], label=r.pacer, linewidth=0.8)
        axes[2].plot(x, [100 * v for v in s.occupancy], label=r.pacer, linewidth=0.6)
    axes[0].set_ylabel("dial level\n(lines / agent)")
    axes[1].set_ylabel("abandon rate\ntoday (%)")
    axes[1].axhline(3.0, color="red", linestyle=":", linewidth=0.8)
    axes[2].set_ylabel("occupancy\nper minute (%)")
    axes[2].set_xlabel("working hours (nights removed)")
    axes[0].legend(loc="upper right", fontsize="small")
    first = results[0].series.t[0] if results and results[0].series.t else 0.0
    start = dt.datetime.fromtimestamp(first, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    fig.suptitle(f"{title} - from {start}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)

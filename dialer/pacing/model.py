"""The predictive model: how many new dials keep the projected abandon rate on target.

Picture the next ``H`` seconds on a grid ``s = 0, 1, 2 ... H``.

*Demand.* Every line in progress may still produce a live person who needs an
agent. For a line that has rung ``r`` seconds, the chance that it produces one
by ``r + s`` is::

    P(live) * P(r < A, A + D <= r + s) / P(still ringing at r)

where ``A`` is the time to answer of live answers and ``D`` the AMD decision
delay for humans; ``P(still ringing at r)`` mixes the survival curves of live
answers, machine answers and unanswered lines, each weighted by its share. A
line already in AMD ``a`` seconds becomes a live demand with the conditional
probability of a human verdict in ``(a, a + s]``. A new dial contributes
``g0(s) = P(live) * P(T <= s)``, ``T`` being the dial-to-demand time.

*Supply.* A Ready agent is supply now. A talking agent who has talked ``e``
seconds is free by ``s`` with ``P(talk <= e + s - W | talk > e)``, averaged
over quantiles of the wrap-up time ``W``; an agent in wrap-up ``w`` seconds with
``P(wrap <= w + s | wrap > w)``. A live person waits up to the 2-second grace,
so demand at ``s`` may be met by supply at ``s + 2``.

*Deficit.* ``X(s) = waiting + demand(s) + n * g0(s) - supply(s + 2)`` is a sum
of independent Bernoulli terms; as a normal variable its expected positive part
``E[X(s)+]`` is the number of people that would find no agent by ``s``. Idle
agents carry over but missed people do not, so the expected abandons over the
horizon are ``max_s E[X(s)+]``.

*Decision.* Place the largest ``n`` for which those abandons stay within
``theta`` times the live answers expected over the horizon. ``theta`` is the
target abandon rate corrected by feedback from the observed short-window rate
(see :mod:`dialer.pacing.controller`).

The tables depend only on the statistics, so they are rebuilt now and then
(:meth:`PredictiveModel.refresh`); a decision is a few small matrix products.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from dialer.pacing.abandon import GRACE_S
from dialer.pacing.estimators import FloatArray, Histogram
from dialer.pacing.stats import AMD_STEP_S, LIVE, MACHINE, NONE, RING_STEP_S, CampaignStats

STEP_S = RING_STEP_S  # the time grid step; ring histograms use the same bins

# E[X+] for X ~ N(mu, sigma^2) is sigma * psi(mu / sigma), psi(z) = z Phi(z) + phi(z).
_Z = np.linspace(-8.0, 8.0, 1601)
_PHI = np.array([0.5 * (1.0 + math.erf(z / math.sqrt(2.0))) for z in _Z])
_WRAP_QUANTILES = [0.1, 0.3, 0.5, 0.7, 0.9]


_SMALL_N = np.arange(8, dtype=np.float64)[:, None]


def _phi(z: FloatArray) -> FloatArray:
    """The standard normal CDF by table lookup (steps of 0.01, |z| <= 8)."""
    x = z * 100.0
    x += 800.5
    np.minimum(x, 1600.0, out=x)
    np.maximum(x, 0.0, out=x)
    out: FloatArray = _PHI.take(x.astype(np.intp))
    return out


def prob_positive(mean: FloatArray, var: FloatArray) -> FloatArray:
    """P(X > -1/2) for X ~ N(mean, var): an integer deficit of at least 0, elementwise."""
    sd = np.sqrt(np.maximum(var, 1e-9))
    return _phi((mean + 0.5) / sd)


def _conditional_done(hist: Histogram, elapsed: FloatArray, ahead: FloatArray,
                      tail_mean: float) -> FloatArray:
    """P(X <= elapsed + ahead | X > elapsed) for every (elapsed, ahead) pair (broadcast).

    Past the end of what has been seen, fall back to an exponential tail.
    """
    f_e = hist.cdf(elapsed)
    surv = 1.0 - f_e
    f_ahead = hist.cdf(elapsed + np.maximum(ahead, 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(surv > 2e-3, (f_ahead - f_e) / surv, 0.0)
    tail = 1.0 - np.exp(-np.maximum(ahead, 0.0) / max(tail_mean, 1.0))
    p = np.where(surv > 2e-3, p, tail)
    return np.clip(p, 0.0, 1.0)


def _midpoints(edges: FloatArray) -> FloatArray:
    lo, hi = edges[:-1], edges[1:]
    geo = np.sqrt(np.maximum(lo, 1e-12) * hi)
    return np.where(lo > 0, geo, hi / 2.0)


@dataclass
class Tables:
    """Probabilities on the time grid ``s`` (seconds ahead), rebuilt from the statistics.

    Every line and agent is one row of ``rows`` (shape (N, 3K)): its signed mean
    contribution to the deficit (demand +, supply -), its variance, and its
    demand alone. Rows ``[0, n_ring)`` are ringing lines by whole seconds rung,
    then lines in AMD by quarter seconds, then talking agents and agents in
    wrap-up by their (geometric) elapsed-time bins.
    """

    s: FloatArray  # (K,) grid
    new_p: FloatArray  # (K,) a new dial's P(live demand by s)
    new_inc: FloatArray  # (K,) ...its increments (the chance of arriving in each slot)
    new_var: FloatArray  # (K,) p (1 - p)
    rows: FloatArray  # (N, 3K)
    n_ring: int
    amd_at: int
    n_amd: int
    busy_at: int
    busy_edges: FloatArray
    wrap_at: int
    wrap_edges: FloatArray
    live_share: float


class PredictiveModel:
    """Stateless between refreshes; the controller owns the statistics."""

    def __init__(self, *, amd_enabled: bool = True, grace_s: float = GRACE_S,
                 max_horizon_s: float = 45.0) -> None:
        self.amd_enabled = amd_enabled
        self.grace_s = grace_s
        self.max_horizon_s = max_horizon_s
        self.tables: Tables | None = None
        self._pending: tuple[FloatArray, FloatArray, FloatArray, FloatArray, float] | None = None

    # ------------------------------------------------------------ tables

    def refresh(self, stats: CampaignStats) -> Tables:
        """Rebuild every table now."""
        self._demand_tables(stats)
        return self._supply_tables(stats)

    def refresh_step(self, stats: CampaignStats) -> bool:
        """Rebuild the tables in two halves, one per call, so that no single decision
        pays for the whole rebuild; True when the new tables are in use."""
        if self._pending is None:
            self._demand_tables(stats)
            return False
        self._supply_tables(stats)
        return True

    def _demand_tables(self, stats: CampaignStats) -> None:
        shares = stats.outcomes.shares
        p_live, p_mach, p_none = (float(shares[i]) for i in (LIVE, MACHINE, NONE))
        demand_q = float(stats.demand.quantiles(np.array([0.98]))[0])
        horizon = min(max(demand_q + STEP_S, 5.0), self.max_horizon_s)
        k_n = int(math.ceil(horizon / STEP_S)) + 1
        s = np.arange(k_n, dtype=np.float64) * STEP_S
        new_p = p_live * stats.demand.cdf(s)

        # ---- ringing lines
        top = max(stats.ring_live.max_seen, stats.ring_machine.max_seen, stats.ring_none.max_seen)
        n_r = min(len(stats.ring_live.counts), int(top / STEP_S) + 2)
        h_live = stats.ring_live.pmf()[:n_r]
        h_mach = stats.ring_machine.pmf()[:n_r]
        h_none = stats.ring_none.pmf()[:n_r]
        # Bin j holds answers in [j, j+1) s, a line in bin i has rung [i, i+1) s:
        # the line is still ringing for answers in later bins, half of its own bin.
        i_idx = np.arange(n_r)
        after = (i_idx[None, :] > i_idx[:, None]).astype(np.float64) + 0.5 * np.eye(n_r)
        still = p_live * (after @ h_live) + p_mach * (after @ h_mach) + p_none * (after @ h_none)
        # numerator[i, k] = sum_d w_d h_live[i + d] F_D(s_k - d): answer d bins from now,
        # then the AMD delay must fit in what is left of s_k.
        d_idx = np.arange(k_n)
        shifted = np.zeros((n_r, k_n))
        for d in range(min(k_n, n_r)):
            shifted[: n_r - d, d] = h_live[d:]
        lag = s[None, :] - d_idx[:, None] * STEP_S  # (d, k)
        if self.amd_enabled and stats.amd_human.samples > 0:
            f_d = np.where(lag >= 0, stats.amd_human.cdf(np.maximum(lag, 0.0)), 0.0)
        else:
            f_d = (lag >= 0).astype(np.float64)
        w_d = np.ones(k_n)
        w_d[0] = 0.5
        numerator = shifted @ (w_d[:, None] * f_d)
        with np.errstate(divide="ignore", invalid="ignore"):
            ring_p = np.where(still[:, None] > 1e-9, p_live * numerator / still[:, None], 0.0)
        ring_p = np.clip(ring_p, 0.0, 1.0)

        # ---- lines in AMD
        if self.amd_enabled:
            amd_top = max(stats.amd_human.max_seen, stats.amd_machine.max_seen)
            n_a = min(len(stats.amd_human.counts), int(amd_top / AMD_STEP_S) + 2)
            a: FloatArray = (np.arange(n_a, dtype=np.float64) + 0.5) * AMD_STEP_S
            q_h = p_live / max(p_live + p_mach, 1e-9)
            fh_a = stats.amd_human.cdf(a)
            fm_a = stats.amd_machine.cdf(a) if stats.amd_machine.samples else np.ones(n_a)
            fh_as = stats.amd_human.cdf(a[:, None] + s[None, :])
            den = q_h * (1.0 - fh_a) + (1.0 - q_h) * (1.0 - fm_a)
            with np.errstate(divide="ignore", invalid="ignore"):
                amd_p = np.where(den[:, None] > 1e-9, q_h * (fh_as - fh_a[:, None]) / den[:, None], 0.0)
            amd_p = np.clip(amd_p, 0.0, 1.0)
        else:
            amd_p = np.zeros((1, k_n))

        self._pending = (s, new_p, ring_p, amd_p, p_live)

    def _supply_tables(self, stats: CampaignStats) -> Tables:
        assert self._pending is not None
        s, new_p, ring_p, amd_p, p_live = self._pending
        self._pending = None
        k_n = len(s)
        # ---- agents. A person arriving in slot (s - 1, s] waits until at most
        # their arrival + grace: on average s - STEP/2 + grace.
        x = s + self.grace_s - STEP_S / 2.0
        wq = np.array(stats.wrap_quantiles(_WRAP_QUANTILES) or [0.0])
        b_mid = _midpoints(stats.talk.edges)
        busy_p = _conditional_done(
            stats.talk, b_mid[:, None, None], x[None, :, None] - wq[None, None, :],
            stats.talk.mean,
        ).mean(axis=2)
        w_mid = _midpoints(stats.wrap.edges)
        if stats.wrap.samples:
            wrap_p = _conditional_done(stats.wrap, w_mid[:, None], x[None, :], stats.wrap.mean)
        else:
            wrap_p = np.ones((len(w_mid), k_n))

        def block(p: FloatArray, sign: float) -> FloatArray:
            demand = p if sign > 0 else np.zeros_like(p)
            return np.hstack([sign * p, p * (1.0 - p), demand])

        blocks = [block(ring_p, 1.0), block(amd_p, 1.0), block(busy_p, -1.0), block(wrap_p, -1.0)]
        sizes = [len(b) for b in blocks]
        self.tables = Tables(
            s=s, new_p=new_p, new_inc=np.diff(new_p, prepend=0.0), new_var=new_p * (1.0 - new_p),
            rows=np.vstack(blocks),
            n_ring=sizes[0], amd_at=sizes[0], n_amd=sizes[1],
            busy_at=sizes[0] + sizes[1], busy_edges=stats.talk.edges,
            wrap_at=sizes[0] + sizes[1] + sizes[2], wrap_edges=stats.wrap.edges,
            live_share=p_live,
        )
        return self.tables

    # ------------------------------------------------------------ decisions

    def projection(
        self, *, ready: int, waiting: int, ring_elapsed: FloatArray, amd_elapsed: FloatArray,
        busy_elapsed: FloatArray, wrap_elapsed: FloatArray,
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Mean and variance of the deficit X(s) with no new dials, and the expected
        cumulative live demand by s (waiting people included)."""
        t = self.tables
        if t is None:
            raise RuntimeError("refresh() the model before planning")
        k = len(t.s)
        # Row of every line and agent in the stacked table (methods and ufuncs, not the
        # numpy wrappers: this runs on every decision).
        parts = []
        if len(ring_elapsed):
            idx = (ring_elapsed * (1.0 / STEP_S)).astype(np.intp)
            parts.append(np.minimum(idx, t.n_ring - 1, out=idx))
        if len(amd_elapsed) and self.amd_enabled:
            idx = (amd_elapsed * (1.0 / AMD_STEP_S)).astype(np.intp)
            np.minimum(idx, t.n_amd - 1, out=idx)
            parts.append(idx + t.amd_at)
        if len(busy_elapsed):
            idx = t.busy_edges.searchsorted(busy_elapsed, "right")
            idx += t.busy_at - 1
            parts.append(np.minimum(idx, t.wrap_at - 1, out=idx))
        if len(wrap_elapsed):
            idx = t.wrap_edges.searchsorted(wrap_elapsed, "right")
            idx += t.wrap_at - 1
            parts.append(np.minimum(idx, len(t.rows) - 1, out=idx))
        if parts:
            rows = t.rows.take(np.concatenate(parts) if len(parts) > 1 else parts[0], axis=0)
            acc = np.add.reduce(rows, axis=0)
        else:
            acc = np.zeros(3 * k)
        mean = acc[:k] + float(waiting - ready)
        return mean, acc[k:2 * k], acc[2 * k:] + float(waiting)

    def plan(
        self, *, ready: int, waiting: int, ring_elapsed: FloatArray, amd_elapsed: FloatArray,
        busy_elapsed: FloatArray, wrap_elapsed: FloatArray, theta: float, n_max: int,
    ) -> int:
        """The largest number of new dials whose projected abandon rate is at most ``theta``."""
        t = self.tables
        if t is None:
            raise RuntimeError("refresh() the model before planning")
        if n_max <= 0:
            return 0
        mean0, var0, demand0 = self.projection(
            ready=ready, waiting=waiting, ring_elapsed=ring_elapsed, amd_elapsed=amd_elapsed,
            busy_elapsed=busy_elapsed, wrap_elapsed=wrap_elapsed,
        )
        g = t.new_p
        g_end = float(g[-1])
        if g_end <= 1e-9:
            return 0
        lives0 = float(demand0[-1])
        # People arriving in each slot of the grid. A person arriving in slot k is
        # abandoned if the deficit at k (demand by k, minus supply by k + grace) is >= 0.
        d_inc0 = demand0.copy()
        d_inc0[1:] -= demand0[:-1]
        g_inc = t.new_inc
        g_var = t.new_var

        def over(n: FloatArray) -> FloatArray:
            """For each candidate count in ``n`` (a column), is the projection over theta?"""
            sd = np.sqrt(var0 + n * g_var + 1e-9)
            p_ab = _phi((mean0 + n * g + 0.5) / sd)
            abandons = np.add.reduce((d_inc0 + n * g_inc) * p_ab, axis=1)
            over_: FloatArray = abandons > theta * (lives0 + n[:, 0] * g_end)
            return over_

        # over(n) is false up to some n and true after. Most decisions place a few
        # dials: look at 0..7 at once, then gallop and bisect.
        first = over(_SMALL_N[: min(n_max, 7) + 1])
        hits = np.nonzero(first)[0]
        if len(hits):
            return int(hits[0]) - 1 if hits[0] > 0 else 0
        lo = min(n_max, 7)
        if lo == n_max:
            return lo
        hi = 16
        while hi <= n_max and not over(np.array([[float(hi)]]))[0]:
            lo, hi = hi, hi * 2
        hi = min(hi, n_max + 1)
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if over(np.array([[float(mid)]]))[0]:
                hi = mid
            else:
                lo = mid
        return lo

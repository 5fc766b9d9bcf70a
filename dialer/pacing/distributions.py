"""Random durations for the simulator, drawn in batches from a seeded numpy Generator."""

from __future__ import annotations

import math

import numpy as np

from dialer.pacing.scenario import Dist

_BATCH = 2048


class Sampler:
    """Draws from one :class:`~dialer.pacing.scenario.Dist`, optionally below ``upper``.

    ``mean_s`` overrides the distribution's mean (handle time comes from
    ``handle_time_mean_s``); an empirical distribution is then rescaled to it.
    Values at or above ``upper`` are redrawn (a truncated distribution), so a
    time to answer never passes the ring timeout.
    """

    def __init__(self, dist: Dist, rng: np.random.Generator, *, mean_s: float | None = None,
                 upper: float | None = None) -> None:
        self.dist = dist
        self.rng = rng
        self.mean = mean_s if mean_s is not None else dist.mean_s
        self.upper = upper
        self._buf: list[float] = []
        if dist.dist == "empirical":
            assert dist.values_s is not None
            values = np.asarray(dist.values_s, dtype=np.float64)
            weights = np.ones(len(values)) if dist.weights is None else np.asarray(dist.weights, float)
            self._p = weights / weights.sum()
            if mean_s is not None:
                values = values * (mean_s / float(values @ self._p))
            self._values = values

    def _raw(self, n: int) -> np.ndarray:
        d = self.dist
        if d.dist == "empirical":
            return self.rng.choice(self._values, size=n, p=self._p)
        mean = float(self.mean or 0.0)
        cv = 1.0 if d.dist == "exponential" else float(d.cv or 0.0)
        if d.dist == "fixed" or cv == 0.0:
            return np.full(n, mean)
        if d.dist == "exponential":
            return self.rng.exponential(mean, size=n)
        if d.dist == "gamma":
            shape = 1.0 / (cv * cv)
            return self.rng.gamma(shape, mean / shape, size=n)
        sigma2 = math.log1p(cv * cv)
        return self.rng.lognormal(math.log(mean) - sigma2 / 2.0, math.sqrt(sigma2), size=n)

    def _refill(self) -> None:
        x = self._raw(_BATCH)
        if self.upper is not None:
            kept = x[x < self.upper]
            # A distribution almost wholly past the bound: clip rather than loop forever.
            x = kept if len(kept) >= _BATCH // 20 else np.minimum(x, self.upper * 0.999)
        self._buf = x[::-1].tolist()

    def __call__(self) -> float:
        if not self._buf:
            self._refill()
        return self._buf.pop()


class Uniforms:
    """Batched U(0, 1) draws."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self._buf: list[float] = []

    def __call__(self) -> float:
        if not self._buf:
            self._buf = self.rng.random(_BATCH).tolist()
        return self._buf.pop()

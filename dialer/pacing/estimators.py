"""Online estimators that forget: the pacer's view of a campaign drifts with the day.

Every estimator weights a sample by ``2 ** (i / half_life)`` where ``i`` counts
samples, so the last ``half_life`` samples carry half the weight. The weights
grow instead of the past decaying, which makes an update O(1); they are
rescaled long before they overflow.
"""

from __future__ import annotations

import bisect
import math

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

_RESCALE_AT = 1e150


class ForgettingWeights:
    """The growing weight shared by one estimator's samples."""

    def __init__(self, half_life: float) -> None:
        if half_life <= 0:
            raise ValueError("half_life must be positive")
        self.half_life = half_life
        self._growth = 2.0 ** (1.0 / half_life)
        self.weight = 1.0
        self.samples = 0  # raw number of samples ever added

    def next(self) -> tuple[float, float]:
        """Weight for the next sample, and a factor (<= 1) to rescale stored sums by."""
        self.samples += 1
        w = self.weight
        self.weight *= self._growth
        if self.weight > _RESCALE_AT:
            scale = 1.0 / self.weight
            self.weight = 1.0
            return w * scale, scale
        return w, 1.0


class Proportion:
    """Share of samples that had a property, with a prior worth ``prior_n`` samples."""

    def __init__(self, half_life: float, prior: float = 0.5, prior_n: float = 2.0) -> None:
        self._w = ForgettingWeights(half_life)
        self._hits = prior * prior_n
        self._n = prior_n

    def add(self, hit: bool | float) -> None:
        w, scale = self._w.next()
        if scale != 1.0:
            self._hits *= scale
            self._n *= scale
        self._hits += w * float(hit)
        self._n += w

    @property
    def value(self) -> float:
        return self._hits / self._n

    @property
    def samples(self) -> int:
        return self._w.samples


class Categorical:
    """Shares of a few exclusive outcomes (e.g. live / machine / no answer per dial)."""

    def __init__(self, k: int, half_life: float, prior: list[float] | None = None,
                 prior_n: float = 3.0) -> None:
        self._w = ForgettingWeights(half_life)
        p = np.full(k, 1.0 / k) if prior is None else np.asarray(prior, dtype=np.float64)
        self._counts: FloatArray = p / p.sum() * prior_n

    def add(self, index: int) -> None:
        w, scale = self._w.next()
        if scale != 1.0:
            self._counts *= scale
        self._counts[index] += w

    @property
    def shares(self) -> FloatArray:
        out: FloatArray = self._counts / self._counts.sum()
        return out

    @property
    def samples(self) -> int:
        return self._w.samples


class Histogram:
    """A forgetting histogram of a positive duration, with a CDF by linear interpolation.

    ``edges`` are the bin edges starting at 0; values past the last edge go in
    the last bin. ``cdf(x)`` is 0 at 0 and 1 at the last edge.
    """

    def __init__(self, edges: FloatArray, half_life: float) -> None:
        if edges[0] != 0.0 or np.any(np.diff(edges) <= 0):
            raise ValueError("edges must start at 0 and increase")
        self.edges = edges
        self._edge_list = [float(e) for e in edges]
        self._last = len(edges) - 2
        self._w = ForgettingWeights(half_life)
        self.counts: FloatArray = np.zeros(len(edges) - 1)
        self._sum = 0.0  # weighted sum of values, for the mean
        self._n = 0.0
        self.max_seen = 0.0

    @classmethod
    def linear(cls, step: float, top: float, half_life: float) -> Histogram:
        n = max(1, math.ceil(top / step))
        return cls(np.arange(n + 1, dtype=np.float64) * step, half_life)

    @classmethod
    def geometric(cls, first: float, top: float, bins: int, half_life: float) -> Histogram:
        inner = np.geomspace(first, top, bins)
        return cls(np.concatenate(([0.0], inner)), half_life)

    def add(self, value: float) -> None:
        value = max(0.0, value)
        w, scale = self._w.next()
        if scale != 1.0:
            self.counts *= scale
            self._sum *= scale
            self._n *= scale
        i = bisect.bisect_right(self._edge_list, value) - 1
        self.counts[min(max(i, 0), self._last)] += w
        self._sum += w * value
        self._n += w
        if value > self.max_seen:
            self.max_seen = value

    @property
    def samples(self) -> int:
        return self._w.samples

    @property
    def mean(self) -> float:
        return self._sum / self._n if self._n > 0 else 0.0

    def cum(self) -> FloatArray:
        """CDF at each edge (len(edges) values, 0 .. 1)."""
        total = self.counts.sum()
        if total <= 0:
            return np.linspace(0.0, 1.0, len(self.edges))
        return np.concatenate(([0.0], np.cumsum(self.counts) / total))

    def cdf(self, x: FloatArray) -> FloatArray:
        out: FloatArray = np.interp(x, self.edges, self.cum())
        return out

    def pmf(self) -> FloatArray:
        total = self.counts.sum()
        if total <= 0:
            return np.full(len(self.counts), 1.0 / len(self.counts))
        out: FloatArray = self.counts / total
        return out

    def quantiles(self, qs: FloatArray) -> FloatArray:
        """Inverse CDF (linear within a bin)."""
        cum = self.cum()
        i = np.clip(np.searchsorted(cum, qs, side="left"), 1, len(cum) - 1)
        lo, hi = cum[i - 1], cum[i]
        frac = np.where(hi > lo, (qs - lo) / np.maximum(hi - lo, 1e-300), 1.0)
        return self.edges[i - 1] + np.clip(frac, 0.0, 1.0) * (self.edges[i] - self.edges[i - 1])

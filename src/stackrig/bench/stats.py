"""The statistics of a noise-aware comparison, in plain Python (no scipy).

Run-to-run noise of storage is multiplicative (a volume is 10% slower, not 300 IOPS
slower), so two groups of runs are compared on the logarithms of their values with
Welch's t (unequal variances, Welch-Satterthwaite degrees of freedom). The interval of
the difference of the mean logs, exponentiated, is the interval of the ratio of the
geometric means: ``exp(d) - 1`` is the relative change.

The t quantile comes from the regularized incomplete beta function (Lentz's continued
fraction, as in Numerical Recipes) inverted by bisection: exact to 1e-10, a few
hundred float operations, no dependency.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Interval", "Summary", "summarize", "t_cdf", "t_quantile", "welch_log_ratio"]


@dataclass(frozen=True, slots=True)
class Summary:
    """n, mean, sample standard deviation, min and max of a sample, and the interval of its mean."""

    n: int
    mean: float
    stdev: float | None
    low: float | None
    """Lower bound of the confidence interval of the mean (t with n-1 degrees of freedom)."""
    high: float | None
    minimum: float
    maximum: float

    @property
    def cv(self) -> float | None:
        """Coefficient of variation (stdev / mean), the run-to-run noise as a fraction."""
        if self.stdev is None or self.mean == 0:
            return None
        return self.stdev / abs(self.mean)


@dataclass(frozen=True, slots=True)
class Interval:
    """A relative change (candidate / baseline - 1) with its confidence interval, or none."""

    change: float
    low: float | None
    high: float | None
    df: float | None
    confidence: float

    @property
    def significant(self) -> bool:
        """True when the interval excludes 0 (no change)."""
        return self.low is not None and self.high is not None and (self.low > 0 or self.high < 0)


def _mean(values: Sequence[float]) -> float:
    return math.fsum(values) / len(values)


def _var(values: Sequence[float]) -> float:
    m = _mean(values)
    return math.fsum((v - m) ** 2 for v in values) / (len(values) - 1)


def summarize(values: Sequence[float], confidence: float = 0.95) -> Summary:
    if not values:
        raise ValueError("no values")
    mean = _mean(values)
    if len(values) < 2:
        return Summary(1, mean, None, None, None, min(values), max(values))
    stdev = math.sqrt(_var(values))
    half = t_quantile(0.5 + confidence / 2, len(values) - 1) * stdev / math.sqrt(len(values))
    low = mean - half
    if min(values) > 0:  # rates and latencies: a mean below 0 is impossible, not merely unlikely
        low = max(low, 0.0)
    return Summary(len(values), mean, stdev, low, mean + half, min(values), max(values))


def welch_log_ratio(
    baseline: Sequence[float], candidate: Sequence[float], confidence: float = 0.95
) -> Interval:
    """The relative change of ``candidate`` over ``baseline`` (ratio of geometric means, minus 1)
    with Welch's interval on the logarithms; no interval when a side has fewer than 2 values
    (or no spread at all on both sides)."""
    if not baseline or not candidate or min(*baseline, *candidate) <= 0:
        raise ValueError("Welch's t on logarithms needs positive values on both sides")
    a = [math.log(v) for v in baseline]
    b = [math.log(v) for v in candidate]
    diff = _mean(b) - _mean(a)
    if len(a) < 2 or len(b) < 2:
        return Interval(math.expm1(diff), None, None, None, confidence)
    va, vb = _var(a) / len(a), _var(b) / len(b)
    se = math.sqrt(va + vb)
    if se == 0:
        return Interval(math.expm1(diff), math.expm1(diff), math.expm1(diff), None, confidence)
    df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    half = t_quantile(0.5 + confidence / 2, df) * se
    return Interval(math.expm1(diff), math.expm1(diff - half), math.expm1(diff + half), df, confidence)


# ---------------------------------------------------------------- Student's t


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta function (modified Lentz)."""
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 300):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-15:
            break
    return h


def _betainc(a: float, b: float, x: float) -> float:
    """The regularized incomplete beta function I_x(a, b)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    front = math.exp(
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _betacf(a, b, x) / a
    return 1.0 - front * _betacf(b, a, 1.0 - x) / b


def t_cdf(t: float, df: float) -> float:
    """P(T <= t) for Student's t with ``df`` degrees of freedom (df may be fractional)."""
    if df <= 0:
        raise ValueError("degrees of freedom must be positive")
    tail = 0.5 * _betainc(df / 2.0, 0.5, df / (df + t * t))
    return 1.0 - tail if t > 0 else tail


def t_quantile(p: float, df: float) -> float:
    """The t with P(T <= t) = p (e.g. p = 0.975 for a 95% two-sided interval)."""
    if not 0.0 < p < 1.0:
        raise ValueError("p must be between 0 and 1")
    if p == 0.5:
        return 0.0
    if p < 0.5:
        return -t_quantile(1.0 - p, df)
    low, high = 0.0, 1.0
    while t_cdf(high, df) < p:
        high *= 2.0
        if high > 1e12:
            return math.inf
    for _ in range(200):
        mid = 0.5 * (low + high)
        if t_cdf(mid, df) < p:
            low = mid
        else:
            high = mid
        if high - low < 1e-12 * max(1.0, high):
            break
    return 0.5 * (low + high)

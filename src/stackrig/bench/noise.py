"""``bench compare BASELINE CANDIDATE`` on groups of runs: a change, its interval, a verdict.

Each side is a group (``g:ID``, ``latest-group``) or a single run. Per host, job and
direction, and per metric (IOPS, bandwidth, p50/p99/p99.9 latency by default), the
values of each side's runs are summarised (mean, spread) and compared with Welch's t
on their logarithms (:mod:`stackrig.bench.stats`): the relative change comes with a
confidence interval, and the verdict is *faster*, *slower* or *no significant change*.

The gate (``--fail-on-regression PCT``): with two runs or more on both sides, a metric
regresses only when it is worse than PCT **and** the interval says the change is real;
with a single run on either side there is no interval, the plain threshold applies (as
for two runs), and the result says that no confidence can be given.

The comparison warns when the two sides ran different job files (sha256), fio versions
or hosts: then the change may not be the storage's.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from stackrig.bench.compare import HIGHER_IS_BETTER, METRICS, combine_rows, side_differences
from stackrig.bench.groups import RunGroup, resolve_runs
from stackrig.bench.history import History
from stackrig.bench.model import RunRecord
from stackrig.bench.stats import Interval, Summary, summarize, welch_log_ratio
from stackrig.errors import UsageError

__all__ = ["GroupChange", "GroupComparison", "Side", "compare_groups", "group_stats", "side_values"]

Key = tuple[str, str, str]


@dataclass(frozen=True, slots=True)
class Side:
    ref: str
    group: RunGroup | None
    runs: tuple[str, ...]
    """Run ids (warm-ups left out)."""


@dataclass(frozen=True, slots=True)
class GroupChange:
    host: str
    job: str
    direction: str
    metric: str
    baseline: Summary
    candidate: Summary
    change_pct: float
    """Relative change of the (geometric) mean, in percent; positive = larger."""
    low_pct: float | None
    high_pct: float | None
    verdict: str
    """``faster``, ``slower``, ``no significant change``, or ``no confidence`` (a single run)."""
    regression: bool
    """Fails the gate (``--fail-on-regression``)."""


@dataclass(frozen=True, slots=True)
class GroupComparison:
    baseline: Side
    candidate: Side
    metrics: tuple[str, ...]
    confidence: float
    threshold_pct: float | None
    noise_aware: bool
    """True when both sides hold two runs or more (intervals given)."""
    changes: tuple[GroupChange, ...]
    unmatched: tuple[str, ...]
    warnings: tuple[str, ...]
    note: str | None = None
    """Why no interval is given (a single run on a side), if so."""

    @property
    def regressions(self) -> tuple[GroupChange, ...]:
        return tuple(c for c in self.changes if c.regression)


NO_CONFIDENCE = (
    "no confidence can be given: a side holds a single run (make groups with "
    "`bench run --repeat N`); the plain threshold applies"
)


def side_values(history: History, runs: Sequence[RunRecord]) -> dict[Key, dict[str, list[float]]]:
    """Per host/job/direction and metric, one value per run (runs without it are left out)."""
    values: dict[Key, dict[str, list[float]]] = {}
    for run in runs:
        for key, metrics in combine_rows(history.rows(run)).items():
            slot = values.setdefault(key, {m: [] for m in METRICS})
            for metric, value in metrics.items():
                if value is not None and value > 0 and math.isfinite(value):
                    slot[metric].append(value)
    return values


def _worse(metric: str, change: float) -> float:
    """How much worse, as a fraction (positive = worse)."""
    return -change if metric in HIGHER_IS_BETTER else change


def _judge(metric: str, interval: Interval, threshold: float | None, noise_aware: bool) -> tuple[str, bool]:
    worse_by = _worse(metric, interval.change)
    over = threshold is not None and worse_by * 100.0 > threshold
    if not noise_aware or interval.low is None or interval.high is None:
        return "no confidence", over
    if not interval.significant:
        return "no significant change", False
    better = (interval.low > 0) == (metric in HIGHER_IS_BETTER)
    return ("faster" if better else "slower"), over and not better


def _pct(value: float | None) -> float | None:
    return None if value is None else value * 100.0


def compare_groups(
    history: History,
    baseline_ref: str,
    candidate_ref: str,
    metrics: Sequence[str],
    *,
    confidence: float = 0.95,
    threshold_pct: float | None = None,
) -> GroupComparison:
    if not 0.5 <= confidence < 1.0:
        raise UsageError("--confidence takes a level between 0.5 and 1, e.g. 0.95")
    if threshold_pct is not None and threshold_pct < 0:
        raise UsageError("--fail-on-regression takes a percentage of 0 or more")
    base_group, base_runs = resolve_runs(history, baseline_ref)
    cand_group, cand_runs = resolve_runs(history, candidate_ref)
    base, cand = side_values(history, base_runs), side_values(history, cand_runs)
    noise_aware = len(base_runs) >= 2 and len(cand_runs) >= 2
    changes: list[GroupChange] = []
    for key in sorted(base.keys() & cand.keys()):
        for metric in metrics:
            a, b = base[key][metric], cand[key][metric]
            if not a or not b:
                continue
            interval = welch_log_ratio(a, b, confidence)
            verdict, regression = _judge(metric, interval, threshold_pct, noise_aware)
            changes.append(
                GroupChange(
                    *key,
                    metric,
                    summarize(a, confidence),
                    summarize(b, confidence),
                    interval.change * 100.0,
                    _pct(interval.low),
                    _pct(interval.high),
                    verdict,
                    regression,
                )
            )
    unmatched = [f"baseline only: {'/'.join(k)}" for k in sorted(base.keys() - cand.keys())]
    unmatched += [f"candidate only: {'/'.join(k)}" for k in sorted(cand.keys() - base.keys())]
    return GroupComparison(
        baseline=Side(baseline_ref, base_group, tuple(r.id for r in base_runs)),
        candidate=Side(candidate_ref, cand_group, tuple(r.id for r in cand_runs)),
        metrics=tuple(metrics),
        confidence=confidence,
        threshold_pct=threshold_pct,
        noise_aware=noise_aware,
        changes=tuple(changes),
        unmatched=tuple(unmatched),
        warnings=tuple(side_differences(base_runs, cand_runs)),
        note=None if noise_aware else NO_CONFIDENCE,
    )


GROUP_EXPORT_FIELDS = (
    "group_id", "group_name", "runs", "host", "job", "direction", "metric",
    "n", "mean", "stdev", "cv", "ci_low", "ci_high", "min", "max", "confidence",
)  # fmt: skip


def group_stats(
    history: History, group: RunGroup, runs: Sequence[RunRecord], confidence: float = 0.95
) -> list[dict[str, object]]:
    """One row per host, job, direction and metric: n, mean, spread and the interval of the mean."""
    rows: list[dict[str, object]] = []
    for key, metrics in sorted(side_values(history, runs).items()):
        for metric, values in metrics.items():
            if not values:
                continue
            s = summarize(values, confidence)
            values_row = (
                group.id, group.name, len(runs), key[0] or "local", key[1], key[2], metric,
                s.n, s.mean, s.stdev, s.cv, s.low, s.high, s.minimum, s.maximum, confidence,
            )  # fmt: skip
            rows.append(dict(zip(GROUP_EXPORT_FIELDS, values_row, strict=True)))
    return rows

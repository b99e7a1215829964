"""Behaviour signals: signs that a contributor is not reading the items. Pure numpy.

Each sign is a flag with the figures behind it, shown to the requester and to the
contributor. A flag needs enough evidence that an honest contributor will rarely meet
it (a run of ten equal labels among a few answers is chance, not a pattern).

Only "one label for everything" lowers the score (by FACTORS). The others are shown,
not multiplied in, because on real data they told nothing that Dawid-Skene had not
already learnt from the same contributor's answers: on RTE (benchmarks/quality.py),
answers under a second are right 61% of the time against 84% for slower ones, yet
multiplying the score by 0.9 for "too fast" or "fast answer" lowered its ROC-AUC at
telling right answers from wrong from 0.964 to 0.954 (0.8 and 0.7: to 0.944): the
contributors who rush are the ones whose confusion matrices already say so.
"""

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

MIN_TIMED = 5  # timed answers a contributor needs before their speed is judged
MIN_PROJECT_TIMED = 20  # timed answers the project needs for a norm
TOO_FAST_SHARE = 0.25  # a median below this share of the project's is too fast
FAST_ANSWER_SHARE = 0.2  # one answer below this share of the project's median
ONE_LABEL_MIN = 15  # answers before "one label for everything" is judged
ONE_LABEL_SHARE = 0.95
ONE_LABEL_PROJECT_MAX = 0.7  # ... while the project's labels are this mixed or more
STREAK_MIN = 10
SKIP_MIN = 10
SKIP_SHARE = 0.5
FACTOR_FLOOR = 0.3

FACTORS = {
    "one_label": 0.5,  # the same label whatever the item: no matrix describes that well
    "too_fast": 1.0,
    "streak": 1.0,
    "skips": 1.0,  # skipping is allowed; it is shown, not held against anyone
    "fast_answer": 1.0,
}


@dataclass(frozen=True)
class Behaviour:
    flags: tuple[str, ...] = ()
    figures: dict[str, Any] = field(default_factory=dict)

    @property
    def factor(self) -> float:
        return factor_of(self.flags)

    def as_json(self) -> dict[str, Any]:
        return {"flags": list(self.flags), "factor": round(self.factor, 4), **self.figures}


def factor_of(flags: tuple[str, ...] | list[str]) -> float:
    return max(FACTOR_FLOOR, math.prod(FACTORS.get(flag, 1.0) for flag in flags))


def contributor_behaviour(
    *,
    labels: np.ndarray,
    times_ms: np.ndarray,
    project_median_ms: float | None,
    project_label_shares: np.ndarray,
    assignments: int,
    skips: int,
) -> Behaviour:
    """A contributor's behaviour in a project from their answers in time order:
    `labels` (n,) category indices, `times_ms` (n,) time on task (NaN where unknown)."""
    flags: list[str] = []
    figures: dict[str, Any] = {"answers": int(labels.size)}
    timed = times_ms[~np.isnan(times_ms)]
    if timed.size:
        median = float(np.median(timed))
        figures["median_ms"] = round(median)
        if (
            timed.size >= MIN_TIMED
            and project_median_ms
            and median < TOO_FAST_SHARE * project_median_ms
        ):
            flags.append("too_fast")
    if labels.size:
        counts = np.bincount(labels, minlength=project_label_shares.size)
        top = int(counts.argmax())
        share = float(counts[top] / labels.size)
        figures["top_label_share"] = round(share, 3)
        if (
            labels.size >= ONE_LABEL_MIN
            and share >= ONE_LABEL_SHARE
            and project_label_shares.size > top
            and project_label_shares[top] <= ONE_LABEL_PROJECT_MAX
        ):
            flags.append("one_label")
        streak = longest_run(labels)
        figures["longest_streak"] = streak
        if "one_label" not in flags and streak >= _streak_limit(labels.size, project_label_shares):
            flags.append("streak")
    if assignments:
        figures["skip_share"] = round(skips / assignments, 3)
        if assignments >= SKIP_MIN and skips / assignments >= SKIP_SHARE:
            flags.append("skips")
    return Behaviour(flags=tuple(flags), figures=figures)


def answer_flags(*, time_ms: int | None, project_median_ms: float | None) -> tuple[str, ...]:
    """Signs in one answer alone: far faster than the project's norm."""
    if (
        time_ms is not None
        and project_median_ms
        and time_ms < FAST_ANSWER_SHARE * project_median_ms
    ):
        return ("fast_answer",)
    return ()


def longest_run(labels: np.ndarray) -> int:
    """The longest run of one label in a row."""
    if labels.size == 0:
        return 0
    changes = np.flatnonzero(np.diff(labels)) + 1
    bounds = np.concatenate(([0], changes, [labels.size]))
    return int(np.diff(bounds).max())


def _streak_limit(n: int, shares: np.ndarray) -> float:
    """A run this long among n answers would happen by chance rarely (about 1 in 100):
    the expected longest run of a label with share p among n draws is log(n)/log(1/p);
    twice that, and at least STREAK_MIN."""
    p = float(np.clip(shares.max() if shares.size else 0.5, 0.05, 0.95))
    expected = math.log(max(n, 2)) / math.log(1 / p)
    return max(STREAK_MIN, 2 * expected + 3)

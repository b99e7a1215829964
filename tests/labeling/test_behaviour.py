"""Behaviour signals: flags need evidence, and only 'one label for everything' lowers a score."""

import numpy as np
import pytest

from labeling.quality.behaviour import (
    answer_flags,
    contributor_behaviour,
    factor_of,
    longest_run,
)

MIXED = np.array([0.5, 0.3, 0.2])


def _behaviour(labels, times=None, **kwargs):
    labels = np.asarray(labels)
    times = np.full(labels.size, np.nan) if times is None else np.asarray(times, dtype=float)
    defaults = {
        "project_median_ms": 10_000.0,
        "project_label_shares": MIXED,
        "assignments": labels.size,
        "skips": 0,
    }
    return contributor_behaviour(labels=labels, times_ms=times, **{**defaults, **kwargs})


def test_one_label_for_everything_is_flagged_and_halves_the_score() -> None:
    spam = _behaviour([0] * 20)
    assert "one_label" in spam.flags
    assert spam.factor == pytest.approx(0.5)
    honest = _behaviour([0, 1, 2, 0, 1] * 4)
    assert honest.flags == ()
    assert honest.factor == 1.0


def test_one_label_needs_enough_answers_and_a_mixed_project() -> None:
    assert "one_label" not in _behaviour([0] * 10).flags  # too few to tell
    skewed = _behaviour([0] * 20, project_label_shares=np.array([0.9, 0.05, 0.05]))
    assert "one_label" not in skewed.flags


def test_too_fast_and_skips_are_shown_but_do_not_lower_the_score() -> None:
    fast = _behaviour([0, 1, 2, 1, 0, 2], times=[500] * 6)
    assert "too_fast" in fast.flags
    skipper = _behaviour([0, 1], assignments=20, skips=15)
    assert "skips" in skipper.flags
    assert fast.factor == skipper.factor == 1.0
    assert answer_flags(time_ms=100, project_median_ms=10_000.0) == ("fast_answer",)
    assert answer_flags(time_ms=None, project_median_ms=10_000.0) == ()


def test_streaks_are_measured_against_chance() -> None:
    assert longest_run(np.array([1, 1, 0, 0, 0, 2])) == 3
    assert longest_run(np.array([], dtype=np.int64)) == 0
    long_run = [0, 1, 2] * 5 + [1] * 16 + [0, 2] * 5
    assert "streak" in _behaviour(long_run).flags
    assert "streak" not in _behaviour([0, 1, 2, 0, 0, 1, 2, 2, 1, 0] * 3).flags
    assert factor_of(["one_label", "streak"]) == pytest.approx(0.5)

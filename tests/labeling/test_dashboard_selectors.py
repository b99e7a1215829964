"""The project page's figures from known rows: the confusion matrix, the time buckets,
the score histogram and the leaderboard, counted by the database (both PostgreSQL and
SQLite run these)."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from labeling.models import Assignment, ContributorQuality, Item, Project, Submission
from labeling.selectors import (
    project_answers_series,
    project_confusion,
    project_decided_series,
    project_figures,
    project_leaderboard,
    project_quality,
)
from tests.factories import ProjectFactory, UserFactory, escrow_fund

pytestmark = pytest.mark.django_db

NOW = datetime(2025, 3, 10, 15, 40, tzinfo=UTC)


def _answer(project, item, contributor, label, *, status="accepted", score=None, at=None):
    """An answer stored as the engine leaves it (no engine run: the rows are the test)."""
    assignment = Assignment.objects.create(
        project=project,
        item=item,
        contributor=contributor,
        status=Assignment.Status.SUBMITTED,
        expires_at=NOW,
    )
    submission = Submission.objects.create(
        assignment=assignment, answer={"label": label}, status=status, score=score
    )
    if at is not None:
        Submission.objects.filter(pk=submission.pk).update(created_at=at)
    return submission


def _item(project, final=None, *, resolved_at=None, gold=None):
    return Item.objects.create(
        project=project,
        data={"text": "x"},
        final_answer={"label": final} if final else None,
        status=Item.Status.RESOLVED if resolved_at else Item.Status.OPEN,
        resolved_at=resolved_at,
        is_gold=gold is not None,
        gold_answer={"label": gold} if gold else None,
    )


def test_the_confusion_matrix_counts_answers_by_final_label_and_answer() -> None:
    project = ProjectFactory()  # labels cat, dog, bird
    a, b, c = UserFactory(), UserFactory(), UserFactory()
    cat1, cat2, dog = _item(project, "cat"), _item(project, "cat"), _item(project, "dog")
    gold = _item(project, "bird", gold="bird")  # gold: its final label is its gold answer
    unlabelled = _item(project)  # no final label yet: left out
    for item, labels in [
        (cat1, ["cat", "cat", "dog"]),
        (cat2, ["cat", "bird", "cat"]),
        (dog, ["dog", "dog", "dog"]),
        (gold, ["bird", "cat"]),
        (unlabelled, ["cat", "dog"]),
    ]:
        for contributor, label in zip([a, b, c], labels, strict=False):
            _answer(project, item, contributor, label)
    confusion = project_confusion(project=project)
    assert confusion.labels == ["cat", "dog", "bird"]
    assert [[cell.count for cell in row.cells] for row in confusion.rows] == [
        [4, 1, 1],  # final cat: 4 answered cat, 1 dog, 1 bird
        [0, 3, 0],
        [1, 0, 1],
    ]
    assert [row.total for row in confusion.rows] == [6, 3, 2]
    assert confusion.total == 11
    assert confusion.agreement == pytest.approx(100 * 8 / 11)
    cat = confusion.rows[0]
    assert [round(cell.percent, 2) for cell in cat.cells] == [66.67, 16.67, 16.67]
    assert [cell.diagonal for cell in cat.cells] == [True, False, False]
    assert cat.agreement == pytest.approx(100 * 4 / 6)
    # Shades: none for 0, 1..5 by share of the row; the whole row is the darkest.
    assert [cell.shade for cell in cat.cells] == [4, 1, 1]
    assert [cell.shade for cell in confusion.rows[1].cells] == [0, 5, 0]


def test_no_confusion_matrix_without_answers_to_labelled_items() -> None:
    project = ProjectFactory()
    _answer(project, _item(project), UserFactory(), "cat")
    confusion = project_confusion(project=project)
    assert confusion.total == 0
    assert all(row.agreement is None for row in confusion.rows)


def test_items_decided_are_counted_cumulatively_by_hour_over_a_short_life() -> None:
    published = NOW - timedelta(hours=5, minutes=10)  # 10:30
    project = ProjectFactory(published_at=published)
    for minutes_ago in (290, 250, 249, 60, 5):  # 10:50, 11:30, 11:31, 14:40, 15:35
        _item(project, "cat", resolved_at=NOW - timedelta(minutes=minutes_ago))
    _item(project)  # not decided
    Item.objects.create(  # gold is not work to decide
        project=project,
        data={},
        is_gold=True,
        gold_answer={"label": "cat"},
        status=Item.Status.RESOLVED,
        resolved_at=NOW,
    )
    series = project_decided_series(project=project, now=NOW)
    assert series.unit == "hour"
    assert [start.hour for start in series.starts] == [10, 11, 12, 13, 14, 15]
    assert series.starts[0] == datetime(2025, 3, 10, 10, tzinfo=UTC)
    assert series.values == [1, 3, 3, 3, 4, 5]


def test_a_long_project_is_counted_by_day() -> None:
    project = ProjectFactory(published_at=NOW - timedelta(days=4))
    for days_ago in (4, 3, 3, 0):
        _item(project, "cat", resolved_at=NOW - timedelta(days=days_ago, minutes=30))
    series = project_decided_series(project=project, now=NOW)
    assert series.unit == "day"
    assert [start.day for start in series.starts] == [6, 7, 8, 9, 10]
    assert series.values == [1, 3, 3, 3, 4]


def test_a_completed_project_is_charted_up_to_its_completion() -> None:
    project = ProjectFactory(
        published_at=NOW - timedelta(days=30, hours=3),
        completed_at=NOW - timedelta(days=30),
        status=Project.Status.COMPLETED,
    )
    _item(project, "cat", resolved_at=NOW - timedelta(days=30, hours=1))
    series = project_decided_series(project=project, now=NOW)
    assert series.unit == "hour"
    assert len(series.starts) == 4
    assert series.values[-1] == 1


def test_answers_per_hour_over_the_last_48_hours() -> None:
    project = ProjectFactory(published_at=NOW - timedelta(days=5))
    item = _item(project)
    for hours_ago in (60, 47.5, 3.2, 3.1, 0.2):  # the first is outside the window
        _answer(project, item, UserFactory(), "cat", at=NOW - timedelta(hours=hours_ago))
    series = project_answers_series(project=project, now=NOW)
    assert series.unit == "hour"
    assert len(series.starts) == 49  # 13:00 two days ago .. 15:00 today
    assert series.starts[0] == datetime(2025, 3, 8, 15, tzinfo=UTC)
    assert sum(series.values) == 4
    assert series.values[0] == 0
    assert series.values[1] == 1  # 16:10 two days ago
    assert series.values[-4] == 2  # 12:28 and 12:34
    assert series.values[-1] == 1


def test_answers_per_hour_of_a_young_project_span_its_life() -> None:
    project = ProjectFactory(published_at=NOW - timedelta(minutes=90))
    _answer(project, _item(project), UserFactory(), "cat", at=NOW - timedelta(minutes=30))
    series = project_answers_series(project=project, now=NOW)
    assert [start.hour for start in series.starts] == [14, 15]
    assert series.values == [0, 1]


def test_the_score_histogram_has_ten_bins_and_the_edges_fall_right() -> None:
    project = ProjectFactory()
    item = _item(project, "cat")
    for score in (0.0, 0.05, 0.1, 0.45, 0.5, 0.99, 1.0, None):
        _answer(project, item, UserFactory(), "cat", score=score)
    histogram = project_quality(project=project)["score_histogram"]
    assert histogram == [2, 1, 0, 0, 1, 1, 0, 0, 0, 2]


def test_the_leaderboard_ranks_by_reputation_with_accepted_share_and_gold() -> None:
    project = ProjectFactory()
    best, good, new = UserFactory(), UserFactory(), UserFactory()
    for contributor, statuses in [
        (best, ["accepted", "accepted", "review"]),
        (good, ["accepted", "rejected"]),
        (new, ["pending"]),
    ]:
        for status in statuses:
            other = _item(project, "cat")
            _answer(project, other, contributor, "cat", status=status)
    ContributorQuality.objects.create(
        project=project, contributor=best, reputation=0.9, reliability=0.85,
        gold_answers=4, gold_correct=3,
    )  # fmt: skip
    ContributorQuality.objects.create(project=project, contributor=good, reputation=0.6)
    board = project_leaderboard(
        project=project, standings=project_quality(project=project)["contributors"]
    )
    assert [row["contributor"] for row in board] == [best.username, good.username, new.username]
    first, second, third = board
    assert (first["answers"], first["accepted"], first["review"]) == (3, 2, 1)
    assert first["accepted_share"] == 1.0
    assert first["gold_accuracy"] == 0.75
    assert first["reliability"] == 0.85
    assert second["accepted_share"] == 0.5
    assert second["gold_accuracy"] is None
    assert third["accepted_share"] is None  # nothing decided yet
    assert third["reputation"] is None


def test_the_figures_add_up() -> None:
    project = ProjectFactory(reward_per_answer=10**23, platform_fee_bps=1000)
    a, b = UserFactory(), UserFactory()
    one, two = _item(project, "cat", resolved_at=NOW), _item(project)
    _answer(project, one, a, "cat", status="accepted", score=0.9)
    _answer(project, one, b, "dog", status="review", score=0.4)
    _answer(project, two, a, "cat", status="pending")
    escrow_fund(project, amount=5 * 10**23)
    figures = project_figures(project=project)
    assert figures["items_total"] == 2
    assert figures["items_resolved"] == 1
    assert figures["answers_submitted"] == 3
    assert figures["answers_in_review"] == 1
    assert figures["contributors"] == 2
    assert figures["mean_score"] == pytest.approx(0.65)
    assert figures["escrow_left"] == 5 * 10**23
    assert figures["escrow_spent"] == 11 * 10**22  # one accepted answer: reward + 10 % fee


def test_timezone_is_utc_in_these_tests() -> None:
    """The buckets above are UTC hours: the project's TIME_ZONE."""
    assert timezone.get_current_timezone_name() == "UTC"

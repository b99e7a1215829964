"""The assignment queue: overlap, once per contributor, expiry, skips, submits."""

from datetime import timedelta

import pytest
from django.utils import timezone

from labeling.errors import (
    AssignmentClosedError,
    AssignmentExpiredError,
    AssignmentNotFoundError,
    ProjectNotActiveError,
)
from labeling.models import Assignment, AssignmentEvent, Item, Project, Submission
from labeling.services.queue import (
    assignment_claim_next,
    assignment_skip,
    assignment_submit,
    assignments_expire,
)
from labeling.task_types import AnswerInvalidError
from tests.factories import UserFactory, project_with_items

pytestmark = pytest.mark.django_db


def test_overlap_is_honoured_and_no_item_twice_to_one_contributor() -> None:
    """With 2 items x 3 answers, exactly 6 contributors get work; each item goes to 3."""
    project = project_with_items(items=2, answers_per_item=3)
    given = []
    for _ in range(8):
        contributor = UserFactory()
        assignment = assignment_claim_next(project=project, contributor=contributor)
        if assignment is not None:
            assignment_submit(
                public_id=assignment.public_id, contributor=contributor, answer={"label": "cat"}
            )
            given.append(assignment.item_id)
    assert sorted(given) == sorted([*[given[0]] * 3, *[i for i in set(given) if i != given[0]] * 3])
    assert len(given) == 6


def test_same_contributor_never_gets_the_same_item_again() -> None:
    project = project_with_items(items=3, answers_per_item=3)
    contributor = UserFactory()
    seen = []
    while (
        assignment := assignment_claim_next(project=project, contributor=contributor)
    ) is not None:
        seen.append(assignment.item_id)
        assignment_submit(
            public_id=assignment.public_id, contributor=contributor, answer={"label": "dog"}
        )
    assert len(seen) == 3
    assert len(set(seen)) == 3


def test_next_returns_the_reservation_already_held() -> None:
    """Asking again before answering returns the same reservation, not a second one."""
    project = project_with_items(items=3)
    contributor = UserFactory()
    first = assignment_claim_next(project=project, contributor=contributor)
    again = assignment_claim_next(project=project, contributor=contributor)
    assert first.pk == again.pk
    assert Assignment.objects.filter(contributor=contributor).count() == 1


def test_inactive_project_gives_no_work() -> None:
    project = project_with_items(items=1, status=Project.Status.DRAFT)
    with pytest.raises(ProjectNotActiveError):
        assignment_claim_next(project=project, contributor=UserFactory())


def test_expired_reservation_frees_its_slot_and_refuses_a_late_submit() -> None:
    project = project_with_items(items=1, answers_per_item=1)
    late, other = UserFactory(), UserFactory()
    assignment = assignment_claim_next(project=project, contributor=late)
    assert assignment_claim_next(project=project, contributor=other) is None
    Assignment.objects.filter(pk=assignment.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    taken = assignment_claim_next(project=project, contributor=other)
    assert taken is not None
    assert taken.item_id == assignment.item_id
    with pytest.raises(AssignmentExpiredError):
        assignment_submit(public_id=assignment.public_id, contributor=late, answer={"label": "cat"})
    assignment.refresh_from_db()
    assert assignment.status == Assignment.Status.EXPIRED
    assert not Submission.objects.filter(assignment=assignment).exists()


def test_periodic_expiry_marks_overdue_reservations() -> None:
    project = project_with_items(items=2)
    assignment = assignment_claim_next(project=project, contributor=UserFactory())
    fresh = assignment_claim_next(project=project, contributor=UserFactory())
    Assignment.objects.filter(pk=assignment.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert assignments_expire() == 1
    assert assignments_expire() == 0
    assignment.refresh_from_db()
    fresh.refresh_from_db()
    assert assignment.status == Assignment.Status.EXPIRED
    assert fresh.status == Assignment.Status.RESERVED
    assert AssignmentEvent.objects.filter(assignment=assignment, kind="expired").count() == 1


def test_someone_elses_assignment_is_not_found() -> None:
    project = project_with_items(items=1)
    owner, intruder = UserFactory(), UserFactory()
    assignment = assignment_claim_next(project=project, contributor=owner)
    with pytest.raises(AssignmentNotFoundError):
        assignment_submit(
            public_id=assignment.public_id, contributor=intruder, answer={"label": "cat"}
        )
    with pytest.raises(AssignmentNotFoundError):
        assignment_skip(public_id=assignment.public_id, contributor=intruder)
    assignment.refresh_from_db()
    assert assignment.status == Assignment.Status.RESERVED


@pytest.mark.parametrize(
    "answer", [{"label": "unicorn"}, {"label": 3}, "cat", {"label": "cat", "x": 1}, None]
)
def test_invalid_answers_are_refused_and_nothing_is_stored(answer: object) -> None:
    project = project_with_items(items=1)
    contributor = UserFactory()
    assignment = assignment_claim_next(project=project, contributor=contributor)
    with pytest.raises(AnswerInvalidError):
        assignment_submit(public_id=assignment.public_id, contributor=contributor, answer=answer)
    assignment.refresh_from_db()
    assert assignment.status == Assignment.Status.RESERVED
    assert not Submission.objects.exists()


def test_second_submit_returns_the_first_submission() -> None:
    project = project_with_items(items=1)
    contributor = UserFactory()
    assignment = assignment_claim_next(project=project, contributor=contributor)
    first = assignment_submit(
        public_id=assignment.public_id, contributor=contributor, answer={"label": "cat"}
    )
    second = assignment_submit(
        public_id=assignment.public_id, contributor=contributor, answer={"label": "dog"}
    )
    assert first.pk == second.pk
    assert second.answer == {"label": "cat"}
    assert Submission.objects.count() == 1


def test_skip_frees_the_slot_but_not_for_the_skipper() -> None:
    project = project_with_items(items=1, answers_per_item=1)
    skipper, other = UserFactory(), UserFactory()
    assignment = assignment_claim_next(project=project, contributor=skipper)
    assignment_skip(public_id=assignment.public_id, contributor=skipper)
    assert assignment_skip(public_id=assignment.public_id, contributor=skipper).status == "skipped"
    assert assignment_claim_next(project=project, contributor=skipper) is None
    assert assignment_claim_next(project=project, contributor=other).item_id == assignment.item_id
    with pytest.raises(AssignmentClosedError):
        assignment_submit(
            public_id=assignment.public_id, contributor=skipper, answer={"label": "cat"}
        )


def test_item_completes_when_all_answers_are_in(django_capture_on_commit_callbacks) -> None:
    project = project_with_items(items=1, answers_per_item=2)
    item = Item.objects.get(project=project)
    for label in ("cat", "cat"):
        contributor = UserFactory()
        assignment = assignment_claim_next(project=project, contributor=contributor)
        assert Item.objects.get(pk=item.pk).status == Item.Status.OPEN
        with django_capture_on_commit_callbacks(execute=True):
            assignment_submit(
                public_id=assignment.public_id, contributor=contributor, answer={"label": label}
            )
    # The resolve task ran on commit (eager in tests): the item is final.
    item.refresh_from_db()
    assert item.status == Item.Status.RESOLVED
    assert item.final_answer == {"label": "cat"}


def test_skipping_an_overdue_reservation_is_refused() -> None:
    project = project_with_items(items=1)
    contributor = UserFactory()
    assignment = assignment_claim_next(project=project, contributor=contributor)
    Assignment.objects.filter(pk=assignment.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    with pytest.raises(AssignmentExpiredError):
        assignment_skip(public_id=assignment.public_id, contributor=contributor)
    assert Assignment.objects.get(pk=assignment.pk).status == Assignment.Status.RESERVED


def test_search_wraps_round_to_items_freed_behind_the_contributor() -> None:
    """A slot freed before the contributor's last item is still found (after the rest)."""
    project = project_with_items(items=3, answers_per_item=1)
    first, second, third = Item.objects.filter(project=project).order_by("pk")
    alice, carol = UserFactory(), UserFactory()
    mine = assignment_claim_next(project=project, contributor=alice)
    assert mine.item_id == first.pk
    assignment_submit(public_id=mine.public_id, contributor=alice, answer={"label": "cat"})
    held = assignment_claim_next(project=project, contributor=carol)
    assert held.item_id == second.pk
    later = assignment_claim_next(project=project, contributor=alice)
    assert later.item_id == third.pk
    assignment_submit(public_id=later.public_id, contributor=alice, answer={"label": "cat"})
    Assignment.objects.filter(pk=held.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert assignment_claim_next(project=project, contributor=alice).item_id == second.pk

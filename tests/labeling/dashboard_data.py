"""A project with real answers for the project page's tests: built through the services
(claim, submit, resolve) as contributors and the quality worker would."""

from datetime import datetime, timedelta
from unittest import mock

from django.utils import timezone

from labeling.models import Item, Project, Submission
from labeling.services.quality import item_resolve, project_refit
from labeling.services.queue import assignment_claim_next, assignment_submit
from tests.factories import UserFactory, project_with_items

# Each item's answers, from the first, second and third contributor. With the engine's
# defaults (a newcomer right 70% of the time) and thresholds 0.75 / 0.1, majority answers
# (0.79 and more) are accepted, and a lone dissenter (0.17) waits for review.
ANSWERS = [
    ("cat", "cat", "cat"),
    ("dog", "dog", "dog"),
    ("cat", "cat", "dog"),
    ("bird", "bird", "cat"),
    ("dog", "dog", "bird"),
]


def dashboard_project(
    *,
    title: str = "Pets",
    labels: tuple[str, str, str] = ("cat", "dog", "bird"),
    usernames: tuple[str, str, str] = ("alice", "bob", "carol"),
    text: str = "item",
    answers: list[tuple[str, str, str]] = ANSWERS,
    spread_hours: float = 0,
    **kwargs,
) -> Project:
    """Items answered by three contributors in turn (labels are mapped: "cat" is
    labels[0] ...). `spread_hours`: the answers' times are then moved back over that many
    hours, busier lately, as if the project had run that long."""
    rename = dict(zip(("cat", "dog", "bird"), labels, strict=True))
    project = project_with_items(
        items=0,
        fund=False,
        title=title,
        label_config={"labels": list(labels)},
        accept_threshold=kwargs.pop("accept_threshold", 0.75),
        reject_threshold=kwargs.pop("reject_threshold", 0.1),
        **kwargs,
    )
    for n in range(len(answers)):
        Item.objects.create(project=project, data={"text": f"{text} {n}"}, external_id=f"i{n}")
    from tests.factories import escrow_fund

    escrow_fund(project)
    contributors = [UserFactory(username=name) for name in usernames]
    # The tasks answers enqueue after commit (in a transactional test, eager Celery runs
    # them, refits included) are left out, as in a test inside a transaction: this helper
    # resolves items itself, and the answers stay as the first scoring left them. One
    # refit at the end gives the contributors their standing (it decides nothing).
    with mock.patch("config.enqueue._send"):
        _answer_all(project, contributors, answers, rename)
        project_refit(project_id=project.pk)
    if spread_hours:
        _spread(project, spread_hours)
    project.refresh_from_db()
    return project


def _answer_all(project, contributors, answers, rename) -> None:
    for turn, contributor in enumerate(contributors):
        for row in answers:
            assignment = assignment_claim_next(project=project, contributor=contributor)
            assert assignment is not None
            assignment_submit(
                public_id=assignment.public_id,
                contributor=contributor,
                answer={"label": rename[row[turn]]},
            )
            item = Item.objects.get(pk=assignment.item_id)
            if item.status != Item.Status.OPEN:
                item_resolve(item_id=item.pk)


def _spread(project: Project, hours: float) -> None:
    now = timezone.now() - timedelta(minutes=5)
    submissions = list(
        Submission.objects.filter(assignment__project=project)
        .select_related("assignment")
        .order_by("pk")
    )
    last: dict[int, datetime] = {}
    for i, submission in enumerate(submissions):
        at = now - timedelta(hours=hours * (1 - i / len(submissions)) ** 2)
        Submission.objects.filter(pk=submission.pk).update(created_at=at, decided_at=at)
        last[submission.assignment.item_id] = at
    for item_id, at in last.items():
        Item.objects.filter(pk=item_id, resolved_at__isnull=False).update(resolved_at=at)
    Project.objects.filter(pk=project.pk).update(
        published_at=now - timedelta(hours=hours, minutes=30)
    )


def in_review(project: Project) -> list[Submission]:
    return list(
        Submission.objects.filter(
            assignment__project=project, status=Submission.Status.REVIEW
        ).order_by("pk")
    )

"""The assignment queue: handing out items, taking answers, skips and expiries.

Lock order: item, then assignment, then (in the ledger) ledger accounts.

Correctness under concurrency rests on one rule: the number of live assignments of
an item (submitted, or reserved and not expired) is only ever read and changed while
holding that item's row lock. On PostgreSQL that is SELECT ... FOR UPDATE SKIP
LOCKED, followed by a fresh count in a new statement (READ COMMITTED gives each
statement a new snapshot, so the count sees every assignment committed before the
lock was granted). On SQLite every write transaction is IMMEDIATE: it holds the
database's write lock from its first statement, so claims run one at a time.
"""

import logging
from functools import partial
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.db.models import Count, Exists, OuterRef, Q
from django.utils import timezone

from labeling.errors import (
    AssignmentClosedError,
    AssignmentExpiredError,
    AssignmentNotFoundError,
    ProjectNotActiveError,
)
from labeling.models import Assignment, AssignmentEvent, Submission
from labeling.task_types import task_type_get
from marketplace.models import Item, Project

log = logging.getLogger(__name__)

CANDIDATES_PER_ROUND = 4  # items locked per attempt; more helps when many contend


def _live(now: Any) -> Q:
    return Q(status=Assignment.Status.SUBMITTED) | Q(
        status=Assignment.Status.RESERVED, expires_at__gt=now
    )


def _live_count(item_id: int, now: Any) -> int:
    return Assignment.objects.filter(_live(now), item_id=item_id).count()


def assignment_claim_next(*, project: Project, contributor: AbstractBaseUser) -> Assignment | None:
    """Reserve the next item of the project for the contributor, or None if none is left.

    A contributor who already holds a live reservation in the project gets that one
    back (so a repeat call reserves nothing new). Never hands one contributor the
    same item twice, nor an item more live assignments than the project's overlap.
    ProjectNotActiveError unless the project is active.
    """
    with transaction.atomic(durable=True):
        project = Project.objects.get(pk=project.pk)
        if project.status != Project.Status.ACTIVE:
            raise ProjectNotActiveError("This project is not taking answers.")
        now = timezone.now()
        held = (
            Assignment.objects.filter(
                project=project,
                contributor=contributor,
                status=Assignment.Status.RESERVED,
                expires_at__gt=now,
            )
            .order_by("pk")
            .first()
        )
        if held is not None:
            return held
        item = _item_lock_next(project=project, contributor=contributor, now=now)
        if item is None:
            return None
        assignment = Assignment.objects.create(
            project=project,
            item=item,
            contributor=contributor,
            expires_at=now + timezone.timedelta(seconds=project.reservation_seconds),
        )
        AssignmentEvent.objects.create(assignment=assignment, kind=AssignmentEvent.Kind.RESERVED)
    return assignment


def _item_lock_next(*, project: Project, contributor: AbstractBaseUser, now: Any) -> Item | None:
    mine = Assignment.objects.filter(item=OuterRef("pk"), contributor=contributor)
    full = (
        Assignment.objects.filter(_live(now), item=OuterRef("pk"))
        .values("item")
        .annotate(n=Count("pk"))
        .filter(n__gte=project.answers_per_item)
    )
    candidates = (
        Item.objects.filter(project=project, status=Item.Status.OPEN)
        .exclude(Exists(mine))
        .exclude(Exists(full))
        .order_by("pk")
    )
    if connection.features.has_select_for_update_skip_locked:
        skipped: list[int] = []
        while True:
            batch = list(
                candidates.exclude(pk__in=skipped)
                .select_for_update(skip_locked=True, of=("self",))
                .only("pk", "project_id")[:CANDIDATES_PER_ROUND]
            )
            if not batch:
                return None
            for item in batch:
                # A fresh statement: sees every assignment committed before our lock.
                if _live_count(item.pk, now) < project.answers_per_item:
                    return item
                skipped.append(item.pk)
    # SQLite: the IMMEDIATE transaction already excludes every other writer.
    return candidates.first()


def _assignment_for(*, public_id: Any, contributor: AbstractBaseUser) -> Assignment:
    assignment = (
        Assignment.objects.filter(public_id=public_id, contributor=contributor)
        .select_related("project")
        .first()
    )
    if assignment is None:  # someone else's is as unknown as a missing one
        raise AssignmentNotFoundError("No such assignment.")
    return assignment


def assignment_expire_if_due(*, assignment_id: int) -> bool:
    """Mark a reservation past its expiry `expired`. True if it was (or now is) expired."""
    with transaction.atomic():
        assignment = Assignment.objects.select_for_update().get(pk=assignment_id)
        if assignment.status == Assignment.Status.EXPIRED:
            return True
        if (
            assignment.status != Assignment.Status.RESERVED
            or assignment.expires_at > timezone.now()
        ):
            return False
        assignment.status = Assignment.Status.EXPIRED
        assignment.finished_at = timezone.now()
        assignment.save(update_fields=["status", "finished_at"])
        AssignmentEvent.objects.create(assignment=assignment, kind=AssignmentEvent.Kind.EXPIRED)
    return True


def assignment_submit(
    *,
    public_id: Any,
    contributor: AbstractBaseUser,
    answer: Any,
    time_on_task_ms: int | None = None,
) -> Submission:
    """Record the contributor's answer to their reservation.

    A repeat submit of the same assignment returns the first submission unchanged
    (no second credit, whatever the new answer). Refuses: someone else's or unknown
    assignment (404 assignment_not_found), an expired reservation (409
    assignment_expired; the assignment is marked expired), a skipped one (409
    assignment_closed), an invalid answer (400 answer_invalid). When the item has
    all its answers, its aggregation task is enqueued after commit.
    """
    assignment = _assignment_for(public_id=public_id, contributor=contributor)
    project = assignment.project
    task_type = task_type_get(project.task_type)
    existing = Submission.objects.filter(assignment=assignment).first()
    if existing is not None:
        return existing
    answer = task_type.answer_validate(project.label_config, answer)
    expired = False
    with transaction.atomic(durable=True):
        item = Item.objects.select_for_update().get(pk=assignment.item_id)
        assignment = Assignment.objects.select_for_update().get(pk=assignment.pk)
        if assignment.status == Assignment.Status.SUBMITTED:
            return assignment.submission
        if assignment.status == Assignment.Status.SKIPPED:
            raise AssignmentClosedError("This assignment was skipped.")
        now = timezone.now()
        if assignment.status == Assignment.Status.EXPIRED or assignment.expires_at <= now:
            expired = True
        else:
            submission = Submission.objects.create(
                assignment=assignment, answer=answer, time_on_task_ms=time_on_task_ms
            )
            assignment.status = Assignment.Status.SUBMITTED
            assignment.finished_at = now
            assignment.save(update_fields=["status", "finished_at"])
            AssignmentEvent.objects.create(
                assignment=assignment, kind=AssignmentEvent.Kind.SUBMITTED
            )
            submitted = Assignment.objects.filter(
                item=item, status=Assignment.Status.SUBMITTED
            ).count()
            if submitted >= project.answers_per_item and item.status == Item.Status.OPEN:
                item.status = Item.Status.COMPLETE
                item.save(update_fields=["status"])
                transaction.on_commit(partial(_enqueue_resolve, item.pk))
    if expired:
        assignment_expire_if_due(assignment_id=assignment.pk)
        raise AssignmentExpiredError("The reservation expired; take the next item.")
    return submission


def _enqueue_resolve(item_id: int) -> None:
    from labeling.tasks import item_resolve_task

    item_resolve_task.delay(item_id)


def assignment_skip(*, public_id: Any, contributor: AbstractBaseUser) -> Assignment:
    """Give a reservation back; the item is not offered to this contributor again.

    A repeat skip returns the skipped assignment. 409 assignment_closed if it was
    already submitted, assignment_expired if it expired.
    """
    assignment = _assignment_for(public_id=public_id, contributor=contributor)
    with transaction.atomic(durable=True):
        Item.objects.select_for_update().filter(pk=assignment.item_id).first()
        assignment = Assignment.objects.select_for_update().get(pk=assignment.pk)
        if assignment.status == Assignment.Status.SKIPPED:
            return assignment
        if assignment.status == Assignment.Status.SUBMITTED:
            raise AssignmentClosedError("This assignment was already answered.")
        if assignment.status == Assignment.Status.EXPIRED:
            raise AssignmentExpiredError("The reservation expired.")
        assignment.status = Assignment.Status.SKIPPED
        assignment.finished_at = timezone.now()
        assignment.save(update_fields=["status", "finished_at"])
        AssignmentEvent.objects.create(assignment=assignment, kind=AssignmentEvent.Kind.SKIPPED)
    return assignment


def assignments_expire() -> int:
    """Periodic: mark every reservation past its expiry `expired`. Returns how many.

    Slots of expired reservations are free from the moment they expire (the queue
    counts only live ones); this makes the state visible and final.
    """
    now = timezone.now()
    due = list(
        Assignment.objects.filter(status=Assignment.Status.RESERVED, expires_at__lte=now)
        .order_by("pk")
        .values_list("pk", flat=True)[:5000]
    )
    count = 0
    for assignment_id in due:
        count += assignment_expire_if_due(assignment_id=assignment_id)
    if count:
        log.info("expired %s reservations", count)
    return count

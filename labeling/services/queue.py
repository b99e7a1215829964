"""The assignment queue: handing out items, taking answers, skips and expiries.

Locks follow labeling/locks.py (order: item, then assignment, then ledger accounts).

Correctness under concurrency rests on one rule: the number of live assignments of
an item (submitted, or reserved and not expired) is only ever read and changed while
holding that item's row lock. On PostgreSQL the claim takes the first candidate with
SELECT ... FOR NO KEY UPDATE SKIP LOCKED, followed by a fresh count in a new statement
(READ COMMITTED gives each statement a new snapshot, so the count sees every
assignment committed before the lock was granted). On SQLite every write transaction
is IMMEDIATE: it holds the database's write lock from its first statement, so claims
run one at a time.
"""

import functools
import logging
import math
import random
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, TypedDict, cast

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext

from config.enqueue import enqueue_on_commit
from config.users import User
from labeling.errors import (
    AssignmentClosedError,
    AssignmentExpiredError,
    AssignmentNotFoundError,
    ContributorPausedError,
    ItemNotAvailableError,
    ProjectNotActiveError,
)
from labeling.locks import assignment_lock, item_lock, project_lock, row_lock_sql
from labeling.models import Assignment, AssignmentEvent, Item, Project, Submission
from labeling.selectors import contributor_pause_reason, gold_answers_budget
from labeling.services.quality import item_overlap_done
from labeling.task_types import task_type_get
from labeling.tasks import gold_submission_decide_task, item_resolve_task

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations

log = logging.getLogger(__name__)

LOCKED_RETRIES = 10  # claims retried while every candidate left is locked by others
LOCKED_RETRY_SECONDS = 0.02  # pause between them, outside any transaction
# Where gold falls among a contributor's items: not a secret, only not a pattern.
_random = random.Random()  # noqa: S311


# The queue's hot path is written once as SQL (the ORM spent more CPU compiling its
# subqueries than PostgreSQL spent running them). Each statement is composed from its
# parts for the database in use, once per process: never edited with str.replace.
# Live assignments: submitted, or reserved and not yet expired.
_LIVE_SQL = "(a.status = %s OR (a.status = %s AND a.expires_at > %s))"


@dataclass(frozen=True)
class _Statements:
    candidate_lock: str  # the first free candidate, locked (PostgreSQL: skipping locked)
    candidate_peek: str  # the same search without a lock: is anything left at all?
    recount: str
    held: str
    frontier: str
    assignment: str
    project: str
    item_lock: str
    assignment_lock: str
    submitted: str
    complete: str
    history: str
    gold_candidate: str
    gold_live: str


@functools.cache
def _statements(vendor: str) -> _Statements:
    """Every statement of the hot path for `vendor`. Only table names from the models'
    metadata and constant fragments are interpolated, never values."""
    item, assignment = Item._meta.db_table, Assignment._meta.db_table
    project = Project._meta.db_table
    arrays = vendor == "postgresql"
    # PostgreSQL retries past candidates found full after locking them; SQLite never
    # needs to (claims run one at a time) and has no arrays.
    skipped = " AND NOT (i.id = ANY(%s))" if arrays else ""
    candidates = (
        f"SELECT i.id, i.public_id, i.project_id, i.data FROM {item} i "  # noqa: S608
        "WHERE i.project_id = %s AND i.status = %s AND i.id > %s AND NOT i.is_gold "
        f"AND NOT EXISTS (SELECT 1 FROM {assignment} a "
        "WHERE a.item_id = i.id AND a.contributor_id = %s) "
        f"AND (SELECT COUNT(*) FROM {assignment} a WHERE a.item_id = i.id AND {_LIVE_SQL}) < %s"
        f"{skipped} ORDER BY i.id LIMIT 1"
    )
    return _Statements(
        candidate_lock=candidates + row_lock_sql(of="i", skip_locked=True),
        candidate_peek=candidates,
        recount=f"SELECT COUNT(*) FROM {assignment} a WHERE a.item_id = %s AND {_LIVE_SQL}",  # noqa: S608
        held=(
            f"SELECT a.*, i.public_id AS item_public_id, i.data AS item_data "  # noqa: S608
            f"FROM {assignment} a JOIN {item} i ON i.id = a.item_id "
            "WHERE a.project_id = %s AND a.contributor_id = %s AND a.status = %s "
            "AND a.expires_at > %s ORDER BY a.id LIMIT 1"
        ),
        frontier=(
            f"SELECT MAX(item_id) FROM {assignment} "  # noqa: S608
            "WHERE project_id = %s AND contributor_id = %s"
        ),
        assignment=f"SELECT * FROM {assignment} WHERE public_id = %s AND contributor_id = %s",  # noqa: S608
        project=f"SELECT * FROM {project} WHERE id = %s",  # noqa: S608
        item_lock=f"SELECT id, status, is_gold FROM {item} WHERE id = %s" + row_lock_sql(),  # noqa: S608
        assignment_lock=f"SELECT * FROM {assignment} WHERE id = %s" + row_lock_sql(),  # noqa: S608
        submitted=f"SELECT COUNT(*) FROM {assignment} WHERE item_id = %s AND status = %s",  # noqa: S608
        complete=f"UPDATE {item} SET status = %s WHERE id = %s AND status = %s",  # noqa: S608
        # The contributor's items in the project so far, and how many were gold.
        history=(
            "SELECT COUNT(*), COALESCE(SUM(CASE WHEN i.is_gold THEN 1 ELSE 0 END), 0) "  # noqa: S608
            f"FROM {assignment} a JOIN {item} i ON i.id = a.item_id "
            "WHERE a.project_id = %s AND a.contributor_id = %s"
        ),
        # Gold has no overlap: every contributor may answer every gold item once.
        gold_candidate=(
            f"SELECT i.id, i.public_id, i.project_id, i.data FROM {item} i "  # noqa: S608
            "WHERE i.project_id = %s AND i.is_gold AND i.gold_flag = '' "
            f"AND NOT EXISTS (SELECT 1 FROM {assignment} a "
            "WHERE a.item_id = i.id AND a.contributor_id = %s) ORDER BY i.id LIMIT 1"
        ),
        gold_live=(
            f"SELECT COUNT(*) FROM {assignment} a JOIN {item} i ON i.id = a.item_id "  # noqa: S608
            f"WHERE i.project_id = %s AND i.is_gold AND {_LIVE_SQL}"
        ),
    )


def _sql() -> _Statements:
    return _statements(connection.vendor)


class _AllLocked:
    """A claim's answer when free candidates exist but others hold every one of them."""


_ALL_LOCKED = _AllLocked()


def assignment_claim_next(*, project: Project, contributor: User) -> Assignment | None:
    """Reserve the next item of the project for the contributor, or None if none is left.

    A contributor who already holds a live reservation in the project gets that one
    back (so a repeat call reserves nothing new). Never hands one contributor the
    same item twice, nor an item more live assignments than the project's overlap.
    ProjectNotActiveError unless the project is active. While every free item is
    locked by claims in flight it tries again briefly, pausing outside the transaction
    (so it holds no lock while it waits), before answering None.
    """
    if project.status == Project.Status.COMPLETED:
        return None  # every item is decided: nothing left, for anyone
    if project.status != Project.Status.ACTIVE:
        raise ProjectNotActiveError(gettext("This project is not taking answers."))
    paused = contributor_pause_reason(project=project, contributor=contributor)
    if paused is not None:
        raise ContributorPausedError(paused, extra={"reason": paused})
    for attempt in range(LOCKED_RETRIES + 1):
        if attempt:
            time.sleep(LOCKED_RETRY_SECONDS)
        result = _claim_once(project=project, contributor=contributor)
        if not isinstance(result, _AllLocked):
            return result
    return None


def assignment_claim_item(*, project: Project, contributor: User, item_id: int) -> Assignment:
    """Reserve one given item for the contributor, under the queue's rules: the project
    is active, the contributor not paused, the item open with a free slot, and not
    theirs already (409 item_not_available otherwise).

    For replaying answers collected elsewhere in their real order (the quality
    benchmark, migrations from another tool), where the item is fixed by the record
    rather than chosen by the queue. Contributors get items from assignment_claim_next.
    """
    if project.status != Project.Status.ACTIVE:
        raise ProjectNotActiveError(gettext("This project is not taking answers."))
    paused = contributor_pause_reason(project=project, contributor=contributor)
    if paused is not None:
        raise ContributorPausedError(paused, extra={"reason": paused})
    with transaction.atomic(durable=True):
        now = timezone.now()
        item = item_lock(item_id=item_id)
        if item.project_id != project.pk:
            raise ItemNotAvailableError(gettext("No such item in this project."))
        if not item.is_gold and item.status != Item.Status.OPEN:
            raise ItemNotAvailableError(gettext("This item needs no more answers."))
        if Assignment.objects.filter(item=item, contributor=contributor).exists():
            raise ItemNotAvailableError(gettext("This contributor already had this item."))
        now_db = connection.ops.adapt_datetimefield_value(now)
        with connection.cursor() as cursor:
            cursor.execute(
                _sql().recount,
                [item.pk, Assignment.Status.SUBMITTED, Assignment.Status.RESERVED, now_db],
            )
            if not item.is_gold and cursor.fetchone()[0] >= project.answers_per_item:
                raise ItemNotAvailableError(gettext("Every answer slot of this item is taken."))
        return _reserve(project=project, item=item, contributor=contributor, now=now)


def _reserve(*, project: Project, item: Item, contributor: User, now: Any) -> Assignment:
    """The reservation row and its event (inside the claim's transaction)."""
    assignment = Assignment.objects.create(
        project=project,
        item=item,
        contributor=contributor,
        expires_at=now + timedelta(seconds=project.reservation_seconds),
    )
    AssignmentEvent.objects.create(assignment=assignment, kind=AssignmentEvent.Kind.RESERVED)
    return assignment


def _claim_once(*, project: Project, contributor: User) -> Assignment | _AllLocked | None:
    with transaction.atomic(durable=True):
        now = timezone.now()
        held = _held_reservation(project=project, contributor=contributor, now=now)
        if held is not None:
            return held
        item: Item | _AllLocked | None = _gold_item_if_due(
            project=project, contributor=contributor, now=now
        )
        if item is None:
            item = _item_lock_next(project=project, contributor=contributor, now=now)
        if item is None or isinstance(item, _AllLocked):
            return item
        return _reserve(project=project, item=item, contributor=contributor, now=now)


def _gold_item_if_due(*, project: Project, contributor: User, now: Any) -> Item | None:
    """A gold item, when the contributor is due one, the project has one they have not
    seen, and the gold budget the escrow holds is not spent; else None.

    Due: of the contributor's n + 1 items, about gold_rate of them are gold, at random
    places: gold is due while the gold seen is below floor(gold_rate * (n + 1) + U),
    U uniform in [0, 1) drawn per claim, so the count keeps within one of the rate and
    the positions follow no pattern. The budget check holds the project's row lock
    (first in the lock order), so two claims never both take the last gold slot.
    """
    if project.gold_rate <= 0:
        return None
    sql = _sql()
    with connection.cursor() as cursor:
        cursor.execute(sql.history, [project.pk, contributor.pk])
        seen, gold_seen = cursor.fetchone()
    if gold_seen >= math.floor(project.gold_rate * (seen + 1) + _random.random()):
        return None
    if not _gold_candidate(project=project, contributor=contributor):
        return None
    if not _regular_work_left(project=project, contributor=contributor, now=now):
        # Gold only among ordinary work: after "nothing left", an item that still turns
        # up would be gold, and a contributor could tell.
        return None
    locked = project_lock(project_id=project.pk)
    if locked.status != Project.Status.ACTIVE:
        return None  # completed or paused while this claim waited for the lock
    # Again under the lock: a concurrent claim of the same contributor may have taken it.
    found = _gold_candidate(project=locked, contributor=contributor)
    if not found:
        return None
    budget = gold_answers_budget(project=locked)
    now_db = connection.ops.adapt_datetimefield_value(now)
    with connection.cursor() as cursor:
        cursor.execute(
            sql.gold_live,
            [project.pk, Assignment.Status.SUBMITTED, Assignment.Status.RESERVED, now_db],
        )
        if cursor.fetchone()[0] >= budget:
            return None
    return found[0]


def _gold_candidate(*, project: Project, contributor: User) -> list[Item]:
    return list(Item.objects.raw(_sql().gold_candidate, [project.pk, contributor.pk]))


def _regular_work_left(*, project: Project, contributor: User, now: Any) -> bool:
    """Is there an ordinary item the contributor could still take (without locking it)?"""
    now_db = connection.ops.adapt_datetimefield_value(now)
    live = [Assignment.Status.SUBMITTED, Assignment.Status.RESERVED, now_db]
    with connection.cursor() as cursor:
        cursor.execute(_sql().frontier, [project.pk, contributor.pk])
        frontier = cursor.fetchone()[0] or 0
    # After the contributor's last item first (an index look-up), then from the start.
    for after in (frontier, 0) if frontier else (0,):
        params: list[Any] = [project.pk, Item.Status.OPEN, after, contributor.pk, *live]
        params.append(project.answers_per_item)
        if connection.features.has_select_for_update_skip_locked:
            params.append([])
        if list(Item.objects.raw(_sql().candidate_peek, params)):
            return True
    return False


def _item_lock_next(*, project: Project, contributor: User, now: Any) -> Item | _AllLocked | None:
    """Lock the first item the contributor may take; None if there is none.

    Items are handed out in id order, so everything up to the contributor's last item in
    the project is mostly full or theirs already: the search starts after it (an index
    look-up), and only if nothing is left there does it wrap round to the start, where
    an expiry or a skip may have freed a slot. Without this, each claim re-examined every
    item the contributor had answered, and claims slowed as they worked.
    """
    with connection.cursor() as cursor:
        cursor.execute(_sql().frontier, [project.pk, contributor.pk])
        frontier = cursor.fetchone()[0] or 0
    item = _item_lock_after(project=project, contributor=contributor, now=now, after=frontier)
    if item is None and frontier:
        item = _item_lock_after(project=project, contributor=contributor, now=now, after=0)
    return item


def _item_lock_after(
    *, project: Project, contributor: User, now: Any, after: int
) -> Item | _AllLocked | None:
    """The first free item after `after`, locked; _ALL_LOCKED if the free ones are all
    locked by other transactions (their claims or submits may still free or fill them)."""
    now_db = connection.ops.adapt_datetimefield_value(now)
    live = [Assignment.Status.SUBMITTED, Assignment.Status.RESERVED, now_db]
    row_locks = connection.features.has_select_for_update_skip_locked
    sql = _sql()
    skipped: list[int] = []
    while True:
        params: list[Any] = [project.pk, Item.Status.OPEN, after, contributor.pk, *live]
        params.append(project.answers_per_item)
        if row_locks:
            params.append(skipped)
        found = list(Item.objects.raw(sql.candidate_lock, params))
        if not found:
            if row_locks and list(Item.objects.raw(sql.candidate_peek, params)):
                return _ALL_LOCKED
            return None
        item = found[0]
        if not row_locks:
            return item  # SQLite: this transaction is the only writer
        with connection.cursor() as cursor:
            # A fresh statement: sees every assignment committed before our lock.
            cursor.execute(sql.recount, [item.pk, *live])
            if cursor.fetchone()[0] < project.answers_per_item:
                return item
        skipped.append(item.pk)


def _assignment_for(*, public_id: Any, contributor: User) -> Assignment:
    """The contributor's assignment with its project; someone else's is as unknown as none.

    Two precompiled queries instead of an ORM join: this runs on every submit.
    """
    found = list(Assignment.objects.raw(_sql().assignment, [_uuid_db(public_id), contributor.pk]))
    if not found:
        raise AssignmentNotFoundError(gettext("No such assignment."))
    assignment = found[0]
    assignment.project = next(iter(Project.objects.raw(_sql().project, [assignment.project_id])))
    return assignment


def _uuid_db(value: Any) -> Any:
    try:
        parsed = value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError as exc:
        raise AssignmentNotFoundError(gettext("No such assignment.")) from exc
    return Assignment._meta.get_field("public_id").get_db_prep_value(parsed, connection)


class _HeldItemColumns(TypedDict):
    """The item's columns that the `held` query selects beside the assignment's (the
    type the rows are cast to: mypy cannot read the SQL)."""

    item_public_id: Any  # the database's form of a UUID
    item_data: Any  # the database's form of JSON


def _held_reservation(*, project: Project, contributor: User, now: Any) -> Assignment | None:
    """The contributor's live reservation in the project, with its item, if any."""
    params = [
        project.pk,
        contributor.pk,
        Assignment.Status.RESERVED,
        connection.ops.adapt_datetimefield_value(now),
    ]
    found = list(Assignment.objects.raw(_sql().held, params))
    if not found:
        return None
    held = cast("WithAnnotations[Assignment, _HeldItemColumns]", found[0])
    data_field = Item._meta.get_field("data")
    held.item = Item(
        id=held.item_id,
        project_id=held.project_id,
        public_id=Item._meta.get_field("public_id").to_python(held.item_public_id),
        # No expression: JSONField looks at it only to pass a KeyTransform's value through.
        data=data_field.from_db_value(held.item_data, None, connection),  # type: ignore[arg-type]
    )
    return held


def assignment_expire_if_due(*, assignment_id: int) -> bool:
    """Mark a reservation past its expiry `expired`. True if it was (or now is) expired."""
    with transaction.atomic():
        assignment = assignment_lock(assignment_id=assignment_id)
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
    contributor: User,
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
    if assignment.status == Assignment.Status.SUBMITTED:
        return Submission.objects.get(assignment=assignment)
    answer = task_type_get(project.task_type).answer_validate(project.label_config, answer)
    expired = False
    with transaction.atomic(durable=True), connection.cursor() as cursor:
        # Lock order: item, then assignment (see the module docstring).
        cursor.execute(_sql().item_lock, [assignment.item_id])
        _, item_status, item_is_gold = cursor.fetchone()
        assignment = next(iter(Assignment.objects.raw(_sql().assignment_lock, [assignment.pk])))
        if assignment.status == Assignment.Status.SUBMITTED:
            return Submission.objects.get(assignment=assignment)
        if assignment.status == Assignment.Status.SKIPPED:
            raise AssignmentClosedError(gettext("This assignment was skipped."))
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
            _after_answer(
                cursor=cursor,
                project=project,
                item_id=assignment.item_id,
                item_status=item_status,
                item_is_gold=bool(item_is_gold),
                submission=submission,
            )
    if expired:
        assignment_expire_if_due(assignment_id=assignment.pk)
        raise AssignmentExpiredError(gettext("The reservation expired; take the next item."))
    return submission


def _after_answer(
    *,
    cursor: Any,
    project: Project,
    item_id: int,
    item_status: str,
    item_is_gold: bool,
    submission: Submission,
) -> None:
    """Under the item's lock, after an answer: a gold answer is decided at once; an answer
    to an item already decided is scored against the others; otherwise the item is
    complete once dynamic overlap needs no more answers, and its decision follows.
    Every task is enqueued after commit."""
    if item_is_gold:
        enqueue_on_commit(gold_submission_decide_task, submission.pk)
        return
    if item_status != Item.Status.OPEN:
        enqueue_on_commit(item_resolve_task, item_id)
        return
    cursor.execute(_sql().submitted, [item_id, Assignment.Status.SUBMITTED])
    answers = cursor.fetchone()[0]
    item = Item(pk=item_id, project=project, status=item_status)
    if item_overlap_done(item=item, project=project, answers=answers):
        cursor.execute(_sql().complete, [Item.Status.COMPLETE, item_id, Item.Status.OPEN])
        enqueue_on_commit(item_resolve_task, item_id)


def assignment_skip(*, public_id: Any, contributor: User) -> Assignment:
    """Give a reservation back; the item is not offered to this contributor again.

    A repeat skip returns the skipped assignment. 409 assignment_closed if it was
    already submitted, assignment_expired if it expired.
    """
    assignment = _assignment_for(public_id=public_id, contributor=contributor)
    with transaction.atomic(durable=True):
        item_lock(item_id=assignment.item_id)
        assignment = assignment_lock(assignment_id=assignment.pk)
        if assignment.status == Assignment.Status.SKIPPED:
            return assignment
        if assignment.status == Assignment.Status.SUBMITTED:
            raise AssignmentClosedError(gettext("This assignment was already answered."))
        if (
            assignment.status == Assignment.Status.EXPIRED
            or assignment.expires_at <= timezone.now()
        ):
            raise AssignmentExpiredError(gettext("The reservation expired."))
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
        # A project waiting only for those reservations completes now.
        from labeling.services.quality import project_complete_if_done

        projects = Assignment.objects.filter(pk__in=due).values_list("project_id", flat=True)
        for project_id in set(projects):
            project_complete_if_done(project_id=project_id)
    return count

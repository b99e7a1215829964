"""Reads of the labeling app, with who-may-see-what enforced here."""

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Avg, Count, F, Q, Value, Window
from django.db.models.functions import Floor, Least, RowNumber, TruncDay, TruncHour
from django.utils import timezone
from django.utils.translation import gettext

from config.errors import NotFoundError
from config.users import User
from labeling.models import Assignment, ContributorQuality, Item, Project, Submission
from labeling.task_types import task_type_get
from payouts.fields import YoctoSum
from payouts.money import yocto_to_near
from payouts.selectors import escrow_balance


def project_get_owned(*, user: User, public_id: Any) -> Project:
    """The user's own project, or 404 (a stranger's project is as unknown as none)."""
    project = Project.objects.filter(public_id=public_id, owner=user).first()
    if project is None:
        raise NotFoundError(gettext("No such project."), code="project_not_found")
    return project


def project_get_visible(*, user: User, public_id: Any) -> Project:
    """A project the user owns or that has been published (active, paused or completed:
    contributors keep seeing what they worked on), or 404. Drafts are the owner's."""
    project = (
        Project.objects.filter(public_id=public_id)
        .filter(Q(owner=user) | ~Q(status=Project.Status.DRAFT))
        .first()
    )
    if project is None:
        raise NotFoundError(gettext("No such project."), code="project_not_found")
    return project


@dataclass(frozen=True)
class Funding:
    items: int
    slots_unpaid: int  # answer slots still to be decided (not yet accepted or rejected)
    cost_per_answer: int  # yoctoNEAR: reward + fee
    escrow: int  # yoctoNEAR
    required: int  # yoctoNEAR the escrow must hold for every unpaid slot

    @property
    def shortfall(self) -> int:
        return max(0, self.required - self.escrow)

    def as_api(self) -> dict[str, str | int]:
        return {
            "items": self.items,
            "escrow": yocto_to_near(self.escrow),
            "required": yocto_to_near(self.required),
            "shortfall": yocto_to_near(self.shortfall),
        }


def gold_answers_budget(
    *, project: Project, regular_items: int | None = None, gold_coming: bool = False
) -> int:
    """Gold answers the escrow holds money for: gold_rate of a contributor's items are
    gold, so at most gold_rate / (1 - gold_rate) gold answers per regular answer slot.
    0 without gold items (`gold_coming`: as if the project had some already)."""
    if project.gold_rate <= 0:
        return 0
    if not gold_coming and not Item.objects.filter(project=project, is_gold=True).exists():
        return 0
    if regular_items is None:
        regular_items = Item.objects.filter(project=project, is_gold=False).count()
    slots = regular_items * project.answers_per_item
    return math.ceil(slots * project.gold_rate / (1 - project.gold_rate))


def project_funding(
    *, project: Project, extra_items: int = 0, gold_coming: bool = False
) -> Funding:
    """What the escrow must hold: reward plus fee for every answer slot not yet decided,
    at the maximum overlap (dynamic overlap may need fewer: the rest is released when
    the project completes), and for the gold budget."""
    items = Item.objects.filter(project=project, is_gold=False).count() + extra_items
    decided = Submission.objects.filter(
        assignment__project=project,
        status__in=[Submission.Status.ACCEPTED, Submission.Status.REJECTED],
    ).count()
    gold = gold_answers_budget(project=project, regular_items=items, gold_coming=gold_coming)
    slots = max(0, items * project.answers_per_item + gold - decided)
    if project.status == Project.Status.COMPLETED:
        slots = 0
    return Funding(
        items=items,
        slots_unpaid=slots,
        cost_per_answer=project.cost_per_answer,
        escrow=escrow_balance(reference=project.escrow_reference),
        required=slots * project.cost_per_answer,
    )


def project_progress(*, project: Project) -> dict[str, int]:
    items = Item.objects.filter(project=project).aggregate(
        total=Count("pk"),
        open=Count("pk", filter=Q(status=Item.Status.OPEN)),
        complete=Count("pk", filter=Q(status=Item.Status.COMPLETE)),
        resolved=Count("pk", filter=Q(status=Item.Status.RESOLVED)),
        gold=Count("pk", filter=Q(is_gold=True)),
    )
    submissions = Submission.objects.filter(assignment__project=project).aggregate(
        total=Count("pk"),
        accepted=Count("pk", filter=Q(status=Submission.Status.ACCEPTED)),
        rejected=Count("pk", filter=Q(status=Submission.Status.REJECTED)),
        pending=Count("pk", filter=Q(status=Submission.Status.PENDING)),
        review=Count("pk", filter=Q(status=Submission.Status.REVIEW)),
    )
    reserved = Assignment.objects.filter(project=project, status=Assignment.Status.RESERVED).count()
    regular = items["total"] - items["gold"]
    return {
        "items_total": regular,
        "items_gold": items["gold"],
        "items_open": items["open"] - items["gold"],
        "items_complete": items["complete"],
        "items_resolved": items["resolved"],
        "answers_wanted": regular * project.answers_per_item,
        "answers_submitted": submissions["total"],
        "answers_accepted": submissions["accepted"],
        "answers_rejected": submissions["rejected"],
        "answers_pending": submissions["pending"],
        "answers_in_review": submissions["review"],
        "reservations_held": reserved,
    }


def contributor_pause_reason(*, project: Project, contributor: User) -> str | None:
    """Why the contributor is paused from the project, or None if they are not."""
    row = (
        ContributorQuality.objects.filter(
            project=project, contributor=contributor, paused_at__isnull=False
        )
        .values_list("pause_reason", flat=True)
        .first()
    )
    return row


def assignment_is_contributors_in_project(
    *, project: Project, contributor: User, public_id: Any
) -> bool:
    """Whether the assignment is the contributor's, in this project (a page answers the
    reservations of the project it shows, not another project's)."""
    return Assignment.objects.filter(
        public_id=public_id, contributor=contributor, project=project
    ).exists()


def submission_get_in_project(*, project: Project, public_id: Any) -> Submission:
    """An answer to the project (the caller owns it), or 404."""
    submission = (
        Submission.objects.filter(assignment__project=project, public_id=public_id)
        .select_related("assignment")
        .first()
    )
    if submission is None:
        raise NotFoundError(gettext("No such answer in this project."), code="submission_not_found")
    return submission


def submissions_in_review(*, project: Project, limit: int = 100) -> list[Submission]:
    """The project's answers waiting for the requester, oldest first, with their items."""
    return list(
        Submission.objects.filter(assignment__project=project, status=Submission.Status.REVIEW)
        .select_related("assignment__item", "assignment__contributor")
        .order_by("pk")[:limit]
    )


def submission_feedback(*, submission: Submission) -> dict[str, Any] | None:
    """What the contributor may learn right after answering (gold feedback), or None."""
    from labeling.services.quality import gold_feedback

    item = Item.objects.select_related("project").get(pk=submission.assignment.item_id)
    return gold_feedback(item=item, project=item.project, answer=submission.answer)


def _standing(row: ContributorQuality) -> dict[str, Any]:
    """A contributor's standing in one project, with the evidence behind it."""
    return {
        "reputation": row.reputation,
        "reliability": row.reliability,
        "answers": row.answers,
        "gold_answers": row.gold_answers,
        "gold_correct": row.gold_correct,
        "behaviour": row.behaviour,
        "paused": row.paused_at is not None,
        "pause_reason": row.pause_reason or None,
    }


def _own_standing(row: ContributorQuality) -> dict[str, Any]:
    """A contributor's standing as they may see it: where the project does not reveal
    gold, not how many of their answers were to gold items (None), as for
    their answers' scores (submissions_of_contributor): a count that moves after an
    answer says that answer was to a gold item."""
    standing = {"project": row.project.public_id, "title": row.project.title, **_standing(row)}
    if not row.project.show_gold_feedback:
        standing.update(gold_answers=None, gold_correct=None)
    return standing


def contributor_quality(*, user: User) -> dict[str, Any]:
    """A contributor's quality: overall and per project, with the evidence behind it.

    The figures are the quality engine's, as of each project's last refit: `answers` are
    the answers it rated then, fewer than those submitted until the next refit.
    Gold counts of projects that hide gold are None and left out of the totals, on the
    pages and in the API alike."""
    rows = list(
        ContributorQuality.objects.filter(contributor=user)
        .select_related("project")
        .order_by("-updated_at")[:200]
    )
    answers = sum(row.answers for row in rows)
    weighted = [(row.reputation, row.answers) for row in rows if row.reputation is not None]
    weight = sum(n for _, n in weighted)
    overall = sum(r * n for r, n in weighted) / weight if weight else None
    shown = [_own_standing(row) for row in rows]
    return {
        "reputation": round(overall, 4) if overall is not None else None,
        "answers": answers,
        "gold_answers": sum(row["gold_answers"] or 0 for row in shown),
        "gold_correct": sum(row["gold_correct"] or 0 for row in shown),
        "projects": shown,
    }


SCORE_BINS = 10
FIT_LATE_SECONDS = 1800  # a fit this old, with answers since, means refits are not running


def _fit_note(quality: Any, *, answers: int, fitted: int) -> str:
    """In words, whether the scores rest on a current fit."""
    if answers == 0:
        return gettext("No answers yet.")
    if quality is None or not quality.fitted_at:
        return gettext(
            "Not fitted yet: answers are judged by agreement, each contributor assumed "
            "right 70% of the time, until the first refit."
        )
    age = (timezone.now() - quality.fitted_at).total_seconds()
    if answers > fitted and age > FIT_LATE_SECONDS:
        return gettext(
            "The last refit is %(minutes)s minutes old and %(new)s answers came since: the "
            "quality worker may be down. Answers are still judged, on that fit."
        ) % {"minutes": int(age // 60), "new": answers - fitted}
    return gettext("Current.")


def project_quality(*, project: Project) -> dict[str, Any]:
    """The project's quality for its owner: the last fit, the model prior and why it is
    (not) used, gold the engine doubts, the scores' distribution and decisions, and
    the contributors' standing (best first)."""
    from labeling.models import ProjectQuality

    quality = ProjectQuality.objects.filter(project=project).first()
    # Binned by the database (a score of 1.0 in the last bin): a project's answers can be
    # many more than its page should carry into Python.
    bins = (
        Submission.objects.filter(assignment__project=project, score__isnull=False)
        .annotate(bin=Least(Floor(F("score") * SCORE_BINS), Value(SCORE_BINS - 1.0)))
        .values("bin")
        .annotate(n=Count("pk"))
        .values_list("bin", "n")
    )
    histogram = [0] * SCORE_BINS
    for score_bin, n in bins:
        histogram[max(0, int(score_bin))] += n
    decisions = dict(
        Submission.objects.filter(assignment__project=project)
        .values("status")
        .annotate(n=Count("pk"))
        .values_list("status", "n")
    )
    contributors = (
        ContributorQuality.objects.filter(project=project)
        .select_related("contributor__near_account")
        .order_by("-reputation", "pk")[:200]
    )
    flagged = Item.objects.filter(project=project, is_gold=True).exclude(gold_flag="")
    prior = (quality.prior or {}) if quality else {}
    answers = sum(decisions.values())
    fitted = quality.answers_fitted if quality else 0
    return {
        "fit_version": quality.fit_version if quality else 0,
        "fitted_at": quality.fitted_at if quality else None,
        "answers_fitted": fitted,
        "answers_unfitted": max(0, answers - fitted),
        "fit_note": _fit_note(quality, answers=answers, fitted=fitted),
        "labels": quality.labels if quality else [],
        "class_prior": quality.class_prior if quality else [],
        "fit_stats": quality.fit_stats if quality else {},
        "model": {
            "status": (quality.model_status if quality else "")
            or gettext("no model prior fitted yet"),
            "prior_used": bool(quality and quality.prior_used),
            "name": quality.model_name if quality else "",
            "version": quality.model_version if quality else "",
            "sha256": quality.model_sha256 if quality else "",
            "prior_metrics": prior.get("metrics", {}),
        },
        "gold_flags": [
            {"item": item.public_id, "external_id": item.external_id, "reason": item.gold_flag}
            for item in flagged[:200]
        ],
        "score_histogram": histogram,
        "decisions": {status: decisions.get(status, 0) for status in Submission.Status.values},
        "contributors": [
            {
                "contributor": row.contributor.get_username(),
                "near_account_id": getattr(
                    getattr(row.contributor, "near_account", None), "account_id", None
                ),
                "one_coin": row.one_coin,
                **_standing(row),
            }
            for row in contributors
        ],
    }


# What a contributor is shown of a gold answer's score where the project does not
# reveal gold: nothing that says the item was gold.
_GOLD_PARTS_HIDDEN = ("method", "gold_match", "gold_flag")


def submissions_of_contributor(
    *, user: User, project_public_id: Any = None, limit: int = 200, offset: int = 0
) -> list[dict[str, Any]]:
    """The caller's own answers, newest first, with the decision, its reason, and the
    score with its parts: why an answer was accepted, rejected or is in review. Of a gold
    item's answer, in a project that does not reveal gold, only the decision. `offset`
    and `limit` page through them (the /me/ page)."""
    submissions = (
        Submission.objects.filter(assignment__contributor=user)
        .select_related("assignment__item", "assignment__project")
        .order_by("-pk")
    )
    if project_public_id is not None:
        submissions = submissions.filter(assignment__project__public_id=project_public_id)
    rows = []
    for submission in submissions[offset : offset + limit]:
        project = submission.assignment.project
        hidden = submission.assignment.item.is_gold and not project.show_gold_feedback
        parts = dict(submission.score_parts or {})
        if hidden:
            parts = {k: v for k, v in parts.items() if k not in _GOLD_PARTS_HIDDEN}
        rows.append(
            {
                "id": submission.public_id,
                "project": project.public_id,
                "project_title": project.title,
                "item": submission.assignment.item.public_id,
                "answer": submission.answer,
                "status": submission.status,
                "decision_reason": submission.decision_reason or None,
                "score": None if hidden else submission.score,
                "score_parts": None if hidden else (parts or None),
                "created_at": submission.created_at,
                "decided_at": submission.decided_at,
            }
        )
    return rows


# --- contributors' pages: open projects, pending work ----------------------------------

# Answers per project the estimated time per answer is the median of: the latest ones
# (recent work says more about the task as it is now, and the query stays bounded).
TIME_SAMPLE = 200


@dataclass(frozen=True)
class OpenProject:
    """An active project as a contributor sees it on the home page."""

    project: Project
    items_left: int  # ordinary items still collecting answers
    median_time_ms: float | None  # of recent answers not rejected; None: no timed answer yet
    reputation: float | None  # the viewer's in this project; None: not rated yet (or anonymous)
    pause_reason: str | None  # why the viewer is paused from it, or None

    @property
    def meets_reputation(self) -> bool:
        """Not paused, and rated at least the project's minimum (or not rated yet:
        contributors are judged on gold before a low reputation pauses them)."""
        if self.pause_reason is not None:
            return False
        return self.reputation is None or self.reputation >= self.project.min_reputation


def _median(values: list[int]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return float(ordered[middle])
    return (ordered[middle - 1] + ordered[middle]) / 2


def projects_open(*, user: User | None, limit: int = 50) -> list[OpenProject]:
    """Active projects, newest first, with the work left, the median time per answer
    and the viewer's standing in each. Four queries however many projects (three when
    anonymous): each figure is read for all of them at once."""
    projects = list(
        Project.objects.filter(status=Project.Status.ACTIVE).order_by("-published_at", "-pk")[
            :limit
        ]
    )
    if not projects:
        return []
    ids = [project.pk for project in projects]
    left = dict(
        Item.objects.filter(project_id__in=ids, status=Item.Status.OPEN, is_gold=False)
        .values("project_id")
        .annotate(n=Count("pk"))
        .values_list("project_id", "n")
    )
    recent = (
        Submission.objects.filter(assignment__project_id__in=ids, time_on_task_ms__isnull=False)
        .exclude(status=Submission.Status.REJECTED)
        .annotate(
            rank=Window(
                RowNumber(), partition_by=[F("assignment__project_id")], order_by=F("pk").desc()
            )
        )
        .filter(rank__lte=TIME_SAMPLE)
        .values_list("assignment__project_id", "time_on_task_ms")
    )
    times: dict[int, list[int]] = {}
    for project_id, time_ms in recent:
        if time_ms is not None:  # filtered out above; for the type checker
            times.setdefault(project_id, []).append(time_ms)
    standing: dict[int, tuple[float | None, str | None]] = {}
    if user is not None:
        for project_id, reputation, paused_at, reason in ContributorQuality.objects.filter(
            contributor=user, project_id__in=ids
        ).values_list("project_id", "reputation", "paused_at", "pause_reason"):
            standing[project_id] = (reputation, reason if paused_at is not None else None)
    return [
        OpenProject(
            project=project,
            items_left=left.get(project.pk, 0),
            median_time_ms=_median(times.get(project.pk, [])),
            reputation=standing.get(project.pk, (None, None))[0],
            pause_reason=standing.get(project.pk, (None, None))[1],
        )
        for project in projects
    ]


@dataclass(frozen=True)
class WorkSummary:
    """A contributor's answers by where they stand, with what they are worth."""

    pending: int  # answers submitted and not decided yet (waiting, or in review)
    pending_value: int  # yoctoNEAR they would earn if all were accepted
    accepted: int
    rejected: int


def contributor_work_summary(*, user: User) -> WorkSummary:
    """Counts of the contributor's answers by decision (one query)."""
    waiting = [Submission.Status.PENDING, Submission.Status.REVIEW]
    row = Submission.objects.filter(assignment__contributor=user).aggregate(
        pending=Count("pk", filter=Q(status__in=waiting)),
        pending_value=YoctoSum(
            "assignment__project__reward_per_answer", filter=Q(status__in=waiting)
        ),
        accepted=Count("pk", filter=Q(status=Submission.Status.ACCEPTED)),
        rejected=Count("pk", filter=Q(status=Submission.Status.REJECTED)),
    )
    return WorkSummary(
        pending=row["pending"],
        pending_value=row["pending_value"],
        accepted=row["accepted"],
        rejected=row["rejected"],
    )


# --- The project page (dashboard) ---------------------------------------------------------
# Every figure and chart is aggregated by the database (COUNT ... GROUP BY); Python only
# walks the grouped rows (a bucket, a label pair, a contributor), never every answer.

SERIES_HOURLY_UP_TO = timedelta(hours=72)  # a longer span is charted by day
SERIES_MAX_DAYS = 366  # days charted at most; earlier ones are folded into the first
ANSWERS_WINDOW = timedelta(hours=48)  # answers per hour: the project's last 48 hours
LEADERBOARD_SIZE = 50
CONFUSION_SHADES = 6  # CSS classes shade-0 .. shade-5 of the matrix's cells


@dataclass(frozen=True)
class TimeSeries:
    unit: str  # "hour" or "day"
    starts: list[datetime]  # the start of each bucket, aware, oldest first
    values: list[int]


def _project_span(project: Project, now: datetime) -> tuple[datetime, datetime]:
    """From publication (creation for a draft) to completion, or now while it runs."""
    start = project.published_at or project.created_at
    end = project.completed_at or now
    return start, max(start, end)


def _bucket_floor(moment: datetime, unit: str) -> datetime:
    local = timezone.localtime(moment)
    if unit == "day":
        return local.replace(hour=0, minute=0, second=0, microsecond=0)
    return local.replace(minute=0, second=0, microsecond=0)


def _buckets(start: datetime, end: datetime, unit: str) -> list[datetime]:
    """Bucket starts from start's bucket to end's, in the current time zone. Steps are
    taken in UTC and floored again, so a daylight-saving change cannot skip or repeat one."""
    step = timedelta(days=1) if unit == "day" else timedelta(hours=1)
    first, last = _bucket_floor(start, unit), _bucket_floor(end, unit)
    starts = [first]
    while starts[-1] < last:
        following = _bucket_floor(starts[-1] + step + step / 2, unit)
        starts.append(following if following > starts[-1] else starts[-1] + step)
    return starts


def _series(
    rows: Iterable[tuple[datetime, int]], starts: list[datetime], unit: str, *, cumulative: bool
) -> TimeSeries:
    """Grouped (bucket, count) rows placed on `starts`: a row before the first bucket
    counts in the first (cumulative: as its base), one after the last in the last."""
    counts = [0] * len(starts)
    index = {start: i for i, start in enumerate(starts)}
    for bucket, n in rows:
        if bucket in index:
            counts[index[bucket]] += n
        elif bucket < starts[0]:
            counts[0] += n
        else:
            counts[-1] += n
    if cumulative:
        total = 0
        for i, n in enumerate(counts):
            total += n
            counts[i] = total
    return TimeSeries(unit=unit, starts=starts, values=counts)


def project_decided_series(*, project: Project, now: datetime | None = None) -> TimeSeries:
    """Items decided so far (cumulative) over the project's life: by hour over up to
    three days, by day beyond (the last SERIES_MAX_DAYS days)."""
    start, end = _project_span(project, now or timezone.now())
    unit = "hour" if end - start <= SERIES_HOURLY_UP_TO else "day"
    start = max(start, end - timedelta(days=SERIES_MAX_DAYS - 1))
    trunc = TruncDay if unit == "day" else TruncHour
    rows = (
        Item.objects.filter(
            project=project,
            is_gold=False,
            status=Item.Status.RESOLVED,
            resolved_at__isnull=False,
        )
        .annotate(bucket=trunc("resolved_at"))
        .values("bucket")
        .annotate(n=Count("pk"))
        .values_list("bucket", "n")
    )
    return _series(rows, _buckets(start, end, unit), unit, cumulative=True)


def project_answers_series(*, project: Project, now: datetime | None = None) -> TimeSeries:
    """Answers received per hour over the project's last 48 hours (its whole life if
    shorter; a completed project's last 48 hours before it completed)."""
    start, end = _project_span(project, now or timezone.now())
    start = max(start, end - ANSWERS_WINDOW)
    starts = _buckets(start, end, "hour")
    rows = (
        Submission.objects.filter(
            assignment__project=project, created_at__gte=starts[0], created_at__lte=end
        )
        .annotate(bucket=TruncHour("created_at"))
        .values("bucket")
        .annotate(n=Count("pk"))
        .values_list("bucket", "n")
    )
    return _series(rows, starts, "hour", cumulative=False)


@dataclass(frozen=True)
class ConfusionCell:
    count: int
    percent: float  # of the row, 0..100
    shade: int  # 0 (none) .. CONFUSION_SHADES - 1 (the whole row)
    diagonal: bool  # the answer is the item's final label


@dataclass(frozen=True)
class ConfusionRow:
    label: str  # the items' final label
    total: int  # answers to those items
    cells: list[ConfusionCell]  # by the answer's label, in the labels' order

    @property
    def agreement(self) -> float | None:
        """Percent of the answers that gave the final label."""
        agreeing = next((cell.count for cell in self.cells if cell.diagonal), 0)
        return 100 * agreeing / self.total if self.total else None


@dataclass(frozen=True)
class Confusion:
    labels: list[str]
    rows: list[ConfusionRow]

    @property
    def total(self) -> int:
        return sum(row.total for row in self.rows)

    @property
    def agreement(self) -> float | None:
        agreeing = sum(cell.count for row in self.rows for cell in row.cells if cell.diagonal)
        return 100 * agreeing / self.total if self.total else None


def _shade(count: int, total: int) -> int:
    if not count or not total:
        return 0
    return min(CONFUSION_SHADES - 1, 1 + int(count / total * (CONFUSION_SHADES - 1)))


def project_confusion(*, project: Project) -> Confusion | None:
    """Agreement per label: answers counted by their item's final label (rows; gold
    items' is their gold answer) and the label the contributor gave (columns). Items
    without a final label are left out. None for a task type without labels."""
    task_type = task_type_get(project.task_type)
    labels = task_type.categories(project.label_config)
    if labels is None:
        return None
    k = len(labels)
    counts = [[0] * k for _ in range(k)]
    pairs = (
        Submission.objects.filter(
            assignment__project=project, assignment__item__final_answer__isnull=False
        )
        .values("assignment__item__final_answer", "answer")
        .annotate(n=Count("pk"))
        .values_list("assignment__item__final_answer", "answer", "n")
    )
    for final, answer, n in pairs:
        try:
            row = task_type.answer_category(project.label_config, final)
            column = task_type.answer_category(project.label_config, answer)
        except (KeyError, TypeError, ValueError):
            continue  # not an answer of this config (a hand-edited row): nothing to count
        counts[row][column] += n
    rows = []
    for i, label in enumerate(labels):
        total = sum(counts[i])
        rows.append(
            ConfusionRow(
                label=label,
                total=total,
                cells=[
                    ConfusionCell(
                        count=n,
                        percent=100 * n / total if total else 0.0,
                        shade=_shade(n, total),
                        diagonal=i == j,
                    )
                    for j, n in enumerate(counts[i])
                ],
            )
        )
    return Confusion(labels=labels, rows=rows)


def project_leaderboard(
    *, project: Project, standings: list[dict[str, Any]], limit: int = LEADERBOARD_SIZE
) -> list[dict[str, Any]]:
    """The project's contributors, best reputation first (those the engine has not rated
    yet after them, by answers): answers, accepted share of the decided ones, gold
    accuracy, reliability and reputation. `standings`: project_quality's contributors."""
    by_username = {row["contributor"]: row for row in standings}
    counts = (
        Submission.objects.filter(assignment__project=project)
        .values("assignment__contributor__username")
        .annotate(
            answers=Count("pk"),
            accepted=Count("pk", filter=Q(status=Submission.Status.ACCEPTED)),
            rejected=Count("pk", filter=Q(status=Submission.Status.REJECTED)),
            review=Count("pk", filter=Q(status=Submission.Status.REVIEW)),
        )
        .values_list(
            "assignment__contributor__username", "answers", "accepted", "rejected", "review"
        )
    )
    board = []
    for username, answers, accepted, rejected, review in counts:
        standing = by_username.get(username, {})
        gold_answers = standing.get("gold_answers") or 0
        decided = accepted + rejected
        board.append(
            {
                "contributor": username,
                "near_account_id": standing.get("near_account_id"),
                "answers": answers,
                "accepted": accepted,
                "rejected": rejected,
                "review": review,
                "accepted_share": accepted / decided if decided else None,
                "gold_answers": gold_answers,
                "gold_correct": standing.get("gold_correct") or 0,
                "gold_accuracy": (standing.get("gold_correct") or 0) / gold_answers
                if gold_answers
                else None,
                "reliability": standing.get("reliability"),
                "reputation": standing.get("reputation"),
                "paused": bool(standing.get("paused")),
            }
        )
    board.sort(
        key=lambda row: (
            row["reputation"] is None,
            -(row["reputation"] or 0),
            -row["answers"],
            row["contributor"],
        )
    )
    return board[:limit]


def project_figures(*, project: Project) -> dict[str, Any]:
    """The figures at the top of the project page (polled while it runs): items and
    answers, escrow left and spent (yoctoNEAR), contributors and the mean score.

    Two aggregates and the escrow's balance: project_progress's counts and more, without
    its reservations count, in one pass over the answers (the page is polled, and the
    answers can be many). What the escrow still needs (project_funding: two more passes)
    only where it can stop the project: in a draft or a paused one."""
    items = Item.objects.filter(project=project).aggregate(
        total=Count("pk", filter=Q(is_gold=False)),
        resolved=Count("pk", filter=Q(status=Item.Status.RESOLVED)),
    )
    submissions = Submission.objects.filter(assignment__project=project).aggregate(
        total=Count("pk"),
        accepted=Count("pk", filter=Q(status=Submission.Status.ACCEPTED)),
        review=Count("pk", filter=Q(status=Submission.Status.REVIEW)),
        contributors=Count("assignment__contributor", distinct=True),
        mean_score=Avg("score"),
    )
    escrow = escrow_balance(reference=project.escrow_reference)
    shortfall = 0
    if project.status in (Project.Status.DRAFT, Project.Status.PAUSED):
        shortfall = project_funding(project=project).shortfall
    return {
        "items_total": items["total"],
        "items_resolved": items["resolved"],
        "answers_submitted": submissions["total"],
        "answers_accepted": submissions["accepted"],
        "answers_in_review": submissions["review"],
        "contributors": submissions["contributors"],
        "mean_score": submissions["mean_score"],
        "escrow_left": escrow,  # yoctoNEAR
        # Each accepted answer took its reward and the fee from the escrow (yoctoNEAR).
        "escrow_spent": submissions["accepted"] * project.cost_per_answer,
        "escrow_shortfall": shortfall,  # yoctoNEAR
    }


def submissions_in_review_count(*, project: Project) -> int:
    return Submission.objects.filter(
        assignment__project=project, status=Submission.Status.REVIEW
    ).count()

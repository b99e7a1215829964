"""Deciding: an item's final label, each answer's score and decision, and the money.

Money moves once, when a submission's decision is final (accepted: its reward is
credited from the escrow; rejected: nothing moves). A score in the review band waits
for the requester. Later evidence (refits) changes labels and reputations, never a
decision already taken.
"""

import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import numpy as np
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from config.enqueue import enqueue_on_commit
from config.errors import ConflictError
from config.users import User
from labeling.locks import item_lock, project_lock, submissions_lock
from labeling.models import (
    Assignment,
    AssignmentEvent,
    ContributorQuality,
    Item,
    Project,
    Submission,
)
from labeling.quality import behaviour as behaviour_signals
from labeling.quality.scoring import decision, item_scores
from labeling.services.quality.state import QualityState, quality_state
from labeling.task_types import task_type_get
from payouts.services.earnings import earning_credit_line, escrow_release

log = logging.getLogger(__name__)

_EVENT_OF: dict[str, str] = {
    Submission.Status.ACCEPTED: AssignmentEvent.Kind.ACCEPTED,
    Submission.Status.REJECTED: AssignmentEvent.Kind.REJECTED,
    Submission.Status.REVIEW: AssignmentEvent.Kind.REVIEW,
}


def item_posterior_now(*, item: Item, project: Project) -> tuple[np.ndarray | None, int]:
    """The item's posterior over labels from its submitted answers and the last fit, and
    how many answers it has; (None, n) for a task that is not categorical."""
    answers = list(
        Submission.objects.filter(
            assignment__item_id=item.pk, assignment__status=Assignment.Status.SUBMITTED
        ).values_list("assignment__contributor_id", "answer")
    )
    state = quality_state(project=project)
    if state.categories is None:
        return None, len(answers)
    labels, confusions = _answer_arrays(state, answers)
    prior, _ = state.item_prior(item.pk)
    return item_scores(labels, confusions, prior).posterior, len(answers)


def item_overlap_done(*, item: Item, project: Project, answers: int) -> bool:
    """Dynamic overlap: does the item need no more answers? At the maximum it never
    does; below the minimum it always does; between them, once the leading label's
    posterior reaches the project's target confidence."""
    if answers >= project.answers_per_item:
        return True
    if answers < project.min_answers_per_item:
        return False
    posterior, _ = item_posterior_now(item=item, project=project)
    return posterior is not None and float(posterior.max()) >= project.target_confidence


def _answer_arrays(
    state: QualityState, answers: Sequence[tuple[int, Any]]
) -> tuple[np.ndarray, np.ndarray]:
    task_type = task_type_get(state.project.task_type)
    config = state.project.label_config
    labels = np.array([task_type.answer_category(config, a) for _, a in answers], dtype=np.int64)
    matrices = state.confusions(cid for cid, _ in answers)
    k = state.n_classes
    confusions = np.stack([matrices[cid] for cid, _ in answers]) if answers else np.zeros((0, k, k))
    return labels, confusions


def _parts_model(state: QualityState, model_part: float | None) -> dict[str, Any]:
    quality = state.quality
    part: dict[str, Any] = {
        "used": model_part is not None,
        "status": quality.model_status or gettext("no model prior fitted yet"),
    }
    if quality.model_sha256:
        part.update(
            name=quality.model_name, version=quality.model_version, sha256=quality.model_sha256
        )
    return part


def _contributor_rows(project: Project, ids: Sequence[int]) -> dict[int, ContributorQuality]:
    return {
        row.contributor_id: row
        for row in ContributorQuality.objects.filter(project=project, contributor_id__in=ids)
    }


def _gold_part(row: ContributorQuality | None) -> dict[str, Any] | None:
    if row is None or not row.gold_answers:
        return None
    return {
        "answers": row.gold_answers,
        "correct": row.gold_correct,
        "accuracy": round((row.gold_correct + 1) / (row.gold_answers + 2), 4),
    }


def _behaviour_part(
    row: ContributorQuality | None, time_ms: int | None, median_ms: float | None
) -> dict[str, Any]:
    flags = list((row.behaviour or {}).get("flags", [])) if row else []
    flags += behaviour_signals.answer_flags(time_ms=time_ms, project_median_ms=median_ms)
    return {"flags": flags, "factor": round(behaviour_signals.factor_of(flags), 4)}


def submissions_score(
    *, state: QualityState, item: Item, submissions: Sequence[Submission]
) -> tuple[Any, float, list[tuple[float, dict[str, Any]]]]:
    """The item's final answer and confidence, and each submission's (score, parts)."""
    project = state.project
    median = state.quality.fit_stats.get("median_time_ms")
    ids = [s.assignment.contributor_id for s in submissions]
    rows = _contributor_rows(project, ids)
    if state.categories is None:
        verdict = task_type_get(project.task_type).aggregate(
            project.label_config, [s.answer for s in submissions]
        )
        scored = []
        for submission, agrees in zip(submissions, verdict.agrees, strict=True):
            behaviour = _behaviour_part(
                rows.get(submission.assignment.contributor_id), submission.time_on_task_ms, median
            )
            base = verdict.confidence if agrees else 1 - verdict.confidence
            parts = {"method": "majority", "agreement": round(base, 4), "behaviour": behaviour}
            scored.append((round(base * behaviour["factor"], 6), parts))
        return verdict.answer, verdict.confidence, scored
    labels, confusions = _answer_arrays(
        state, [(i, s.answer) for i, s in zip(ids, submissions, strict=True)]
    )
    prior, model_part = state.item_prior(item.pk)
    result = item_scores(labels, confusions, prior)
    scored = []
    for j, submission in enumerate(submissions):
        row = rows.get(ids[j])
        behaviour = _behaviour_part(row, submission.time_on_task_ms, median)
        own = int(labels[j])
        parts = {
            "method": "dawid-skene" if row is not None and not row.one_coin else "one-coin",
            "agreement": round(float(result.agreement[j]), 6),
            "reliability": round(float(np.trace(confusions[j]) / state.n_classes), 6),
            "correct": round(float(result.correct[j]), 6),
            "prior": round(float(prior[own]), 6),
            "model": _parts_model(state, model_part),
            "gold": _gold_part(row),
            "behaviour": behaviour,
            "fit_version": state.quality.fit_version,
        }
        scored.append((round(float(result.correct[j]) * behaviour["factor"], 6), parts))
    task_type = task_type_get(project.task_type)
    top = int(result.posterior.argmax())
    return (
        task_type.category_answer(project.label_config, top),
        float(result.posterior[top]),
        scored,
    )


def _decide(
    *,
    submission: Submission,
    project: Project,
    status: str,
    now: Any,
    reason: str = "",
    by: User | None = None,
) -> None:
    """Record a decision and, for an acceptance, credit the reward: the one place money
    moves for an answer. An accepted answer keeps the link to its earning's ledger
    line, written in the same transaction as the credit."""
    submission.status = status
    submission.decided_at = now if status != Submission.Status.REVIEW else None
    submission.decision_reason = reason
    submission.decided_by = by
    fields = ["status", "decided_at", "decision_reason", "decided_by"]
    if status == Submission.Status.ACCEPTED:
        submission.earning_line_id, _ = earning_credit_line(
            reference=f"submission:{submission.public_id}",
            user_id=submission.assignment.contributor_id,
            escrow_reference=project.escrow_reference,
            reward=project.reward_per_answer,
            fee=project.fee_per_answer,
        )
        fields.append("earning_line")
    submission.save(update_fields=fields)
    AssignmentEvent.objects.create(assignment=submission.assignment, kind=_EVENT_OF[status])


def item_resolve(*, item_id: int) -> Item:
    """Score and decide a complete item's pending answers, pay the accepted, set its label.

    One transaction: the label, every score and decision and every credit land together
    or not at all. An answer that arrives after the item was decided (its contributor
    reserved it while the item still needed answers) is scored against the others and
    decided the same way, leaving the label alone. A repeat call does nothing. Escrow
    not spent (rejected answers, slots dynamic overlap did not need) goes back to the
    requester when the project completes.
    """
    from labeling.services.quality.refit import project_refit_if_due

    with transaction.atomic(durable=True):
        item = item_lock(item_id=item_id, with_project=True)
        if item.status == Item.Status.OPEN or item.is_gold:
            return item
        project = item.project
        submissions = submissions_lock(
            assignment__item=item, assignment__status=Assignment.Status.SUBMITTED
        )
        pending = [s for s in submissions if s.status == Submission.Status.PENDING]
        if not pending:
            return item
        state = quality_state(project=project)
        answer, confidence, scored = submissions_score(
            state=state, item=item, submissions=submissions
        )
        now = timezone.now()
        for submission, (score, parts) in zip(submissions, scored, strict=True):
            if submission.status != Submission.Status.PENDING:
                continue
            submission.score, submission.score_parts, submission.scored_at = score, parts, now
            submission.save(update_fields=["score", "score_parts", "scored_at"])
            status = decision(
                score,
                accept_threshold=project.accept_threshold,
                reject_threshold=project.reject_threshold,
            )
            _decide(submission=submission, project=project, status=status, now=now)
        if item.status == Item.Status.COMPLETE:
            item.final_answer = answer
            item.confidence = confidence
            item.status = Item.Status.RESOLVED
            item.resolved_at = now
            item.save(update_fields=["final_answer", "confidence", "status", "resolved_at"])
    log.info(
        "item %s decided: %s (%.2f), %s answers scored",
        item.public_id,
        answer,
        confidence,
        len(pending),
    )
    project_refit_if_due(project_id=project.pk)
    project_complete_if_done(project_id=project.pk)
    return item


def gold_feedback(*, item: Item, project: Project, answer: Any) -> dict[str, Any] | None:
    """What a contributor may learn after answering a gold item: whether they were right
    and the right answer, where the project shows it; else None."""
    if not item.is_gold or not project.show_gold_feedback or item.gold_flag:
        return None
    return {"correct": answer == item.gold_answer, "answer": item.gold_answer}


def gold_submission_decide(*, submission_id: int) -> Submission:
    """Score and decide an answer to a gold item: right or wrong against the gold answer,
    times the behaviour factor. A flagged gold item (its answer is in doubt) decides
    nothing by itself: its answers go to review. Idempotent."""
    with transaction.atomic(durable=True):
        submission = Submission.objects.select_related("assignment").get(pk=submission_id)
        item = item_lock(item_id=submission.assignment.item_id, with_project=True)
        submission = submissions_lock(pk=submission_id)[0]
        if submission.status != Submission.Status.PENDING or not item.is_gold:
            return submission
        project = item.project
        state = quality_state(project=project)
        contributor_id = submission.assignment.contributor_id
        row = _contributor_rows(project, [contributor_id]).get(contributor_id)
        behaviour = _behaviour_part(
            row, submission.time_on_task_ms, state.quality.fit_stats.get("median_time_ms")
        )
        right = submission.answer == item.gold_answer
        score = (1.0 if right else 0.0) * behaviour["factor"]
        now = timezone.now()
        submission.score = round(score, 6)
        submission.score_parts = {
            "method": "gold",
            "gold_match": right,
            "gold_flag": item.gold_flag or None,
            "gold": _gold_part(row),
            "behaviour": behaviour,
            "fit_version": state.quality.fit_version,
        }
        submission.scored_at = now
        submission.save(update_fields=["score", "score_parts", "scored_at"])
        status = (
            Submission.Status.REVIEW
            if item.gold_flag
            else decision(
                score,
                accept_threshold=project.accept_threshold,
                reject_threshold=project.reject_threshold,
            )
        )
        _decide(submission=submission, project=project, status=status, now=now)
    project_complete_if_done(project_id=project.pk)
    return submission


class ReviewStateError(ConflictError):
    code = "submission_not_in_review"


def submission_review_decide(
    *, project: Project, submission_public_id: Any, accept: bool, reason: str, by: User
) -> Submission:
    """The requester's decision on an answer in review: accept (paid now) or reject
    (with a reason the contributor sees). 409 submission_not_in_review otherwise; a
    repeat of the same decision returns the submission unchanged."""
    from labeling.selectors import submission_get_in_project

    found = submission_get_in_project(project=project, public_id=submission_public_id)
    wanted = Submission.Status.ACCEPTED if accept else Submission.Status.REJECTED
    with transaction.atomic(durable=True):
        item_lock(item_id=found.assignment.item_id)
        submission = submissions_lock(pk=found.pk)[0]
        if submission.status == wanted and submission.decided_by_id == by.pk:
            return submission
        if submission.status != Submission.Status.REVIEW:
            raise ReviewStateError(
                gettext("This answer is not waiting for review (it is %(status)s).")
                % {"status": submission.status}
            )
        _decide(
            submission=submission,
            project=project,
            status=wanted,
            now=timezone.now(),
            reason=reason,
            by=by,
        )
    log.info("submission %s %s in review by %s", submission.public_id, wanted, by.pk)
    project_complete_if_done(project_id=project.pk)
    return submission


def project_complete_if_done(*, project_id: int) -> bool:
    """Complete an active or paused project once every item is decided, no answer is
    pending or in review and nobody holds a live reservation of an ordinary item.

    Its remaining (gold) reservations end, it leaves the open list, the final refit
    fixes labels and final scores, and the unspent escrow returns to the requester's
    balance. True if it completed now."""
    from labeling.tasks import project_refit_task

    open_statuses = [Project.Status.ACTIVE, Project.Status.PAUSED]
    status = Project.objects.filter(pk=project_id).values_list("status", flat=True).first()
    if status not in open_statuses or not _project_done(project_id, status=status):
        return False  # the cheap look first: this runs after every decision
    with transaction.atomic(durable=True):
        project = project_lock(project_id=project_id)
        if project.status not in open_statuses:
            return False
        # Every reservation locked before the final look (project, then assignments: the
        # lock order), so no answer can slip in between the look and the release: a
        # submit that got its assignment first is committed and seen as pending below;
        # one that waits finds its reservation expired.
        live = list(
            Assignment.objects.filter(project=project, status=Assignment.Status.RESERVED)
            .select_for_update(no_key=True, of=("self",))
            .order_by("pk")
        )
        now = timezone.now()
        if not _project_done(project_id, status=project.status, now=now):
            return False
        project.status = Project.Status.COMPLETED
        project.completed_at = now
        project.save(update_fields=["status", "completed_at"])
        for assignment in live:
            assignment.status = Assignment.Status.EXPIRED
            assignment.finished_at = now
            assignment.save(update_fields=["status", "finished_at"])
            AssignmentEvent.objects.create(assignment=assignment, kind=AssignmentEvent.Kind.EXPIRED)
        released = escrow_release(
            escrow_reference=project.escrow_reference, user_id=project.owner_id
        )
        # The final refit (labels, final scores) runs on the quality queue, not here.
        enqueue_on_commit(project_refit_task, project_id, True)
    log.info("project %s completed; %s yoctoNEAR of escrow released", project.public_id, released)
    return True


def _project_done(project_id: int, *, status: str, now: Any = None) -> bool:
    items_left = Item.objects.filter(
        project_id=project_id, is_gold=False, status__in=[Item.Status.OPEN, Item.Status.COMPLETE]
    ).exists()
    if items_left:
        return False
    if not Item.objects.filter(project_id=project_id, is_gold=False).exists():
        # Nothing but gold: done only once the requester closed it (paused).
        return status == Project.Status.PAUSED
    undecided = Submission.objects.filter(
        assignment__project_id=project_id,
        status__in=[Submission.Status.PENDING, Submission.Status.REVIEW],
    ).exists()
    # Someone still working on an ordinary item will be paid for a right answer: wait for
    # it (or for the reservation to expire: assignments_expire looks again).
    working = Assignment.objects.filter(
        project_id=project_id,
        item__is_gold=False,
        status=Assignment.Status.RESERVED,
        expires_at__gt=now or timezone.now(),
    ).exists()
    return not undecided and not working


def items_resolve_stale(*, older_than_seconds: int = 60) -> int:
    """Resolve every item left `complete` for a while (its task was lost), and decide
    gold answers whose task was lost. Returns how many."""
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    ids = list(
        Item.objects.filter(status=Item.Status.COMPLETE, assignments__finished_at__lte=cutoff)
        .distinct()
        .values_list("pk", flat=True)[:1000]
    )
    # Answers that came after their item was decided, whose task was lost.
    ids += list(
        Submission.objects.filter(
            status=Submission.Status.PENDING,
            assignment__item__is_gold=False,
            assignment__item__status=Item.Status.RESOLVED,
            created_at__lte=cutoff,
        )
        .values_list("assignment__item_id", flat=True)
        .distinct()[:1000]
    )
    for item_id in ids:
        item_resolve(item_id=item_id)
    gold = list(
        Submission.objects.filter(
            status=Submission.Status.PENDING,
            assignment__item__is_gold=True,
            created_at__lte=cutoff,
        ).values_list("pk", flat=True)[:1000]
    )
    for submission_id in gold:
        gold_submission_decide(submission_id=submission_id)
    return len(ids) + len(gold) + completed_escrows_release()


def completed_escrows_release(*, within_seconds: int = 86400) -> int:
    """Return to their owners what deposits credited after completion brought to the
    escrows of completed projects (a deposit still pending when the project completed
    becomes final later). Looks at the escrows with a deposit in the last day. Returns
    how many escrows it released."""
    from payouts.selectors import escrows_with_recent_deposits

    references = escrows_with_recent_deposits(within_seconds=within_seconds)
    public_ids = [ref.removeprefix("project:") for ref in references if ref.startswith("project:")]
    released = 0
    for project in Project.objects.filter(
        public_id__in=public_ids, status=Project.Status.COMPLETED
    ):
        with transaction.atomic(durable=True):
            locked = project_lock(project_id=project.pk)
            released += bool(
                escrow_release(escrow_reference=locked.escrow_reference, user_id=locked.owner_id)
            )
    return released

"""Judging submissions: the one place that decides accept/reject and the final label.

Today the rule is the task type's majority vote; the quality engine (model scores,
gold items, Dawid-Skene reliabilities) will replace `submissions_judge` alone.
"""

import logging
from collections.abc import Sequence
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from labeling.locks import item_lock, submissions_lock
from labeling.models import Assignment, AssignmentEvent, Item, Submission
from labeling.task_types import Verdict, task_type_get
from payouts.services.earnings import earning_credit

log = logging.getLogger(__name__)


def submissions_judge(*, item: Item, submissions: Sequence[Submission]) -> Verdict:
    """The final answer of the item and, per submission, whether it is accepted."""
    project = item.project
    task_type = task_type_get(project.task_type)
    return task_type.aggregate(project.label_config, [s.answer for s in submissions])


def item_resolve(*, item_id: int) -> Item:
    """Aggregate a complete item, accept or reject its submissions, pay the accepted.

    One transaction: the final answer, every decision and every credit land together
    or not at all. A repeat call on a resolved item does nothing. The escrow not
    spent on rejected answers stays with the requester.
    """
    with transaction.atomic(durable=True):
        item = item_lock(item_id=item_id, with_project=True)
        if item.status != Item.Status.COMPLETE:
            return item
        project = item.project
        submissions = submissions_lock(
            assignment__item=item, assignment__status=Assignment.Status.SUBMITTED
        )
        verdict = submissions_judge(item=item, submissions=submissions)
        now = timezone.now()
        for submission, agrees in zip(submissions, verdict.agrees, strict=True):
            submission.status = Submission.Status.ACCEPTED if agrees else Submission.Status.REJECTED
            submission.decided_at = now
            submission.save(update_fields=["status", "decided_at"])
            AssignmentEvent.objects.create(
                assignment=submission.assignment,
                kind=AssignmentEvent.Kind.ACCEPTED if agrees else AssignmentEvent.Kind.REJECTED,
            )
            if agrees:
                earning_credit(
                    reference=f"submission:{submission.public_id}",
                    user_id=submission.assignment.contributor_id,
                    escrow_reference=project.escrow_reference,
                    reward=project.reward_per_answer,
                    fee=project.fee_per_answer,
                )
        item.final_answer = verdict.answer
        item.confidence = verdict.confidence
        item.status = Item.Status.RESOLVED
        item.resolved_at = now
        item.save(update_fields=["final_answer", "confidence", "status", "resolved_at"])
    log.info(
        "item %s resolved: %s (%.2f), %s accepted of %s",
        item.public_id,
        verdict.answer,
        verdict.confidence,
        sum(verdict.agrees),
        len(submissions),
    )
    return item


def items_resolve_stale(*, older_than_seconds: int = 60) -> int:
    """Resolve every item left `complete` for a while (its task was lost). Returns count."""
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    ids = list(
        Item.objects.filter(status=Item.Status.COMPLETE, assignments__finished_at__lte=cutoff)
        .distinct()
        .values_list("pk", flat=True)[:1000]
    )
    for item_id in ids:
        item_resolve(item_id=item_id)
    return len(ids)

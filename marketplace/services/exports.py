"""Streaming exports: constant memory whatever the project's size."""

import json
from collections.abc import Iterator

from django.db.models import Prefetch

from labeling.models import Assignment, Item, Project

CHUNK = 500


def project_export_jsonl(*, project: Project) -> Iterator[bytes]:
    """One JSON line per item: data, final answer, confidence, and every answer with its
    contributor's NEAR account, time and status. Reads the items in chunks."""
    assignments = Assignment.objects.filter(status=Assignment.Status.SUBMITTED).select_related(
        "submission", "contributor__near_account"
    )
    last_pk = 0
    while True:
        chunk = list(
            Item.objects.filter(project=project, pk__gt=last_pk)
            .order_by("pk")
            .prefetch_related(
                Prefetch("assignments", queryset=assignments),
            )[:CHUNK]
        )
        if not chunk:
            return
        for item in chunk:
            yield (json.dumps(_item_record(item), ensure_ascii=False) + "\n").encode()
        last_pk = chunk[-1].pk


def _item_record(item: Item) -> dict:
    answers = []
    for assignment in sorted(item.assignments.all(), key=lambda a: a.pk):
        submission = getattr(assignment, "submission", None)
        if submission is None:
            continue
        near = getattr(assignment.contributor, "near_account", None)
        answers.append(
            {
                "answer": submission.answer,
                "contributor_near_account": near.account_id if near else None,
                "submitted_at": submission.created_at.isoformat(),
                "time_on_task_ms": submission.time_on_task_ms,
                "status": submission.status,
            }
        )
    return {
        "id": str(item.public_id),
        "external_id": item.external_id or None,
        "data": item.data,
        "status": item.status,
        "final_answer": item.final_answer,
        "confidence": item.confidence,
        "answers": answers,
    }

"""Exports: constant memory whatever the project's size, and never answered half-done.

The records are generated in chunks of CHUNK items and written to a temporary file; the
answer starts only once the file is complete, with its Content-Length. Streaming the
records straight into the response would answer 200 before the last item was read, so a
failure half-way (a lost database connection, a record that cannot be encoded) would
leave the client with a truncated file that looks like a complete one.
"""

import json
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from django.db.models import Prefetch

from labeling.models import Assignment, Item, Project

CHUNK = 500


@dataclass(frozen=True)
class ExportFile:
    file: BinaryIO  # positioned at its start; whoever answers with it closes it
    size: int  # bytes


def project_export_file(*, project: Project) -> ExportFile:
    """The project's JSONL export, complete, in a temporary file (deleted when closed).

    Any error while writing it propagates, and the file is gone: there is nothing
    partial to answer with. Disk use is the export's size, in the system's temporary
    directory (TMPDIR).
    """
    spool = tempfile.TemporaryFile(prefix="nearlabel-export-")  # noqa: SIM115  (returned open)
    try:
        for record in project_export_jsonl(project=project):
            spool.write(record)
        size = spool.tell()
        spool.seek(0)
    except BaseException:
        spool.close()
        raise
    return ExportFile(file=spool, size=size)


def project_export_jsonl(*, project: Project) -> Iterator[bytes]:
    """One JSON line per item: data, final answer and its confidence (the posterior of
    the last fit), gold status, and every answer with its contributor's NEAR account,
    time, score and the parts of the score, and the decision. Reads in chunks."""
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
                "decision": submission.status,
                "decision_reason": submission.decision_reason or None,
                "decided_at": submission.decided_at.isoformat() if submission.decided_at else None,
                "score": submission.score,
                "score_parts": submission.score_parts,
            }
        )
    return {
        "id": str(item.public_id),
        "external_id": item.external_id or None,
        "data": item.data,
        "status": item.status,
        "gold": item.is_gold,
        "gold_answer": item.gold_answer if item.is_gold else None,
        "gold_flag": item.gold_flag or None,
        "final_answer": item.final_answer,
        "confidence": item.confidence,
        "answers": answers,
    }

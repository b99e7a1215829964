"""Background exports: a job per (project, format) request, run by a Celery task into
the content-addressed store (marketplace.storage), with progress per chunk.

States: queued -> running -> done | failed. A job is run once: a done or failed job
is left alone, and a running one too unless it has been running longer than
EXPORT_JOB_STALE_SECONDS, past the task's hard time limit, so that no worker can still
be running it (its worker crashed): then it starts again. `export_jobs_sweep` sends
the jobs whose task was lost (queued for a minute) or whose worker died.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from config.enqueue import enqueue_on_commit
from config.errors import ApplicationError
from config.users import User
from labeling.models import Item, Project
from marketplace.errors import (
    ExportEmptyError,
    ExportForbiddenError,
    ExportJobsLimitError,
)
from marketplace.models import ExportJob
from marketplace.services.exports import ExportStats, export_format_check, export_write
from marketplace.services.manifests import ManifestFile, manifest_build, manifest_document
from marketplace.storage import store_writer

log = logging.getLogger(__name__)

EXPORT_TASK_TIME_LIMIT = 3600  # seconds: export_job_run_task's hard limit (marketplace.tasks)
EXPORT_JOB_STALE_SECONDS = EXPORT_TASK_TIME_LIMIT + 300
EXPORT_QUEUED_LOST_SECONDS = 60
MAX_ACTIVE_JOBS_PER_USER = 5
_ACTIVE = (ExportJob.Status.QUEUED, ExportJob.Status.RUNNING)


def export_job_start(*, project: Project, user: User, format: str) -> ExportJob:
    """Queue an export of the project (its owner only) in `format`. An export of the
    same project and format already queued or running is returned instead of a second.
    Refused: another user's project (export_forbidden), a project without items
    (export_empty), more than MAX_ACTIVE_JOBS_PER_USER at once (export_jobs_limit)."""
    from marketplace.tasks import export_job_run_task

    export_format_check(format)
    if project.owner_id != user.pk:
        raise ExportForbiddenError(gettext("Only the project's owner can export it."))
    if not Item.objects.filter(project=project).exists():
        raise ExportEmptyError(gettext("This project has no items to export yet."))
    with transaction.atomic():
        # The project row serialises starts: two clicks make one job.
        Project.objects.select_for_update().filter(pk=project.pk).first()
        running = (
            ExportJob.objects.filter(project=project, format=format, status__in=_ACTIVE)
            .order_by("-pk")
            .first()
        )
        if running is not None:
            return running
        if (
            ExportJob.objects.filter(requested_by=user, status__in=_ACTIVE).count()
            >= MAX_ACTIVE_JOBS_PER_USER
        ):
            raise ExportJobsLimitError(
                gettext("You have %(n)s exports under way; wait for one to finish.")
                % {"n": MAX_ACTIVE_JOBS_PER_USER}
            )
        job = ExportJob.objects.create(project=project, requested_by=user, format=format)
        enqueue_on_commit(export_job_run_task, job.pk)
    log.info("export %s of project %s queued (%s)", job.public_id, project.pk, format)
    return job


def _claim(job_id: int) -> ExportJob | None:
    """Mark the job running, or None if it is not this run's to do."""
    now = timezone.now()
    with transaction.atomic():
        job = ExportJob.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.status in (ExportJob.Status.DONE, ExportJob.Status.FAILED):
            return None
        if (
            job.status == ExportJob.Status.RUNNING
            and job.started_at is not None
            and job.started_at > now - timedelta(seconds=EXPORT_JOB_STALE_SECONDS)
        ):
            return None  # another worker is on it
        job.status = ExportJob.Status.RUNNING
        job.started_at = now
        job.items_done = 0
        job.save(update_fields=["status", "started_at", "items_done"])
    return job


def export_job_run(job_id: int) -> ExportJob | None:
    """Run a queued export (see the module's docstring for when it does nothing).

    Writes the file through store_writer (renamed into the store only once complete),
    updating the progress once per chunk; then done with the file's name, sha256 and
    size. Any exception: failed with its code (ApplicationError) or `export_failed`,
    and no file is left behind."""
    job = _claim(job_id)
    if job is None:
        return ExportJob.objects.filter(pk=job_id).first()
    project = Project.objects.get(pk=job.project_id)

    def progress(done: int, total: int) -> None:
        ExportJob.objects.filter(pk=job.pk).update(items_done=done, items_total=total)

    try:
        with store_writer(suffix=job.format) as (out, result):
            stats = export_write(project=project, format=job.format, out=out, progress=progress)
        stored = result[0]
        # Signed once the file is complete: a key that cannot sign fails the export, which
        # is never served without its manifest.
        manifest = _job_manifest(job, project, stats)
    except Exception as exc:
        log.exception("export %s failed", job.public_id)
        if isinstance(exc, ApplicationError):
            code, message = exc.code, str(exc.message)
        else:
            code, message = "export_failed", gettext("The export failed; try again.")
        ExportJob.objects.filter(pk=job.pk).update(
            status=ExportJob.Status.FAILED,
            error_code=code[:50],
            error_message=message[:500],
            finished_at=timezone.now(),
        )
        job.refresh_from_db()
        return job
    job.status = ExportJob.Status.DONE
    job.items_done = job.items_total = stats.items
    job.file_name = stored.file_name
    job.file_sha256 = stored.sha256
    job.file_bytes = stored.size
    job.manifest = manifest
    job.finished_at = timezone.now()
    job.save(
        update_fields=[
            "status",
            "items_done",
            "items_total",
            "file_name",
            "file_sha256",
            "file_bytes",
            "manifest",
            "finished_at",
        ]
    )
    log.info("export %s done: %s items, %s bytes", job.public_id, stats.items, stats.size)
    return job


def export_download_name(job: ExportJob) -> str:
    """The name the export's file is offered under (and named in its manifest)."""
    return f"nearlabel-export-{job.public_id}.{job.format}"


def _job_manifest(job: ExportJob, project: Project, stats: ExportStats) -> str:
    """The export's signed manifest document (JSON text), stored with the job: the
    project, the scoring model, the counts, and the file pinned by sha256 and size."""
    files = [
        ManifestFile(
            format=stats.format,
            name=export_download_name(job),
            sha256=stats.sha256,
            size=stats.size,
            items=stats.items,
            answers=stats.answers,
        )
    ]
    document, _ = manifest_document(manifest_build(project=project, files=files))
    return document


def export_jobs_sweep() -> int:
    """Periodic: send again the jobs whose task was lost (queued for a minute) or whose
    worker died (running past EXPORT_JOB_STALE_SECONDS). Returns how many."""
    from marketplace.tasks import export_job_run_task

    now = timezone.now()
    lost = list(
        ExportJob.objects.filter(
            status=ExportJob.Status.QUEUED,
            created_at__lt=now - timedelta(seconds=EXPORT_QUEUED_LOST_SECONDS),
        ).values_list("pk", flat=True)[:100]
    ) + list(
        ExportJob.objects.filter(
            status=ExportJob.Status.RUNNING,
            started_at__lt=now - timedelta(seconds=EXPORT_JOB_STALE_SECONDS),
        ).values_list("pk", flat=True)[:100]
    )
    for job_id in lost:
        enqueue_on_commit(export_job_run_task, job_id)
    if lost:
        log.info("export jobs swept: %s sent again", len(lost))
    return len(lost)

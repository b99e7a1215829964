"""Celery tasks of the marketplace app (queue `default`)."""

from django.db import OperationalError

from config.celery import app
from marketplace.services.datasets import dataset_version_build, dataset_versions_build_stale


@app.task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3)
def dataset_version_build_task(version_id: int) -> str:
    return dataset_version_build(version_id=version_id).status


@app.task(acks_late=True)
def dataset_versions_build_stale_task() -> int:
    """Periodic: versions whose build task was lost."""
    return dataset_versions_build_stale()


# The task's hard limit: a big export takes minutes, beyond CELERY_TASK_TIME_LIMIT.
# marketplace.services.exports.jobs counts on it (EXPORT_TASK_TIME_LIMIT).
_EXPORT_TIME_LIMIT = 3600


@app.task(
    acks_late=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=3,
    time_limit=_EXPORT_TIME_LIMIT,
    soft_time_limit=_EXPORT_TIME_LIMIT - 60,
)
def export_job_run_task(job_id: int) -> str | None:
    """Run one background export. Safe to run twice: a done job is not redone."""
    from marketplace.services.exports.jobs import export_job_run

    job = export_job_run(job_id)
    return job.status if job else None


@app.task(acks_late=True)
def export_jobs_sweep_task() -> int:
    """Periodic: exports whose task was lost or whose worker died."""
    from marketplace.services.exports.jobs import export_jobs_sweep

    return export_jobs_sweep()


@app.task(acks_late=True)
def purchases_settle_task() -> dict[str, int]:
    """Periodic: finish dataset purchases whose deposit became final (or failed)."""
    from marketplace.services.purchases import purchases_settle

    return purchases_settle()

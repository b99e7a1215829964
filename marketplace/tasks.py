"""Thin Celery tasks of the marketplace: each calls one service."""

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


@app.task(acks_late=True)
def purchases_settle_task() -> dict[str, int]:
    """Periodic: finish dataset purchases whose deposit became final (or failed)."""
    from marketplace.services.purchases import purchases_settle

    return purchases_settle()

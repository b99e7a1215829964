"""Celery tasks of the labeling app."""

from django.db import OperationalError

from config.celery import app


@app.task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def item_resolve_task(item_id: int) -> str:
    """Aggregate one complete item and pay its accepted answers. Idempotent."""
    from labeling.services.quality import item_resolve

    return item_resolve(item_id=item_id).status


@app.task(acks_late=True)
def assignments_expire_task() -> int:
    """Periodic: mark overdue reservations expired."""
    from labeling.services.queue import assignments_expire

    return assignments_expire()


@app.task(acks_late=True)
def items_resolve_stale_task() -> int:
    """Periodic: resolve complete items whose resolve task was lost. Idempotent."""
    from labeling.services.quality import items_resolve_stale

    return items_resolve_stale()

"""Celery tasks of the labeling app."""

from django.db import OperationalError

from config.celery import app


@app.task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def item_resolve_task(item_id: int) -> str:
    """Score and decide one complete item's answers and pay the accepted. Idempotent."""
    from labeling.services.quality import item_resolve

    return item_resolve(item_id=item_id).status


@app.task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def gold_submission_decide_task(submission_id: int) -> str:
    """Score and decide one answer to a gold item. Idempotent."""
    from labeling.services.quality import gold_submission_decide

    return gold_submission_decide(submission_id=submission_id).status


@app.task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3)
def project_refit_task(project_id: int, final: bool = False) -> int | None:
    """Refit the project's quality model (queue `quality`); `final`: the completed
    project's last one, which also stores every answer's final score. Safe to run twice."""
    from labeling.services.quality import project_refit

    quality = project_refit(project_id=project_id, final=final)
    return quality.fit_version if quality else None


@app.task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3)
def items_embed_task(project_id: int) -> int:
    """Embed the project's new items with the sentence encoder (queue `quality`), then
    refit so the model prior can use them. A model that fails to load is logged, not
    retried: the engine decides on agreement and gold alone."""
    from django.conf import settings

    from labeling.quality.encoder import EncoderUnavailableError
    from labeling.services.quality import items_embed, project_refit

    if not settings.QUALITY_MODEL_ENABLED:
        return 0
    from config.enqueue import enqueue_on_commit
    from labeling.services.quality.embedding import EMBED_PER_TASK

    try:
        embedded = items_embed(project_id=project_id, limit=EMBED_PER_TASK)
    except EncoderUnavailableError:
        return 0
    if embedded >= EMBED_PER_TASK:
        # More to do: another task, so none runs past the time limit.
        enqueue_on_commit(items_embed_task, project_id)
    elif embedded:
        project_refit(project_id=project_id)
    return embedded


@app.task(acks_late=True)
def projects_refit_sweep_task() -> int:
    """Periodic: refit active projects whose answers grew since their last fit."""
    from labeling.services.quality.refit import projects_refit_sweep

    return projects_refit_sweep()


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

"""Thin Celery tasks of the marketplace: each calls one service."""

from config.celery import app


@app.task(acks_late=True)
def purchases_settle_task() -> dict[str, int]:
    """Periodic: finish dataset purchases whose deposit became final (or failed)."""
    from marketplace.services.purchases import purchases_settle

    return purchases_settle()

"""Celery tasks of the payouts app: thin wrappers that hold only the retry policy."""

from config.celery import app


@app.task(
    bind=True,
    acks_late=True,
    max_retries=8,
    default_retry_delay=2,
)
def payout_send_task(self, payout_id: int) -> str:
    """Sign and broadcast one payout; retry with backoff while its outcome is unknown.

    Idempotent: a repeat re-reads the payout and carries on from its state. After the
    last retry, payouts_reconcile_task picks it up.
    """
    from payouts.services.payouts import PayoutOutcomeUnknownError, payout_send

    try:
        return payout_send(payout_id=payout_id).status
    except PayoutOutcomeUnknownError as exc:
        # Exponential backoff with jitter: 2, 4, 8 … seconds, capped at 5 minutes.
        delay = min(300, 2 ** (self.request.retries + 1))
        raise self.retry(exc=exc, countdown=delay * (0.5 + _jitter())) from exc


def _jitter() -> float:
    import random

    return random.random()  # noqa: S311  (retry jitter, not security)


@app.task(acks_late=True)
def payouts_reconcile_task() -> dict[str, int]:
    """Periodic: settle every open payout from the chain. Safe to overlap with itself."""
    from payouts.services.payouts import payouts_reconcile

    return payouts_reconcile()

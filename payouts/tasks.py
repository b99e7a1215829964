"""Celery tasks of the payouts app: thin wrappers that hold only the retry policy."""

from celery import Task
from django.conf import settings

from config.celery import app


@app.task(
    bind=True,
    acks_late=True,
    max_retries=settings.PAYOUT_RETRY_MAX,
    default_retry_delay=2,
)
def payout_send_task(self: Task[[int], str], payout_id: int) -> str:
    """Sign and broadcast one payout; retry with backoff while its outcome is unknown.

    Idempotent: a repeat re-reads the payout and carries on from its state. After the
    last retry, payouts_reconcile_task picks it up.
    """
    from payouts.services.payouts import PayoutOutcomeUnknownError, payout_send

    try:
        return payout_send(payout_id=payout_id).status
    except PayoutOutcomeUnknownError as exc:
        if self.request.is_eager:
            # Embedded mode: retries would run back to back inside the web request.
            # The periodic reconciliation carries on with the same transaction.
            return "unknown"
        # Exponential backoff with jitter: 2, 4, 8 … seconds, capped below the broker's
        # visibility timeout (300 s) so a waiting retry is not delivered twice.
        delay = min(200, 2 ** (self.request.retries + 1))
        raise self.retry(exc=exc, countdown=delay * (0.5 + _jitter())) from exc


def _jitter() -> float:
    import random

    return random.random()  # noqa: S311  (retry jitter, not security)


@app.task(acks_late=True)
def payouts_reconcile_task() -> dict[str, int]:
    """Periodic: settle every open payout from the chain. Safe to overlap with itself."""
    from payouts.services.payouts import payouts_reconcile

    return payouts_reconcile()


@app.task(acks_late=True)
def payout_auto_task(user_id: int) -> str | None:
    """Pay a balance out once it crosses the automatic threshold. Idempotent."""
    from payouts.services.earnings import payout_auto

    payout = payout_auto(user_id=user_id)
    return str(payout.public_id) if payout else None


@app.task(acks_late=True)
def deposits_recheck_task() -> dict[str, int]:
    """Periodic: credit pending deposits once final, fail the failed. Idempotent."""
    from payouts.services.deposits import deposits_recheck

    return deposits_recheck()


@app.task(acks_late=True)
def payouts_auto_sweep_task() -> int:
    """Periodic: automatic payouts whose task was lost (e.g. the broker was down)."""
    from payouts.services.earnings import payouts_auto_sweep

    return payouts_auto_sweep()


@app.task(acks_late=True)
def auth_challenges_purge_task() -> int:
    """Periodic: delete long-expired sign-in challenges. Idempotent."""
    from payouts.services.auth import auth_challenges_purge

    return auth_challenges_purge()

"""Crediting accepted work from a project's escrow to a contributor's earnings, and
paying balances out automatically once they cross the threshold."""

import logging
from functools import partial

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction

from config.errors import ApplicationError
from payouts.models import Journal, Payout
from payouts.money import near_to_yocto
from payouts.services.ledger import (
    account_balance,
    earnings_account,
    escrow_account,
    journal_post,
    platform_fees_account,
)

log = logging.getLogger(__name__)


def earning_credit(
    *, reference: str, user_id: int, escrow_reference: str, reward: int, fee: int
) -> bool:
    """Move reward + fee (yoctoNEAR) out of escrow: reward to the user, fee to the platform.

    Once per `reference` (e.g. a submission's id): a repeat returns False and moves
    nothing. InsufficientFundsError if the escrow cannot cover it; nothing is written.
    """
    if reward <= 0 or fee < 0:
        raise ValueError("an earning is a positive reward and a non-negative fee")
    escrow = escrow_account(reference=escrow_reference)
    earnings = earnings_account(user_id=user_id)
    fees = platform_fees_account()
    with transaction.atomic():
        _, created = journal_post(
            kind=Journal.Kind.EARNING,
            idempotency_key=f"earning:{reference}",
            lines=[(escrow, -(reward + fee)), (earnings, reward), (fees, fee)],
            memo=f"accepted {reference}",
        )
    if created and settings.AUTO_PAYOUT_NEAR:
        transaction.on_commit(partial(_enqueue_auto_payout, user_id))
    return created


def _enqueue_auto_payout(user_id: int) -> None:
    from payouts.tasks import payout_auto_task

    payout_auto_task.delay(user_id)


def payout_auto(*, user_id: int) -> Payout | None:
    """Withdraw the user's whole balance once it reaches AUTO_PAYOUT_NEAR.

    Does nothing (returns None) below the threshold, while another payout of theirs
    is still open, or when they cannot be paid (no proven NEAR account): their
    balance waits for a manual withdrawal. A repeat call after a payout does nothing.
    """
    from payouts.services.payouts import payout_request

    if not settings.AUTO_PAYOUT_NEAR:
        return None
    threshold = near_to_yocto(settings.AUTO_PAYOUT_NEAR)
    balance = account_balance(account=earnings_account(user_id=user_id))
    if balance < threshold:
        return None
    if Payout.objects.filter(user_id=user_id, status__in=Payout.OPEN_STATUSES).exists():
        return None
    user = get_user_model().objects.get(pk=user_id)
    try:
        return payout_request(user=user, amount=balance)
    except ApplicationError as exc:  # unproven account, or a concurrent withdrawal won
        log.info("no automatic payout for user %s: %s", user_id, exc.code)
        return None

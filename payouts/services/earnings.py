"""Crediting accepted work from a project's escrow to a contributor's earnings."""

from django.db import transaction

from payouts.models import Journal
from payouts.services.ledger import (
    earnings_account,
    escrow_account,
    journal_post,
    platform_fees_account,
)


def earning_credit(
    *, reference: str, user_id: int, escrow_reference: str, reward: int, fee: int
) -> bool:
    """Move reward + fee (yoctoNEAR) out of escrow: reward to the user, fee to the platform.

    Once per `reference` (e.g. a submission's id): a repeat returns False and moves
    nothing. InsufficientFundsError if the escrow cannot cover it; nothing is written.
    """
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
    return created

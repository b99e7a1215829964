"""Requesting a payout: debit the earnings and create the payout in one transaction."""

import logging

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from config.enqueue import enqueue_on_commit
from payouts.errors import (
    NearAccountMissingError,
    NearAccountUnverifiedError,
    PayoutTooSmallError,
)
from payouts.models import Journal, NearAccount, Payout
from payouts.money import near_to_yocto, yocto_to_near
from payouts.services.ledger import earnings_account, in_flight_account, journal_post
from payouts.services.payouts.base import payout_event_record
from payouts.tasks import payout_send_task

log = logging.getLogger(__name__)


def payout_request(*, user: AbstractBaseUser, amount: int) -> Payout:
    """Withdraw `amount` yoctoNEAR of the user's earnings to their linked NEAR account.

    Debits the earnings balance and creates the payout in one transaction; the send
    task runs after commit. Refuses a missing NEAR account (near_account_missing), one
    never proven by a signature (near_account_unverified), an amount under the minimum
    (payout_below_minimum) or over the balance (insufficient_funds), writing nothing.
    Each call is a new payout.
    """
    near = NearAccount.objects.filter(user=user).first()
    if near is None:
        raise NearAccountMissingError("Link a NEAR account to be paid to.")
    if near.verified_at is None:
        raise NearAccountUnverifiedError(
            f"Prove you control {near.account_id} (sign in with it) before withdrawing."
        )
    minimum = near_to_yocto(settings.MIN_PAYOUT_NEAR)
    if amount < max(minimum, 1):
        raise PayoutTooSmallError(
            f"The smallest payout is {settings.MIN_PAYOUT_NEAR} NEAR.",
            extra={"minimum": settings.MIN_PAYOUT_NEAR},
        )
    earnings = earnings_account(user_id=user.pk)
    in_flight = in_flight_account()
    with transaction.atomic(durable=True):
        payout = Payout.objects.create(user=user, receiver_id=near.account_id, amount=amount)
        journal_post(
            kind=Journal.Kind.PAYOUT,
            idempotency_key=f"payout:{payout.public_id}",
            lines=[(earnings, -amount), (in_flight, amount)],
            memo=f"payout to {near.account_id}",
        )
        payout_event_record(
            payout, from_status="", detail=f"{yocto_to_near(amount)} NEAR requested"
        )
        enqueue_on_commit(payout_send_task, payout.pk)
    log.info("payout %s of %s yocto requested by user %s", payout.public_id, amount, user.pk)
    return payout

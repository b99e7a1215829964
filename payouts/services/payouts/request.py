"""Requesting a payout: debit the earnings and create the payout in one transaction."""

import logging

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils.translation import gettext

from config.enqueue import enqueue_on_commit
from config.idempotency import idempotent_replay, request_fingerprint
from config.users import User
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


def payout_request(*, user: User, amount: int) -> Payout:
    """Withdraw `amount` yoctoNEAR of the user's earnings to their linked NEAR account.

    Debits the earnings balance and creates the payout in one transaction; the send
    task runs after commit. Refuses a missing NEAR account (near_account_missing), one
    never proven by a signature (near_account_unverified), an amount under the minimum
    (payout_below_minimum) or over the balance (insufficient_funds), writing nothing.
    Each call is a new payout.
    """
    payout, _ = payout_request_once(user=user, amount=amount, idempotency_key=None)
    return payout


def payout_request_once(
    *, user: User, amount: int, idempotency_key: str | None
) -> tuple[Payout, bool]:
    """`payout_request`, once per idempotency key of the user: (payout, created).

    With a key the user already used for a payout of the same amount, returns that
    payout as it is now (created False) and moves nothing, whatever happened since;
    with another amount, IdempotencyKeyReusedError (422). The key is stored on the
    payout, in the transaction that debits the balance, under a unique constraint per
    user: a concurrent duplicate waits for the first to commit, fails the constraint
    and returns the first's payout. A refusal stores no key, so a retry runs again.
    Without a key, every call is a new payout (created True).
    """
    fingerprint = request_fingerprint("payout", amount=amount) if idempotency_key else ""
    if idempotency_key is not None:
        earlier = Payout.objects.filter(user=user, idempotency_key=idempotency_key).first()
        if earlier is not None:
            return idempotent_replay(earlier, fingerprint=fingerprint), False
    near = NearAccount.objects.filter(user=user).first()
    if near is None:
        raise NearAccountMissingError(gettext("Link a NEAR account to be paid to."))
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
    try:
        with transaction.atomic(durable=True):
            # First statement: a concurrent request with the same key blocks here on
            # the unique index (PostgreSQL) or on the write lock (SQLite) until the
            # first commits, before it can debit anything.
            payout = Payout.objects.create(
                user=user,
                receiver_id=near.account_id,
                amount=amount,
                idempotency_key=idempotency_key or "",
                request_fingerprint=fingerprint,
            )
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
    except IntegrityError:
        earlier = (
            Payout.objects.filter(user=user, idempotency_key=idempotency_key).first()
            if idempotency_key is not None
            else None
        )
        if earlier is None:
            raise
        log.info(
            "payout key %r of user %s raced; the first request's payout wins",
            idempotency_key,
            user.pk,
        )
        return idempotent_replay(earlier, fingerprint=fingerprint), False
    log.info("payout %s of %s yocto requested by user %s", payout.public_id, amount, user.pk)
    return payout, True

"""Crediting accepted work from a project's escrow to a contributor's earnings, and
paying balances out automatically once they cross the threshold."""

import logging
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import F, OuterRef, Q, Subquery
from django.utils import timezone

from config.enqueue import enqueue_on_commit
from config.errors import ApplicationError
from payouts.fields import YoctoSum
from payouts.locks import ledger_accounts_lock
from payouts.models import Journal, JournalLine, LedgerAccount, Payout
from payouts.money import near_to_yocto
from payouts.services.ledger import (
    account_balance,
    earnings_account,
    escrow_account,
    journal_post,
    platform_fees_account,
)
from payouts.tasks import payout_auto_task

log = logging.getLogger(__name__)

# Journals that credit a user's balance and may take it past the automatic threshold:
# task pay, a dataset's sale price (its seller) and its royalties (its contributors).
CREDITING_KINDS = (Journal.Kind.EARNING, Journal.Kind.DATASET_SALE, Journal.Kind.ROYALTY)


def earning_credit(
    *, reference: str, user_id: int, escrow_reference: str, reward: int, fee: int
) -> bool:
    """Move reward + fee (yoctoNEAR) out of escrow: reward to the user, fee to the platform.

    Once per `reference` (e.g. a submission's id): a repeat returns False and moves
    nothing. InsufficientFundsError if the escrow cannot cover it; nothing is written.
    """
    _, created = _earning_post(
        reference=reference,
        user_id=user_id,
        escrow_reference=escrow_reference,
        reward=reward,
        fee=fee,
    )
    return created


def earning_credit_line(
    *, reference: str, user_id: int, escrow_reference: str, reward: int, fee: int
) -> tuple[int, bool]:
    """`earning_credit`, answering (id of the earning's JournalLine on the earnings
    account it credited, created). A repeat answers the line of the first credit, so a
    caller can keep a link to the ledger line of its earning (labeling's
    Submission.earning_line, from which exports find the payout that paid an answer)."""
    journal, created = _earning_post(
        reference=reference,
        user_id=user_id,
        escrow_reference=escrow_reference,
        reward=reward,
        fee=fee,
    )
    line_id = (
        JournalLine.objects.filter(journal=journal, account__kind=LedgerAccount.Kind.EARNINGS)
        .values_list("pk", flat=True)
        .get()
    )
    return line_id, created


def _earning_post(
    *, reference: str, user_id: int, escrow_reference: str, reward: int, fee: int
) -> tuple[Journal, bool]:
    if reward <= 0 or fee < 0:
        raise ValueError("an earning is a positive reward and a non-negative fee")
    escrow = escrow_account(reference=escrow_reference)
    earnings = earnings_account(user_id=user_id)
    fees = platform_fees_account()
    with transaction.atomic():
        journal, created = journal_post(
            kind=Journal.Kind.EARNING,
            idempotency_key=f"earning:{reference}",
            lines=[(escrow, -(reward + fee)), (earnings, reward), (fees, fee)],
            memo=f"accepted {reference}",
        )
    if created and settings.AUTO_PAYOUT_NEAR:
        enqueue_on_commit(payout_auto_task, user_id)
    return journal, created


def escrow_release(*, escrow_reference: str, user_id: int) -> int:
    """Return what is left in an escrow to its owner's balance (from which they withdraw
    like any balance). Returns the yoctoNEAR moved, 0 if the escrow was empty.

    Keyed by the escrow's last journal line, under its lock: a repeat moves nothing,
    and a deposit that arrives later is released by the next call.
    """
    escrow = escrow_account(reference=escrow_reference)
    balance_account = earnings_account(user_id=user_id)
    with transaction.atomic():
        ledger_accounts_lock(accounts=[escrow])
        # Credits do not lock the escrow: a deposit may add a line meanwhile. The release
        # covers the lines up to the last one read here, and is keyed by it; a later
        # line is the next release's.
        last_line = JournalLine.objects.filter(account=escrow).order_by("-pk").first()
        if last_line is None:
            return 0
        balance = (
            JournalLine.objects.filter(account=escrow, pk__lte=last_line.pk).aggregate(
                total=YoctoSum("amount")
            )["total"]
            or 0
        )
        if balance <= 0:
            return 0
        _, created = journal_post(
            kind=Journal.Kind.ESCROW_RELEASE,
            idempotency_key=f"escrow_release:{escrow_reference}:{last_line.pk}",
            lines=[(escrow, -balance), (balance_account, balance)],
            memo=f"unspent escrow of {escrow_reference}",
        )
    return balance if created else 0


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


def payouts_auto_sweep(*, older_than_seconds: int = 30, within_seconds: int = 86400) -> int:
    """Periodic: run `payout_auto` where its task may have been lost (broker down).

    Looks at every user with a proven NEAR account and an earning (task pay, a sale,
    a royalty: CREDITING_KINDS) credited between
    `within_seconds` and `older_than_seconds` ago, after their last payout was
    requested: exactly the users whose `payout_auto_task` may not have run yet. Returns
    how many payouts it requested. Safe beside the tasks and itself: `payout_auto`
    does nothing while a payout is open, and a concurrent duplicate loses on the
    balance (insufficient_funds). An earning older than the user's last payout is not
    looked at again, so a payout that failed on chain (and was refunded) is not
    retried every round: the balance waits for the next earning or a withdrawal.
    """
    if not settings.AUTO_PAYOUT_NEAR:
        return 0
    now = timezone.now()
    last_payout_at = (
        Payout.objects.filter(user_id=OuterRef("account__user_id"))
        .order_by("-created_at")
        .values("created_at")[:1]
    )
    user_ids = (
        JournalLine.objects.filter(
            journal__kind__in=CREDITING_KINDS,
            amount__gt=0,  # credited, not the buyer's side of a sale
            journal__created_at__lte=now - timedelta(seconds=older_than_seconds),
            journal__created_at__gt=now - timedelta(seconds=within_seconds),
            account__kind=LedgerAccount.Kind.EARNINGS,
            account__user__near_account__verified_at__isnull=False,
        )
        .annotate(last_payout_at=Subquery(last_payout_at))
        .filter(Q(last_payout_at__isnull=True) | Q(last_payout_at__lt=F("journal__created_at")))
        .order_by("account__user_id")
        .values_list("account__user_id", flat=True)
        .distinct()
    )
    paid = sum(payout_auto(user_id=user_id) is not None for user_id in list(user_ids))
    if paid:
        log.info("automatic payouts swept: %s requested", paid)
    return paid

"""The double-entry ledger: the only code that writes journals.

Lock order: ledger accounts are locked in ascending id order, and always after any
row of another app that the caller locked (items, assignments, payouts).
"""

import logging
from collections.abc import Sequence

from django.db import IntegrityError, transaction

from payouts.errors import InsufficientFundsError
from payouts.fields import YoctoSum
from payouts.locks import ledger_accounts_lock
from payouts.models import Journal, JournalLine, LedgerAccount

log = logging.getLogger(__name__)

WORLD_KEY = "world"
PLATFORM_FEES_KEY = "platform:fees"
IN_FLIGHT_KEY = "platform:in_flight"


def ledger_account_get_or_create(
    *, key: str, kind: LedgerAccount.Kind, user_id: int | None = None
) -> LedgerAccount:
    """The ledger account named `key`, created on first use. Safe to call concurrently."""
    account = LedgerAccount.objects.filter(key=key).first()
    if account is not None:
        return account
    try:
        with transaction.atomic():
            return LedgerAccount.objects.create(key=key, kind=kind, user_id=user_id)
    except IntegrityError:  # another connection created it between our read and write
        return LedgerAccount.objects.get(key=key)


def world_account() -> LedgerAccount:
    return ledger_account_get_or_create(key=WORLD_KEY, kind=LedgerAccount.Kind.WORLD)


def platform_fees_account() -> LedgerAccount:
    return ledger_account_get_or_create(
        key=PLATFORM_FEES_KEY, kind=LedgerAccount.Kind.PLATFORM_FEES
    )


def in_flight_account() -> LedgerAccount:
    return ledger_account_get_or_create(key=IN_FLIGHT_KEY, kind=LedgerAccount.Kind.IN_FLIGHT)


def earnings_account(*, user_id: int) -> LedgerAccount:
    return ledger_account_get_or_create(
        key=f"earnings:{user_id}", kind=LedgerAccount.Kind.EARNINGS, user_id=user_id
    )


def escrow_account(*, reference: str) -> LedgerAccount:
    return ledger_account_get_or_create(key=f"escrow:{reference}", kind=LedgerAccount.Kind.ESCROW)


def account_balance(*, account: LedgerAccount) -> int:
    """The balance in yoctoNEAR: the sum of the account's lines."""
    total = JournalLine.objects.filter(account=account).aggregate(total=YoctoSum("amount"))
    return total["total"] or 0


def journal_post(
    *,
    kind: Journal.Kind,
    idempotency_key: str,
    lines: Sequence[tuple[LedgerAccount, int]],
    memo: str = "",
) -> tuple[Journal, bool]:
    """Post one balanced journal, once per `idempotency_key`.

    Returns (journal, created). A repeat call with the same key returns the existing
    journal and moves nothing. Refuses unbalanced lines (ValueError) and any line
    that would take an account other than the world or the fee account below zero
    (InsufficientFundsError); nothing is written then. Must run inside the caller's
    transaction, which this function joins.
    """
    if sum(amount for _, amount in lines) != 0:
        raise ValueError("journal lines must sum to zero")
    if sum(1 for _, amount in lines if amount) < 2:
        raise ValueError("a journal moves money: at least two non-zero lines")
    existing = Journal.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None:
        return existing, False
    debited = [
        acc for acc, amount in lines if amount < 0 and acc.kind not in LedgerAccount.MAY_GO_NEGATIVE
    ]
    with transaction.atomic():
        if debited:
            ledger_accounts_lock(accounts=debited)
            for account in debited:
                out = -sum(amount for acc, amount in lines if acc.pk == account.pk)
                balance = account_balance(account=account)
                if out > balance:
                    raise InsufficientFundsError(
                        "Not enough funds in this balance for the movement.",
                        extra={"account": account.key, "balance": str(balance), "needed": str(out)},
                    )
        try:
            with transaction.atomic():  # a savepoint: losing the race below is not an error
                journal = Journal.objects.create(
                    kind=kind, idempotency_key=idempotency_key, memo=memo
                )
        except IntegrityError:
            # A concurrent transaction posted the same key and committed first: the
            # movement happened once, which is what the key is for.
            return Journal.objects.get(idempotency_key=idempotency_key), False
        JournalLine.objects.bulk_create(
            JournalLine(journal=journal, account=account, amount=amount)
            for account, amount in lines
            if amount != 0
        )
    log.info("journal %s %s posted", kind, idempotency_key)
    return journal, True

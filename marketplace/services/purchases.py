"""Buying a dataset version: the buyer pays price + fee, from their balance or a NEAR
deposit; the seller gets the price less the royalty, the platform the fee, and the
royalty is shared among the snapshot's contributors. All through the ledger:

- DATASET_SALE `purchase:<purchase uuid>`: buyer's balance (or the purchase's escrow
  `escrow:purchase:<uuid>`, for a deposit) -(price + fee); seller's earnings
  +(price - royalty); platform fees +fee; royalty pool `escrow:royalties:<uuid>` +royalty.
- ROYALTY `royalty:<purchase uuid>`: the pool -royalty; each contributor of the snapshot
  their share in proportion to their accepted answers (marketplace.services.royalties),
  or the seller the whole royalty when the snapshot has no contributor.

Both in the transaction that marks the purchase completed. Lock order: the purchase row,
then ledger accounts (payouts.services.ledger).
"""

import logging
import uuid

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext

from config.enqueue import enqueue_on_commit
from config.idempotency import idempotent_replay, request_fingerprint
from config.users import User
from marketplace.errors import (
    DatasetAlreadyOwnedError,
    DatasetNotForSaleError,
    DatasetOwnPurchaseError,
    PurchaseMethodInvalidError,
)
from marketplace.models import DatasetVersion, Purchase, RoyaltyShare
from marketplace.services.royalties import royalty_split
from payouts.errors import ChainUnavailableError, DepositError, InsufficientFundsError
from payouts.locks import ledger_accounts_lock
from payouts.models import Deposit, Journal, LedgerAccount
from payouts.money import yocto_to_near
from payouts.services.deposits import deposit_credit, deposit_recheck
from payouts.services.earnings import escrow_release
from payouts.services.ledger import (
    account_balance,
    earnings_account,
    escrow_account,
    journal_post,
    platform_fees_account,
)
from payouts.tasks import payout_auto_task

log = logging.getLogger(__name__)

OPEN_STATUSES = (Purchase.Status.AWAITING_PAYMENT, Purchase.Status.COMPLETED)


def purchase_create(
    *,
    user: User,
    version: DatasetVersion,
    method: str,
    tx_hash: str | None = None,
    sender_account_id: str | None = None,
    idempotency_key: str | None = None,
) -> tuple[Purchase, bool]:
    """Buy `version` for `user`: (purchase, created).

    `method` "balance": paid at once from the buyer's balance (completed), or
    insufficient_funds (409) and nothing written. `method` "deposit": the NEAR
    transfer `tx_hash` (checked on chain by payouts.services.deposits) is credited to
    the purchase's escrow; once final the sale is paid from it and any excess goes back
    to the buyer's balance; a deposit short of price + fee fails the purchase and
    returns the deposit to the balance. Not final yet: the purchase awaits payment and
    `purchases_settle` finishes it. Deposit refusals (deposit_*, chain_unavailable)
    write nothing.

    Refused: a version not ready, withdrawn or of an unlisted dataset
    (dataset_not_for_sale), the owner's own (dataset_own_purchase), one the buyer
    bought or is paying for (dataset_already_owned; the database holds one non-failed
    purchase per buyer and version, races included). With an `idempotency_key` the
    buyer already used for the same request, returns that purchase as it is now
    (created False) and moves nothing; for another request, idempotency_key_reused
    (422). The key is stored on the purchase in the transaction that pays it.
    """
    fingerprint = (
        request_fingerprint(
            "purchase",
            version=str(version.public_id),
            method=method,
            tx_hash=tx_hash.strip() if isinstance(tx_hash, str) else "",
            sender_account_id=sender_account_id or "",
        )
        if idempotency_key
        else ""
    )
    if idempotency_key:
        earlier = Purchase.objects.filter(buyer=user, idempotency_key=idempotency_key).first()
        if earlier is not None:
            return idempotent_replay(earlier, fingerprint=fingerprint), False
    if method not in Purchase.Method.values:
        raise PurchaseMethodInvalidError(
            gettext('Pay with "balance" or "deposit".'), extra={"field": "method"}
        )
    if method == Purchase.Method.BALANCE and (tx_hash or sender_account_id):
        raise PurchaseMethodInvalidError(
            gettext("A purchase from the balance takes no transaction hash."),
            extra={"field": "tx_hash"},
        )
    if method == Purchase.Method.DEPOSIT and not tx_hash:
        raise DepositError(
            gettext("Give the hash of the NEAR transfer that pays for it."),
            code="deposit_hash_invalid",
        )
    version = DatasetVersion.objects.select_related("dataset").get(pk=version.pk)
    _purchase_check(user=user, version=version)
    purchase = Purchase(
        public_id=uuid.uuid4(),
        version=version,
        buyer=user,
        method=method,
        status=Purchase.Status.AWAITING_PAYMENT,
        price=version.price,
        fee=version.fee,
        royalty=version.royalty,
        idempotency_key=idempotency_key or "",
        request_fingerprint=fingerprint,
    )
    try:
        if method == Purchase.Method.BALANCE:
            _purchase_from_balance(purchase)
        else:
            _purchase_from_deposit(
                purchase, tx_hash=tx_hash or "", sender_account_id=sender_account_id
            )
    except (IntegrityError, DepositError) as exc:
        # A concurrent request won: the same key (replay it), or another purchase of
        # the same version (already owned). A deposit whose hash a concurrent
        # request with the same key credited first lands here as deposit_already_used.
        if isinstance(exc, DepositError) and exc.code != "deposit_already_used":
            raise
        if idempotency_key:
            earlier = Purchase.objects.filter(buyer=user, idempotency_key=idempotency_key).first()
            if earlier is not None:
                log.info("purchase key %r of %s raced; the first wins", idempotency_key, user.pk)
                return idempotent_replay(earlier, fingerprint=fingerprint), False
        if isinstance(exc, IntegrityError):
            _purchase_check(user=user, version=version)
        raise
    log.info("purchase %s of version %s: %s", purchase.public_id, version.pk, purchase.status)
    return purchase, True


def _purchase_check(*, user: User, version: DatasetVersion) -> None:
    dataset = version.dataset
    if (
        version.status != DatasetVersion.Status.READY
        or not version.is_on_sale
        or not dataset.is_listed
        or version.price <= 0
    ):
        raise DatasetNotForSaleError(gettext("This dataset version is not for sale."))
    if dataset.owner_id == user.pk:
        raise DatasetOwnPurchaseError(gettext("This is your own dataset: download it instead."))
    held = (
        Purchase.objects.filter(buyer=user, version=version, status__in=OPEN_STATUSES)
        .values_list("status", flat=True)
        .first()
    )
    if held == Purchase.Status.COMPLETED:
        raise DatasetAlreadyOwnedError(gettext("You already bought this version."))
    if held is not None:
        raise DatasetAlreadyOwnedError(
            gettext("A purchase of this version is waiting for its deposit to be final.")
        )


def _purchase_from_balance(purchase: Purchase) -> None:
    buyer_balance = earnings_account(user_id=purchase.buyer_id)
    with transaction.atomic(durable=True):
        # First statement: a concurrent duplicate (same key, or same version) blocks on
        # the unique index here until this commits, then fails its constraint.
        purchase.save(force_insert=True)
        try:
            _purchase_pay(purchase, source=buyer_balance)
        except InsufficientFundsError as exc:
            raise InsufficientFundsError(
                gettext("Your balance does not cover %(total)s NEAR (price and fee).")
                % {"total": yocto_to_near(purchase.price + purchase.fee)},
                extra=exc.extra,
            ) from exc


def _purchase_from_deposit(
    purchase: Purchase, *, tx_hash: str, sender_account_id: str | None
) -> None:
    with transaction.atomic(durable=True):
        # deposit_credit asks the chain before it writes or locks anything, so no lock
        # is held across that call; its refusals raise before any write. The deposit
        # and the purchase then commit together, or neither does.
        deposit = deposit_credit(
            user=purchase.buyer,
            escrow_reference=purchase.escrow_reference,
            tx_hash=tx_hash,
            sender_account_id=sender_account_id,
        )
        purchase.deposit = deposit
        purchase.save(force_insert=True)
        if deposit.status == Deposit.Status.CREDITED:
            _purchase_settle_paid(purchase)


def _purchase_settle_paid(purchase: Purchase) -> None:
    """Pay a new or locked purchase whose deposit is credited to its escrow: complete it
    if the escrow covers price + fee, else fail it; what is left goes to the buyer."""
    escrow = escrow_account(reference=purchase.escrow_reference)
    ledger_accounts_lock(accounts=[escrow])
    total = purchase.price + purchase.fee
    if account_balance(account=escrow) >= total:
        _purchase_pay(purchase, source=escrow)
    else:
        purchase.status = Purchase.Status.FAILED
        purchase.failure_code = InsufficientFundsError.code
        purchase.failure_reason = gettext(
            "The deposit does not cover %(total)s NEAR (price and fee): it was returned "
            "to your balance."
        ) % {"total": yocto_to_near(total)}
        purchase.save(update_fields=["status", "failure_code", "failure_reason"])
    escrow_release(escrow_reference=purchase.escrow_reference, user_id=purchase.buyer_id)


def _purchase_pay(purchase: Purchase, *, source: LedgerAccount) -> None:
    """Post the sale and its royalty from `source` and complete the purchase (the
    caller's transaction). InsufficientFundsError if `source` cannot pay."""
    version = purchase.version
    dataset = version.dataset
    label = f"{dataset.title} v{version.number}"[:250]
    seller_id = dataset.owner_id
    seller = earnings_account(user_id=seller_id)
    pool = escrow_account(reference=purchase.royalty_reference)
    sale, _ = journal_post(
        kind=Journal.Kind.DATASET_SALE,
        idempotency_key=f"purchase:{purchase.public_id}",
        lines=[
            (source, -(purchase.price + purchase.fee)),
            (seller, purchase.price - purchase.royalty),
            (platform_fees_account(), purchase.fee),
            (pool, purchase.royalty),
        ],
        memo=f"sale of {label}",
    )
    credited = {seller_id} if purchase.price > purchase.royalty else set()
    if purchase.royalty:
        weights = dict(
            RoyaltyShare.objects.filter(version=version).values_list(
                "contributor_id", "accepted_answers"
            )
        )
        parts = royalty_split(amount=purchase.royalty, weights=weights) or [
            (seller_id, purchase.royalty)  # no contributor: the royalty is the seller's
        ]
        journal_post(
            kind=Journal.Kind.ROYALTY,
            # The memo names the dataset on the contributors' earnings (payouts.selectors).
            idempotency_key=f"royalty:{purchase.public_id}",
            lines=[
                (pool, -purchase.royalty),
                *((earnings_account(user_id=user_id), part) for user_id, part in parts),
            ],
            memo=label,
        )
        credited.update(user_id for user_id, _ in parts)
    purchase.journal = sale
    purchase.status = Purchase.Status.COMPLETED
    purchase.completed_at = timezone.now()
    purchase.save(update_fields=["journal", "status", "completed_at"])
    if settings.AUTO_PAYOUT_NEAR:
        for user_id in sorted(credited):
            enqueue_on_commit(payout_auto_task, user_id)


def purchase_settle(*, purchase_id: int) -> Purchase:
    """Finish a purchase awaiting its deposit, as the deposit now stands: credited,
    pay it (or fail it, short); failed on chain, fail it; pending, leave it. Safe to
    repeat and to run concurrently (the purchase row is locked and its state checked)."""
    with transaction.atomic(durable=True):
        purchase = (
            Purchase.objects.select_for_update(of=("self",))
            .select_related("version__dataset", "deposit")
            .get(pk=purchase_id)
        )
        if purchase.status != Purchase.Status.AWAITING_PAYMENT or purchase.deposit is None:
            return purchase
        if purchase.deposit.status == Deposit.Status.CREDITED:
            _purchase_settle_paid(purchase)
        elif purchase.deposit.status == Deposit.Status.FAILED:
            purchase.status = Purchase.Status.FAILED
            purchase.failure_code = "deposit_failed"
            purchase.failure_reason = purchase.deposit.failure_reason[:500]
            purchase.save(update_fields=["status", "failure_code", "failure_reason"])
    log.info("purchase %s settled: %s", purchase.public_id, purchase.status)
    return purchase


def purchases_settle() -> dict[str, int]:
    """Periodic: recheck the deposit of every purchase awaiting payment and finish
    those it decides. Returns counts by resulting state ("unreachable": the chain did
    not answer; next round)."""
    counts: dict[str, int] = {}
    awaiting = Purchase.objects.filter(status=Purchase.Status.AWAITING_PAYMENT).values_list(
        "pk", "deposit_id"
    )
    for purchase_id, deposit_id in list(awaiting):
        try:
            if deposit_id is not None:
                deposit_recheck(deposit_id=deposit_id)
            state = purchase_settle(purchase_id=purchase_id).status
        except ChainUnavailableError:
            state = "unreachable"
        counts[state] = counts.get(state, 0) + 1
    return counts

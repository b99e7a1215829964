"""Crediting requesters' NEAR deposits to escrow, after checking them on chain."""

import logging
import re

import base58
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from payouts.errors import (
    ChainUnavailableError,
    DepositError,
    NearAccountMissingError,
    NearAccountUnverifiedError,
)
from payouts.models import Deposit, Journal, NearAccount
from payouts.near.client import NearRpcError, NearTransportError, outcome_summary
from payouts.services.chain import near_client, platform_account_id
from payouts.services.ledger import escrow_account, journal_post, world_account

log = logging.getLogger(__name__)

_BASE58_RE = re.compile(r"^[1-9A-HJ-NP-Za-km-z]{32,44}$")


def tx_hash_is_valid(tx_hash: str) -> bool:
    """A NEAR transaction hash: base58 of exactly 32 bytes."""
    return bool(_BASE58_RE.match(tx_hash)) and len(base58.b58decode(tx_hash)) == 32


def deposit_credit(
    *,
    user: AbstractBaseUser,
    escrow_reference: str,
    tx_hash: str,
    sender_account_id: str | None = None,
    idempotency_key: str = "",
    request_fingerprint: str = "",
) -> Deposit:
    """Credit the NEAR sent by `tx_hash` to the escrow `escrow_reference`.

    The transaction must be successful, signed by the user's proven NEAR account and
    sent to the platform account; its Transfer deposits are summed. It is credited
    once the chain reports it FINAL: at once if it already is, else the deposit is
    stored `pending` and deposits_recheck credits (or fails) it later.
    `sender_account_id` (default: the linked account) is where to look the hash up:
    NEAR finds a transaction by hash and sender, so a transfer from another account
    is found only when that account is named, and then refused as
    deposit_wrong_sender; unnamed, it is deposit_unknown. The linked account must be
    proven by a signature (near_account_unverified otherwise). Each
    hash is credited once, ever (a unique constraint): a repeat call answers
    deposit_already_used. Each failed check has its own code; nothing is written then.
    `idempotency_key` and `request_fingerprint` are stored on the deposit (unique per
    user and key; a clash is deposit_already_used too; see config.idempotency).
    """
    tx_hash = tx_hash.strip() if isinstance(tx_hash, str) else ""
    if not tx_hash_is_valid(tx_hash):
        raise DepositError("Not a NEAR transaction hash (base58).", code="deposit_hash_invalid")
    if Deposit.objects.filter(tx_hash=tx_hash).exists():
        raise DepositError("This transaction was already credited.", code="deposit_already_used")
    near = NearAccount.objects.filter(user=user).first()
    if near is None:
        raise NearAccountMissingError("Link your NEAR account before depositing.")
    if near.verified_at is None:  # the sender check below is only as good as the link
        raise NearAccountUnverifiedError(
            f"Prove you control {near.account_id} (sign with it) before depositing."
        )

    result = _tx_lookup(tx_hash=tx_hash, sender_account_id=sender_account_id or near.account_id)
    if result is None:
        raise DepositError(
            "The chain does not know this transaction (yet).", code="deposit_unknown"
        )
    checked = _deposit_check(result, account_id=near.account_id)
    if isinstance(checked, DepositError):
        raise checked
    amount, final = checked
    escrow = escrow_account(reference=escrow_reference)
    try:
        with transaction.atomic():
            deposit = Deposit.objects.create(
                tx_hash=tx_hash,
                sender_account_id=near.account_id,
                amount=amount,
                escrow=escrow,
                created_by=user,
                checked_at=timezone.now(),
                idempotency_key=idempotency_key,
                request_fingerprint=request_fingerprint,
            )
            if final:
                _deposit_book(deposit)
    except IntegrityError as exc:  # the same hash credited by a concurrent request
        raise DepositError(
            "This transaction was already credited.", code="deposit_already_used"
        ) from exc
    log.info("deposit %s of %s yocto to %s: %s", tx_hash, amount, escrow.key, deposit.status)
    return deposit


def _tx_lookup(*, tx_hash: str, sender_account_id: str) -> dict | None:
    """The chain's record of the transaction, or None if it does not know it."""
    try:
        return near_client().tx_status(
            tx_hash=tx_hash, sender_account_id=sender_account_id, wait_until="FINAL"
        )
    except NearRpcError as exc:
        if exc.is_unknown_transaction:
            return None
        raise ChainUnavailableError(f"The NEAR RPC refused the lookup: {exc.name}") from exc
    except NearTransportError as exc:
        raise ChainUnavailableError("The NEAR RPC did not answer; try again.") from exc


def _deposit_check(result: dict, *, account_id: str) -> tuple[int, bool] | DepositError:
    """(amount in yoctoNEAR, final?) of a good deposit, or the error that refuses it."""
    transaction_ = result.get("transaction") or {}
    outcome = outcome_summary(result)
    if transaction_.get("signer_id") != account_id:
        return DepositError(
            "The transaction was not sent from your linked NEAR account.",
            code="deposit_wrong_sender",
        )
    if outcome.succeeded is False:
        return DepositError("The transaction failed on chain.", code="deposit_failed")
    if transaction_.get("receiver_id") != platform_account_id():
        return DepositError(
            f"The transaction was not sent to the platform account {platform_account_id()}.",
            code="deposit_wrong_receiver",
        )
    amount = sum(
        int(action["Transfer"]["deposit"])
        for action in transaction_.get("actions", [])
        if isinstance(action, dict) and "Transfer" in action
    )
    if amount <= 0:
        return DepositError("The transaction transfers no NEAR.", code="deposit_empty")
    final = outcome.succeeded is True and outcome.final_execution_status == "FINAL"
    return amount, final


def _deposit_book(deposit: Deposit) -> None:
    """Credit a locked, checked deposit to its escrow (the caller's transaction)."""
    journal, _ = journal_post(
        kind=Journal.Kind.DEPOSIT,
        idempotency_key=f"deposit:{deposit.tx_hash}",
        lines=[(world_account(), -deposit.amount), (deposit.escrow, deposit.amount)],
        memo=f"deposit from {deposit.sender_account_id}",
    )
    deposit.journal = journal
    deposit.status = Deposit.Status.CREDITED
    deposit.save(update_fields=["journal", "status"])


def deposit_recheck(*, deposit_id: int) -> Deposit:
    """Look at a pending deposit again: credit it once final, fail it if it failed.

    Safe to repeat and to run concurrently: the deposit row is locked and its state
    checked before anything is written; the chain is asked before the lock is taken.
    A chain that cannot be reached leaves it pending (ChainUnavailableError).
    """
    deposit = Deposit.objects.get(pk=deposit_id)
    if deposit.status != Deposit.Status.PENDING:
        return deposit
    result = _tx_lookup(tx_hash=deposit.tx_hash, sender_account_id=deposit.sender_account_id)
    with transaction.atomic(durable=True):
        deposit = Deposit.objects.select_for_update().select_related("escrow").get(pk=deposit_id)
        if deposit.status != Deposit.Status.PENDING:
            return deposit
        deposit.checked_at = timezone.now()
        checked = (
            _deposit_check(result, account_id=deposit.sender_account_id)
            if result is not None
            else None
        )
        if isinstance(checked, DepositError):
            deposit.status = Deposit.Status.FAILED
            deposit.failure_reason = checked.message
            deposit.save(update_fields=["status", "failure_reason", "checked_at"])
        elif checked is not None and checked[1]:
            deposit.save(update_fields=["checked_at"])
            _deposit_book(deposit)
        else:
            deposit.save(update_fields=["checked_at"])
    log.info("deposit %s rechecked: %s", deposit.tx_hash, deposit.status)
    return deposit


def deposits_recheck() -> dict[str, int]:
    """Periodic: recheck every pending deposit. Returns counts by resulting state."""
    counts: dict[str, int] = {}
    for deposit_id in Deposit.objects.filter(status=Deposit.Status.PENDING).values_list(
        "pk", flat=True
    ):
        try:
            state = deposit_recheck(deposit_id=deposit_id).status
        except ChainUnavailableError:
            state = "unreachable"
        counts[state] = counts.get(state, 0) + 1
    return counts

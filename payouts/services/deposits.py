"""Crediting requesters' NEAR deposits to escrow, after checking them on chain."""

import logging
import re
from typing import Any

import base58
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext

from config.users import User
from payouts.errors import (
    ChainUnavailableError,
    DepositError,
    NearAccountMissingError,
    NearAccountUnverifiedError,
)
from payouts.locks import deposit_lock
from payouts.models import Deposit, Journal, NearAccount
from payouts.near.client import NearRpcError, NearTransportError, TxStatus, outcome_summary
from payouts.near.keys import account_id_is_valid
from payouts.services.chain import near_client, platform_account_id
from payouts.services.ledger import escrow_account, journal_post, world_account

log = logging.getLogger(__name__)

_BASE58_RE = re.compile(r"^[1-9A-HJ-NP-Za-km-z]{32,44}$")


def tx_hash_is_valid(tx_hash: str) -> bool:
    """A NEAR transaction hash: base58 of exactly 32 bytes."""
    return bool(_BASE58_RE.match(tx_hash)) and len(base58.b58decode(tx_hash)) == 32


def deposit_credit(
    *,
    user: User,
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

    The chain is asked without waiting (``tx`` with wait_until NONE): a hash it has
    never seen is deposit_unknown, and so is one the node answers without an outcome
    (included but not executed yet, or a node that does not track the sender's shard):
    nothing is stored then, and the same call can simply be made again a little later.
    `sender_account_id` (default: the linked account) only routes the question to the
    sender's shard; it must be a valid NEAR account id (deposit_sender_invalid, checked
    before the chain is asked). A transaction from another account than the linked one
    is deposit_wrong_sender. The linked account must be proven by a signature
    (near_account_unverified otherwise). Each hash is credited once, ever (a unique
    constraint): a repeat call answers deposit_already_used. Each failed check has its
    own code; nothing is written then. A chain that does not answer (transport error,
    HTTP 5xx, TIMEOUT_ERROR) is chain_unavailable (503).
    `idempotency_key` and `request_fingerprint` are stored on the deposit (unique per
    user and key; a clash is deposit_already_used too; see config.idempotency).
    """
    tx_hash = tx_hash.strip() if isinstance(tx_hash, str) else ""
    if not tx_hash_is_valid(tx_hash):
        raise DepositError(
            gettext("Not a NEAR transaction hash (base58)."), code="deposit_hash_invalid"
        )
    if sender_account_id is not None and not account_id_is_valid(sender_account_id):
        raise DepositError(
            "Not a valid NEAR account id (lowercase a-z, 0-9, - _ . separators, 2-64 chars).",
            code="deposit_sender_invalid",
        )
    if Deposit.objects.filter(tx_hash=tx_hash).exists():
        raise DepositError(
            gettext("This transaction was already credited."), code="deposit_already_used"
        )
    near = NearAccount.objects.filter(user=user).first()
    if near is None:
        raise NearAccountMissingError(gettext("Link your NEAR account before depositing."))
    if near.verified_at is None:  # the sender check below is only as good as the link
        raise NearAccountUnverifiedError(
            f"Prove you control {near.account_id} (sign with it) before depositing."
        )

    found = _tx_lookup(tx_hash=tx_hash, sender_account_id=sender_account_id or near.account_id)
    if found is None:
        raise DepositError(
            gettext("The chain does not know this transaction."), code="deposit_unknown"
        )
    if found.result is None:
        raise DepositError(
            "The NEAR node has no outcome for this transaction yet; try again in a few seconds.",
            code="deposit_unknown",
        )
    checked = _deposit_check(found, account_id=near.account_id)
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


def _tx_lookup(*, tx_hash: str, sender_account_id: str) -> TxStatus | None:
    """What the chain knows of the transaction now, without waiting; None if it has never
    seen it. ChainUnavailableError if it did not answer, DepositError if it refused the
    question itself (a request-validation error is our input, not an outage)."""
    try:
        return near_client().tx_lookup(tx_hash=tx_hash, sender_account_id=sender_account_id)
    except NearRpcError as exc:
        if exc.is_request_validation:
            log.warning("deposit look-up of %s refused by the node: %s", tx_hash, exc)
            raise DepositError(
                "The NEAR node refused to look this transaction up.", code="deposit_invalid"
            ) from exc
        raise ChainUnavailableError(
            f"The NEAR RPC could not answer the lookup: {exc.cause_name or exc.name}"
        ) from exc
    except NearTransportError as exc:
        raise ChainUnavailableError(gettext("The NEAR RPC did not answer; try again.")) from exc


def _deposit_check(found: TxStatus, *, account_id: str) -> tuple[int, bool] | DepositError:
    """(amount in yoctoNEAR, final?) of a good deposit, or the error that refuses it."""
    result: dict[str, Any] = found.result or {}
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
    return amount, found.is_final and outcome.succeeded is True


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
    try:
        found = _tx_lookup(tx_hash=deposit.tx_hash, sender_account_id=deposit.sender_account_id)
    except DepositError as exc:  # the node refused the question: ask again next time
        raise ChainUnavailableError(exc.message) from exc
    with transaction.atomic(durable=True):
        deposit = deposit_lock(deposit_id=deposit_id)
        if deposit.status != Deposit.Status.PENDING:
            return deposit
        deposit.checked_at = timezone.now()
        # Unknown here or without an outcome (another node, say): leave it pending.
        checked = (
            _deposit_check(found, account_id=deposit.sender_account_id)
            if found is not None and found.result is not None
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

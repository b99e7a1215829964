"""Crediting requesters' NEAR deposits to escrow, after checking them on chain."""

import logging
import re

import base58
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction

from payouts.errors import ChainUnavailableError, DepositError, NearAccountMissingError
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
) -> Deposit:
    """Credit the NEAR sent by `tx_hash` to the escrow `escrow_reference`.

    The transaction must be final and successful, signed by the user's linked NEAR
    account and sent to the platform account; its Transfer deposits are summed.
    `sender_account_id` (default: the linked account) is where to look the hash up:
    NEAR finds a transaction by hash and sender, so a transfer from another account
    is found only when that account is named, and then refused as
    deposit_wrong_sender; unnamed, it is deposit_unknown. Each
    hash is credited once, ever (a unique constraint): a repeat call answers
    deposit_already_used. Each failed check has its own code; nothing is written then.
    """
    tx_hash = tx_hash.strip() if isinstance(tx_hash, str) else ""
    if not tx_hash_is_valid(tx_hash):
        raise DepositError("Not a NEAR transaction hash (base58).", code="deposit_hash_invalid")
    if Deposit.objects.filter(tx_hash=tx_hash).exists():
        raise DepositError("This transaction was already credited.", code="deposit_already_used")
    near = NearAccount.objects.filter(user=user).first()
    if near is None:
        raise NearAccountMissingError("Link your NEAR account before depositing.")

    try:
        result = near_client().tx_status(
            tx_hash=tx_hash,
            sender_account_id=sender_account_id or near.account_id,
            wait_until="FINAL",
        )
    except NearRpcError as exc:
        if exc.is_unknown_transaction:
            raise DepositError(
                "The chain does not know this transaction (yet).", code="deposit_unknown"
            ) from exc
        raise ChainUnavailableError(f"The NEAR RPC refused the lookup: {exc.name}") from exc
    except NearTransportError as exc:
        raise ChainUnavailableError("The NEAR RPC did not answer; try again.") from exc

    transaction_ = result.get("transaction") or {}
    outcome = outcome_summary(result)
    if transaction_.get("signer_id") != near.account_id:
        raise DepositError(
            "The transaction was not sent from your linked NEAR account.",
            code="deposit_wrong_sender",
        )
    if outcome.succeeded is None:
        raise DepositError("The transaction is not final yet.", code="deposit_pending")
    if not outcome.succeeded:
        raise DepositError("The transaction failed on chain.", code="deposit_failed")
    if transaction_.get("receiver_id") != platform_account_id():
        raise DepositError(
            f"The transaction was not sent to the platform account {platform_account_id()}.",
            code="deposit_wrong_receiver",
        )
    amount = sum(
        int(action["Transfer"]["deposit"])
        for action in transaction_.get("actions", [])
        if isinstance(action, dict) and "Transfer" in action
    )
    if amount <= 0:
        raise DepositError("The transaction transfers no NEAR.", code="deposit_empty")

    escrow = escrow_account(reference=escrow_reference)
    world = world_account()
    try:
        with transaction.atomic():
            journal, _ = journal_post(
                kind=Journal.Kind.DEPOSIT,
                idempotency_key=f"deposit:{tx_hash}",
                lines=[(world, -amount), (escrow, amount)],
                memo=f"deposit from {near.account_id}",
            )
            deposit = Deposit.objects.create(
                tx_hash=tx_hash,
                sender_account_id=near.account_id,
                amount=amount,
                escrow=escrow,
                created_by=user,
                journal=journal,
            )
    except IntegrityError as exc:  # the same hash credited by a concurrent request
        raise DepositError(
            "This transaction was already credited.", code="deposit_already_used"
        ) from exc
    log.info("deposit %s of %s yocto credited to %s", tx_hash, amount, escrow.key)
    return deposit

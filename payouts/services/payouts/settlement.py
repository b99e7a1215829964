"""Settlement: broadcast the signed bytes, learn the outcome from the chain, book it.

A payout whose outcome is unknown is resolved by asking the chain for its hash; it is
signed again (new nonce) only once its transaction provably can never land.
"""

import logging
from datetime import timedelta
from enum import StrEnum
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from config.enqueue import enqueue_on_commit
from payouts.locks import payout_lock
from payouts.models import Journal, Payout, SigningKey
from payouts.near.client import (
    NearError,
    NearRpcError,
    NearTransportError,
    Outcome,
    outcome_summary,
)
from payouts.services.chain import near_client, platform_account_id
from payouts.services.ledger import (
    earnings_account,
    in_flight_account,
    journal_post,
    platform_fees_account,
    world_account,
)
from payouts.services.payouts.base import (
    PayoutOutcomeUnknownError,
    payout_error_note,
    payout_event_record,
    payout_signed_field,
)
from payouts.services.payouts.signing import final_block_get, payout_sign, signing_key_seed
from payouts.tasks import payout_auto_task

log = logging.getLogger(__name__)


def payout_send(*, payout_id: int, resign_budget: int = 1) -> Payout:
    """Drive the payout as far as it can go now: sign if pending, broadcast if signed.

    Returns the payout in its new state. Raises PayoutOutcomeUnknownError when the
    chain could not be reached or did not say what happened; the payout is then
    `signed` or `submitted` and a later call (the task's retry or reconciliation)
    carries on with the same transaction. `resign_budget` bounds how often one call
    may sign again after proving a transaction dead.
    """
    payout = Payout.objects.get(pk=payout_id)
    if payout.status == Payout.Status.PENDING:
        payout = payout_sign(payout)
    if payout.status in (Payout.Status.SIGNED, Payout.Status.SUBMITTED):
        payout = _payout_broadcast(payout)
    if payout.status == Payout.Status.PENDING and resign_budget > 0:
        return payout_send(payout_id=payout_id, resign_budget=resign_budget - 1)
    return payout


def _payout_broadcast(payout: Payout) -> Payout:
    with transaction.atomic(durable=True):
        payout = payout_lock(payout_id=payout.pk)
        if payout.status not in (Payout.Status.SIGNED, Payout.Status.SUBMITTED):
            return payout
        previous = payout.status
        payout.attempts += 1
        if previous == Payout.Status.SIGNED:
            payout.status = Payout.Status.SUBMITTED
            payout.submitted_at = timezone.now()
            payout_event_record(payout, from_status=previous, detail="broadcast")
        payout.save(update_fields=["status", "attempts", "submitted_at"])
    signed_tx = payout_signed_field(payout, payout.signed_tx, "signed bytes")
    try:
        result = near_client().send_tx(signed_tx=bytes(signed_tx), wait_until="FINAL")
    except NearRpcError as exc:
        if exc.invalid_tx is not None:
            return _payout_after_refusal(payout, exc)
        payout_error_note(payout, f"broadcast: {exc}")
        raise PayoutOutcomeUnknownError(str(exc)) from exc
    except NearTransportError as exc:
        payout_error_note(payout, f"broadcast: {exc}")
        raise PayoutOutcomeUnknownError(str(exc)) from exc
    outcome = outcome_summary(result)
    if not _is_final(outcome):
        raise PayoutOutcomeUnknownError("transaction not final yet")
    return payout_finish(payout, outcome)


def _payout_after_refusal(payout: Payout, exc: NearRpcError) -> Payout:
    """The node refused the bytes. A refused repeat may mean the first copy landed."""
    invalid = exc.invalid_tx or {}
    payout_error_note(payout, f"refused: {invalid}")
    if "InvalidNonce" in invalid and payout.signing_key is not None:
        # Our allocator fell behind the chain (another sender used the key): catch up.
        ak_nonce = int(invalid["InvalidNonce"].get("ak_nonce") or 0)
        try:
            signing_key_seed(payout.signing_key, at_least=ak_nonce)
        except NearError as seed_exc:
            raise PayoutOutcomeUnknownError(str(seed_exc)) from seed_exc
    resolved = payout_resolve(payout_id=payout.pk)
    if resolved.status in (Payout.Status.SIGNED, Payout.Status.SUBMITTED):
        # Still possibly alive (NotEnoughBalance, say): the same bytes may land later.
        raise PayoutOutcomeUnknownError(f"refused by the node: {invalid}")
    return resolved


class Resolution(StrEnum):
    """What the chain's record of a signed/submitted payout's hash allows."""

    UNSIGNED = "unsigned"  # pending: nothing signed to look up; the next send signs
    SETTLED = "settled"  # booked confirmed or failed, now or before
    NOT_FINAL = "not_final"  # the chain has it, not final yet: wait, never re-sign
    NOT_KNOWN_HERE = "not_known_here"  # the node answered without an outcome: ask again later
    ALIVE = "alive"  # unknown to the chain and still includable: re-broadcast the same bytes
    DEAD = "dead"  # unknown and provably never includable: reopened for a new signature
    # Unknown, but older than the node's history: it may have landed and been forgotten,
    # and the key's nonce cannot tell. Left open for an operator (archival node).
    UNDECIDABLE = "undecidable"


def payout_resolve(*, payout_id: int) -> Payout:
    """Settle a signed/submitted payout from the chain's record of its hash.

    See payout_resolution; this returns only the payout. Raises PayoutOutcomeUnknownError
    if the chain cannot be asked.
    """
    return payout_resolution(payout_id=payout_id)[0]


def payout_resolution(*, payout_id: int) -> tuple[Payout, Resolution]:
    """Look a signed/submitted payout's hash up without waiting and act on the answer.

    Final on chain: booked confirmed or failed. Known but not final, or answered without an
    outcome: left as it is. Unknown: reopened for a new signature (``DEAD``) only if the
    transaction provably can never land, by what was read *before* the look-up: the head
    past the block hash's validity window, the key's nonce at or past the transaction's
    nonce, or the key deleted; all three only grow (a deleted key added again starts from a
    nonce above every earlier one), so what held before the look-up still holds after it.
    Otherwise ``ALIVE``: the caller re-broadcasts the same bytes.

    "Unknown" means "never landed" only while the node still keeps the blocks the transaction
    could have landed in: from its block hash on. Past NEAR_TX_HISTORY_BLOCKS (a non-archival
    node's garbage collection) only the key's nonce can still prove it: below the
    transaction's nonce, it never landed, and with its block hash expired it never will;
    otherwise the payout is left open (``UNDECIDABLE``), never signed again.

    The proofs assume the node answering ``tx`` has seen at least the head and nonce read
    before it, i.e. one node (or one sticky endpoint), not a load-balanced pool whose members
    may lag (docs/OPERATIONS.md). Safe to repeat and to run concurrently. Raises
    PayoutOutcomeUnknownError if the chain cannot be asked.
    """
    payout = Payout.objects.select_related("signing_key").get(pk=payout_id)
    if payout.status == Payout.Status.PENDING:
        return payout, Resolution.UNSIGNED
    if payout.status not in (Payout.Status.SIGNED, Payout.Status.SUBMITTED):
        return payout, Resolution.SETTLED
    key = payout_signed_field(payout, payout.signing_key, "signing key")
    tx_hash = payout_signed_field(payout, payout.tx_hash, "transaction hash")
    client = near_client()
    try:
        # Read head and nonce BEFORE the hash look-up; see the docstring.
        head = final_block_get()
        chain_nonce = _signing_key_nonce(key)
        found = client.tx_lookup(tx_hash=tx_hash, sender_account_id=platform_account_id())
    except NearError as exc:
        payout_error_note(payout, f"look-up: {exc}")
        raise PayoutOutcomeUnknownError(str(exc)) from exc
    if found is not None:
        outcome = found.outcome
        if outcome is not None and found.is_final:
            return payout_finish(payout, outcome), Resolution.SETTLED
        if outcome is None:
            payout_error_note(
                payout, f"the node has no outcome for it yet ({found.final_execution_status})"
            )
            return payout, Resolution.NOT_KNOWN_HERE
        payout_error_note(payout, f"on chain, not final yet ({found.final_execution_status})")
        return payout, Resolution.NOT_FINAL
    age = head.height - (payout.block_height or 0)  # blocks since its block hash
    expired = age > settings.NEAR_TX_VALIDITY_BLOCKS
    history = settings.NEAR_TX_HISTORY_BLOCKS
    if history is not None and age > history:
        never_landed = chain_nonce is not None and chain_nonce < (payout.nonce or 0)
        if not (expired and never_landed):
            note = (
                f"unknown to the RPC, but signed {age} blocks ago, beyond its history "
                f"({history} blocks): it may have landed. Look {payout.tx_hash} up on an "
                "archival node; the payout stays open"
            )
            payout_error_note(payout, note)
            log.error("payout %s: %s", payout.public_id, note)
            return payout, Resolution.UNDECIDABLE
        reason = f"block hash expired and key nonce {chain_nonce} below {payout.nonce}"
    elif chain_nonce is None:
        reason = f"signing key {key.public_key} deleted"
    elif expired:
        reason = "block hash expired"
    elif chain_nonce >= (payout.nonce or 0):
        reason = f"nonce {payout.nonce} used by another (key nonce {chain_nonce})"
    else:
        return payout, Resolution.ALIVE
    _payout_reopen(payout, tx_hash=payout.tx_hash, reason=reason)
    return Payout.objects.get(pk=payout.pk), Resolution.DEAD


def _signing_key_nonce(key: SigningKey) -> int | None:
    """The signing key's nonce on chain; None if the key was deleted."""
    try:
        access_key = near_client().view_access_key(
            account_id=key.account_id, public_key=key.public_key
        )
    except NearRpcError as exc:
        if exc.is_unknown_access_key:
            return None
        raise
    return int(access_key["nonce"])


def _payout_reopen(payout: Payout, *, tx_hash: str | None, reason: str) -> None:
    """Back to pending after its transaction was proven dead; the next send re-signs."""
    with transaction.atomic(durable=True):
        payout = payout_lock(payout_id=payout.pk, changing_hash=True)
        if payout.tx_hash != tx_hash or payout.status not in (
            Payout.Status.SIGNED,
            Payout.Status.SUBMITTED,
        ):
            return  # someone else already moved it on
        previous = payout.status
        payout_event_record(
            payout, from_status=previous, detail=f"transaction {tx_hash} dead: {reason}"
        )
        payout.status = Payout.Status.PENDING
        payout.tx_hash = None
        payout.signed_tx = None
        payout.nonce = None
        payout.block_hash = ""
        payout.block_height = None
        payout.last_error = reason
        payout.save()
    log.warning(
        "payout %s transaction %s dead (%s); will sign anew", payout.public_id, tx_hash, reason
    )


def _is_final(outcome: Outcome) -> bool:
    """Executed and final: only then is a payout booked confirmed or failed."""
    return outcome.succeeded is not None and outcome.final_execution_status in (None, "FINAL")


def _failure_reason(failure: dict[str, Any] | None) -> str:
    if not failure:
        return "The transfer failed on chain."
    kind = (failure.get("ActionError") or {}).get("kind") or {}
    if "AccountDoesNotExist" in kind:
        account = kind["AccountDoesNotExist"].get("account_id", "")
        return f"The NEAR account {account} does not exist. Link an existing account."
    return f"The transfer failed on chain: {failure}"


def payout_finish(payout: Payout, outcome: Outcome) -> Payout:
    """Book a final on-chain outcome: confirmed, or failed with the amount refunded.

    A confirmed payout lets the contributor's automatic payout run again: earnings
    credited while this one was open (their own task found it open) go out next.
    """
    in_flight = in_flight_account()
    world = world_account()
    fees = platform_fees_account()
    with transaction.atomic(durable=True):
        payout = payout_lock(payout_id=payout.pk)
        if payout.status not in (Payout.Status.SIGNED, Payout.Status.SUBMITTED):
            return payout
        if outcome.tx_hash and outcome.tx_hash != payout.tx_hash:
            raise RuntimeError("outcome of another transaction")
        previous = payout.status
        if outcome.succeeded:
            journal_post(
                kind=Journal.Kind.PAYOUT_CONFIRMED,
                idempotency_key=f"payout:{payout.public_id}:confirmed",
                lines=[(in_flight, -payout.amount), (world, payout.amount)],
                memo=f"tx {payout.tx_hash}",
            )
            payout.status = Payout.Status.CONFIRMED
            detail = "confirmed"
            enqueue_on_commit(payout_auto_task, payout.user_id)
        else:
            earnings = earnings_account(user_id=payout.user_id)
            journal_post(
                kind=Journal.Kind.PAYOUT_FAILED,
                idempotency_key=f"payout:{payout.public_id}:failed",
                lines=[(in_flight, -payout.amount), (earnings, payout.amount)],
                memo=f"tx {payout.tx_hash} failed; refunded",
            )
            payout.status = Payout.Status.FAILED
            payout.failure_reason = _failure_reason(outcome.failure)
            detail = payout.failure_reason
        if outcome.tokens_burnt:
            journal_post(
                kind=Journal.Kind.NETWORK_FEE,
                idempotency_key=f"gas:{payout.tx_hash}",
                lines=[(fees, -outcome.tokens_burnt), (world, outcome.tokens_burnt)],
                memo=f"gas of payout {payout.public_id}",
            )
        payout.gas_burnt = outcome.tokens_burnt
        payout.finished_at = timezone.now()
        payout.last_error = ""
        payout.save()
        payout_event_record(payout, from_status=previous, detail=detail)
    log.info("payout %s %s (tx %s)", payout.public_id, payout.status, payout.tx_hash)
    return payout


def payouts_reconcile(*, older_than_seconds: int = 30) -> dict[str, int]:
    """Move every open payout on: sign the pending, resolve and re-broadcast the rest.

    Safe to run at any time, concurrently with the send tasks. Returns counts of the
    payouts by the state they reached.
    """
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    ids = list(
        Payout.objects.filter(status__in=Payout.OPEN_STATUSES, created_at__lte=cutoff)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    counts = payouts_settle(payout_ids=ids)
    if ids:
        log.info("reconciled %s open payouts: %s", len(ids), counts)
    return counts


def payouts_settle(*, payout_ids: list[int]) -> dict[str, int]:
    """Resolve each payout from the chain, then send it on if that is what it needs.

    A pending payout is signed and sent; one whose transaction is unknown to the chain is
    re-broadcast with the same bytes while it could still land, and signed anew once it
    provably cannot; one the chain has but not final yet is left to finish. Returns counts
    by the state reached ("unknown" where the chain did not answer). Safe to repeat and to
    run beside the send tasks, like every step here.
    """
    counts: dict[str, int] = {}
    for payout_id in payout_ids:
        try:
            payout, resolution = payout_resolution(payout_id=payout_id)
            if resolution in (Resolution.UNSIGNED, Resolution.ALIVE, Resolution.DEAD):
                payout = payout_send(payout_id=payout_id)
            status = str(payout.status)
        except PayoutOutcomeUnknownError:
            status = "unknown"
        counts[status] = counts.get(status, 0) + 1
    return counts

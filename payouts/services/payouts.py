"""Payouts: exactly-once NEAR transfers of contributors' earnings.

The state machine (DESIGN.md): pending -> signed -> submitted -> confirmed | failed.

- Requesting a payout debits the earnings in the same transaction that creates it;
  the send task is enqueued on commit.
- Signing allocates a nonce under the signing key's row lock and commits the signed
  bytes, hash, nonce and block hash before anything is broadcast.
- Broadcasting sends those same bytes, however often; the chain treats a repeat of a
  known transaction as the same transaction.
- An unknown outcome is resolved by asking the chain for the hash. A payout is
  signed again (new nonce) only when its transaction provably can never land: the
  chain does not know the hash and either its block hash is past the validity
  window, or the key's nonce on chain has moved past the transaction's nonce.

Every function here is safe to run twice, concurrently, or to be killed between any
two lines: each step re-reads and locks the payout row and checks its state first.
No row lock is held across a network call.
"""

import logging
from dataclasses import dataclass
from functools import partial

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from payouts.errors import (
    NearAccountMissingError,
    NearAccountUnverifiedError,
    PayoutTooSmallError,
)
from payouts.models import Journal, NearAccount, Payout, PayoutEvent, SigningKey
from payouts.money import near_to_yocto, yocto_to_near
from payouts.near.client import (
    NearError,
    NearRpcError,
    NearTransportError,
    Outcome,
    outcome_summary,
)
from payouts.near.keys import transfer_sign
from payouts.services.chain import (
    PlatformKeyError,
    near_client,
    platform_account_id,
    signing_key_for,
    signing_keys_sync,
)
from payouts.services.ledger import (
    earnings_account,
    in_flight_account,
    journal_post,
    platform_fees_account,
    world_account,
)

log = logging.getLogger(__name__)


class PayoutOutcomeUnknownError(Exception):
    """The chain's answer about a payout's transaction did not arrive; ask again later."""


@dataclass(frozen=True)
class _Block:
    hash: str
    height: int


def _event(payout: Payout, *, from_status: str, detail: str = "") -> None:
    PayoutEvent.objects.create(
        payout=payout,
        from_status=from_status,
        to_status=payout.status,
        detail=detail[:500],
        tx_hash=payout.tx_hash or "",
    )


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
        _event(payout, from_status="", detail=f"{yocto_to_near(amount)} NEAR requested")
        transaction.on_commit(partial(_enqueue_send, payout.pk))
    log.info("payout %s of %s yocto requested by user %s", payout.public_id, amount, user.pk)
    return payout


def _enqueue_send(payout_id: int) -> None:
    from payouts.tasks import payout_send_task

    payout_send_task.delay(payout_id)


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
        payout = _payout_sign(payout)
    if payout.status in (Payout.Status.SIGNED, Payout.Status.SUBMITTED):
        payout = _payout_broadcast(payout)
    if payout.status == Payout.Status.PENDING and resign_budget > 0:
        return payout_send(payout_id=payout_id, resign_budget=resign_budget - 1)
    return payout


def _signing_key_pick() -> SigningKey:
    """The signing key for the next payout: the active key with the fewest open payouts.

    One query counts every active key's open payouts (ties in random order, so concurrent
    senders spread over the pool). A key never used yet is seeded from the chain first; one
    the chain does not know (a pool file not registered yet) is skipped. If the chain cannot
    be asked, the key is returned unseeded and _payout_sign's own seeding reports it as an
    unknown outcome, to retry. Each call picks anew; raises PlatformKeyError / KeyFileError
    for a bad key file.
    """
    configured = [row.public_key for row in signing_keys_sync()]
    rows = list(
        SigningKey.objects.filter(is_active=True, public_key__in=configured)
        .annotate(open_payouts=Count("payouts", filter=Q(payouts__status__in=Payout.OPEN_STATUSES)))
        .order_by("open_payouts", "?")
    )
    for row in rows:
        if row.nonce is not None:
            return row
        try:
            _signing_key_seed(row)
        except NearRpcError as exc:
            if exc.is_unknown_access_key or exc.is_unknown_account:
                log.warning("signing key %s is not on chain (register it): skipped", row.public_key)
                continue
            return row
        except NearTransportError:
            return row
        row.refresh_from_db(fields=["nonce"])
        return row
    if not rows:
        raise PlatformKeyError("no active signing key: every configured key was deactivated")
    # No key the chain knows: let the signing step report it and retry later.
    return rows[0]


def _signing_key_seed(key_row: SigningKey, *, at_least: int | None = None) -> None:
    """Seed or resync the allocator from the chain's view of the key's nonce."""
    access_key = near_client().view_access_key(
        account_id=key_row.account_id, public_key=key_row.public_key
    )
    chain_nonce = int(access_key["nonce"])
    if at_least is not None:
        chain_nonce = max(chain_nonce, at_least)
    with transaction.atomic():
        row = SigningKey.objects.select_for_update().get(pk=key_row.pk)
        if row.nonce is None or row.nonce < chain_nonce:
            log.info(
                "signing key %s nonce resynced %s -> %s", row.public_key, row.nonce, chain_nonce
            )
            row.nonce = chain_nonce
            row.save(update_fields=["nonce", "updated_at"])


def _latest_block() -> _Block:
    block = near_client().latest_block(finality="final")
    header = block["header"]
    return _Block(hash=header["hash"], height=int(header["height"]))


def _payout_sign(payout: Payout) -> Payout:
    key_row = _signing_key_pick()
    try:
        if key_row.nonce is None:
            _signing_key_seed(key_row)
        block = _latest_block()
    except NearError as exc:
        _note_error(payout, f"cannot sign yet: {exc}")
        raise PayoutOutcomeUnknownError(str(exc)) from exc
    key = signing_key_for(public_key=key_row.public_key)
    with transaction.atomic(durable=True):
        payout = Payout.objects.select_for_update().get(pk=payout.pk)
        if payout.status != Payout.Status.PENDING:
            return payout  # signed by a concurrent run: carry on with its transaction
        # Lock order: payout, then signing key.
        row = SigningKey.objects.select_for_update().get(pk=key_row.pk)
        nonce = row.nonce + 1
        row.nonce = nonce
        row.save(update_fields=["nonce", "updated_at"])
        signed = transfer_sign(
            key=key,
            receiver_id=payout.receiver_id,
            amount=payout.amount,
            nonce=nonce,
            block_hash=block.hash,
        )
        payout.signing_key = row
        payout.nonce = nonce
        payout.block_hash = block.hash
        payout.block_height = block.height
        payout.tx_hash = signed.tx_hash
        payout.signed_tx = signed.signed_bytes
        payout.signatures += 1
        payout.signed_at = timezone.now()
        payout.status = Payout.Status.SIGNED
        payout.save()
        _event(payout, from_status=Payout.Status.PENDING, detail=f"nonce {nonce}")
    log.info("payout %s signed as %s nonce %s", payout.public_id, payout.tx_hash, nonce)
    return payout


def _note_error(payout: Payout, message: str) -> None:
    Payout.objects.filter(pk=payout.pk).update(last_error=message[:500])


def _payout_broadcast(payout: Payout) -> Payout:
    with transaction.atomic(durable=True):
        payout = Payout.objects.select_for_update().get(pk=payout.pk)
        if payout.status not in (Payout.Status.SIGNED, Payout.Status.SUBMITTED):
            return payout
        previous = payout.status
        payout.attempts += 1
        if previous == Payout.Status.SIGNED:
            payout.status = Payout.Status.SUBMITTED
            payout.submitted_at = timezone.now()
            _event(payout, from_status=previous, detail="broadcast")
        payout.save(update_fields=["status", "attempts", "submitted_at"])
    try:
        result = near_client().send_tx(signed_tx=bytes(payout.signed_tx), wait_until="FINAL")
    except NearRpcError as exc:
        if exc.invalid_tx is not None:
            return _payout_after_refusal(payout, exc)
        _note_error(payout, f"broadcast: {exc}")
        raise PayoutOutcomeUnknownError(str(exc)) from exc
    except NearTransportError as exc:
        _note_error(payout, f"broadcast: {exc}")
        raise PayoutOutcomeUnknownError(str(exc)) from exc
    outcome = outcome_summary(result)
    if not _is_final(outcome):
        raise PayoutOutcomeUnknownError("transaction not final yet")
    return _payout_finish(payout, outcome)


def _payout_after_refusal(payout: Payout, exc: NearRpcError) -> Payout:
    """The node refused the bytes. A refused repeat may mean the first copy landed."""
    invalid = exc.invalid_tx or {}
    _note_error(payout, f"refused: {invalid}")
    if "InvalidNonce" in invalid and payout.signing_key_id is not None:
        # Our allocator fell behind the chain (another sender used the key): catch up.
        ak_nonce = int(invalid["InvalidNonce"].get("ak_nonce") or 0)
        try:
            _signing_key_seed(payout.signing_key, at_least=ak_nonce)
        except NearError as seed_exc:
            raise PayoutOutcomeUnknownError(str(seed_exc)) from seed_exc
    resolved = payout_resolve(payout_id=payout.pk)
    if resolved.status in (Payout.Status.SIGNED, Payout.Status.SUBMITTED):
        # Still possibly alive (NotEnoughBalance, say): the same bytes may land later.
        raise PayoutOutcomeUnknownError(f"refused by the node: {invalid}")
    return resolved


def payout_resolve(*, payout_id: int) -> Payout:
    """Settle a signed/submitted payout from the chain's record of its hash.

    Confirms or fails it if the chain executed the transaction. Reopens it for a new
    signature only if the transaction provably can never land: the chain does not
    know the hash, and before asking we saw either the head past the block hash's
    validity window or the key's nonce at or past the transaction's nonce (both only
    grow, so what held before the look-up still holds after it). Otherwise it is left
    as it is, for the caller to re-broadcast. Raises PayoutOutcomeUnknownError if the
    chain cannot be asked.
    """
    payout = Payout.objects.select_related("signing_key").get(pk=payout_id)
    if payout.status not in (Payout.Status.SIGNED, Payout.Status.SUBMITTED):
        return payout
    client = near_client()
    try:
        # Read head and nonce BEFORE the hash look-up; see the docstring.
        head = _latest_block()
        try:
            chain_nonce = int(
                client.view_access_key(
                    account_id=payout.signing_key.account_id,
                    public_key=payout.signing_key.public_key,
                )["nonce"]
            )
        except NearRpcError as exc:
            if not exc.is_unknown_access_key:
                raise
            # The key was deleted: nothing it signed can be included any more (a key
            # added again starts from a nonce above every earlier one).
            chain_nonce = None
        result = client.tx_status(
            tx_hash=payout.tx_hash, sender_account_id=platform_account_id(), wait_until="FINAL"
        )
    except NearRpcError as exc:
        if not exc.is_unknown_transaction:
            raise PayoutOutcomeUnknownError(str(exc)) from exc
        result = None
    except NearTransportError as exc:
        raise PayoutOutcomeUnknownError(str(exc)) from exc
    if result is not None:
        outcome = outcome_summary(result)
        if not _is_final(outcome):
            return payout
        return _payout_finish(payout, outcome)
    expired = head.height - (payout.block_height or 0) > settings.NEAR_TX_VALIDITY_BLOCKS
    nonce_passed = chain_nonce is None or chain_nonce >= (payout.nonce or 0)
    if expired or nonce_passed:
        reason = "block hash expired" if expired else f"nonce {payout.nonce} used by another"
        _payout_reopen(payout, tx_hash=payout.tx_hash, reason=reason)
        return Payout.objects.get(pk=payout.pk)
    return payout


def _payout_reopen(payout: Payout, *, tx_hash: str | None, reason: str) -> None:
    """Back to pending after its transaction was proven dead; the next send re-signs."""
    with transaction.atomic(durable=True):
        payout = Payout.objects.select_for_update().get(pk=payout.pk)
        if payout.tx_hash != tx_hash or payout.status not in (
            Payout.Status.SIGNED,
            Payout.Status.SUBMITTED,
        ):
            return  # someone else already moved it on
        previous = payout.status
        _event(payout, from_status=previous, detail=f"transaction {tx_hash} dead: {reason}")
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


def _failure_reason(failure: dict | None) -> str:
    if not failure:
        return "The transfer failed on chain."
    kind = (failure.get("ActionError") or {}).get("kind") or {}
    if "AccountDoesNotExist" in kind:
        account = kind["AccountDoesNotExist"].get("account_id", "")
        return f"The NEAR account {account} does not exist. Link an existing account."
    return f"The transfer failed on chain: {failure}"


def _payout_finish(payout: Payout, outcome: Outcome) -> Payout:
    """Book a final on-chain outcome: confirmed, or failed with the amount refunded."""
    in_flight = in_flight_account()
    world = world_account()
    fees = platform_fees_account()
    with transaction.atomic(durable=True):
        payout = Payout.objects.select_for_update().get(pk=payout.pk)
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
        _event(payout, from_status=previous, detail=detail)
    log.info("payout %s %s (tx %s)", payout.public_id, payout.status, payout.tx_hash)
    return payout


def payouts_reconcile(*, older_than_seconds: int = 30) -> dict[str, int]:
    """Move every open payout on: sign the pending, resolve and re-broadcast the rest.

    Safe to run at any time, concurrently with the send tasks. Returns counts of the
    payouts by the state they reached.
    """
    cutoff = timezone.now() - timezone.timedelta(seconds=older_than_seconds)
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
    """Resolve each payout from the chain, then send it on if it is still open.

    Returns counts by the state reached ("unknown" where the chain did not answer).
    Safe to repeat and to run beside the send tasks, like every step here.
    """
    counts: dict[str, int] = {}
    for payout_id in payout_ids:
        try:
            payout = payout_resolve(payout_id=payout_id)
            if payout.status in Payout.OPEN_STATUSES:
                payout = payout_send(payout_id=payout_id)
            status = payout.status
        except PayoutOutcomeUnknownError:
            status = "unknown"
        counts[status] = counts.get(status, 0) + 1
    return counts

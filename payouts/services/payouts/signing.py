"""Signing: pick a key, allocate its next nonce under the key's row lock, commit the
signed bytes, hash, nonce and block hash (`signed`) before anything is broadcast."""

import logging

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from payouts.locks import payout_lock, signing_key_lock
from payouts.models import Payout, SigningKey
from payouts.near.client import NearError, NearRpcError, NearTransportError
from payouts.near.keys import transfer_sign
from payouts.services.chain import (
    PlatformKeyError,
    near_client,
    signing_key_for,
    signing_keys_sync,
)
from payouts.services.payouts.base import (
    Block,
    PayoutOutcomeUnknownError,
    payout_error_note,
    payout_event_record,
)

log = logging.getLogger(__name__)


def signing_key_pick() -> SigningKey:
    """The signing key for the next payout: the active key with the fewest open payouts.

    One query counts every active key's open payouts (ties in random order, so concurrent
    senders spread over the pool). A key never used yet is seeded from the chain first; one
    the chain does not know (a pool file not registered yet) is skipped. If the chain cannot
    be asked, the key is returned unseeded and payout_sign's own seeding reports it as an
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
            signing_key_seed(row)
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


def signing_key_seed(key_row: SigningKey, *, at_least: int | None = None) -> None:
    """Seed or resync the allocator from the chain's view of the key's nonce."""
    access_key = near_client().view_access_key(
        account_id=key_row.account_id, public_key=key_row.public_key
    )
    chain_nonce = int(access_key["nonce"])
    if at_least is not None:
        chain_nonce = max(chain_nonce, at_least)
    with transaction.atomic():
        row = signing_key_lock(key_id=key_row.pk)
        if row.nonce is None or row.nonce < chain_nonce:
            log.info(
                "signing key %s nonce resynced %s -> %s", row.public_key, row.nonce, chain_nonce
            )
            row.nonce = chain_nonce
            row.save(update_fields=["nonce", "updated_at"])


def final_block_get() -> Block:
    block = near_client().latest_block(finality="final")
    header = block["header"]
    return Block(hash=header["hash"], height=int(header["height"]))


def payout_sign(payout: Payout) -> Payout:
    key_row = signing_key_pick()
    try:
        if key_row.nonce is None:
            signing_key_seed(key_row)
        block = final_block_get()
    except NearError as exc:
        payout_error_note(payout, f"cannot sign yet: {exc}")
        raise PayoutOutcomeUnknownError(str(exc)) from exc
    key = signing_key_for(public_key=key_row.public_key)
    with transaction.atomic(durable=True):
        payout = payout_lock(payout_id=payout.pk, changing_hash=True)
        if payout.status != Payout.Status.PENDING:
            return payout  # signed by a concurrent run: carry on with its transaction
        # Lock order: payout, then signing key.
        row = signing_key_lock(key_id=key_row.pk)
        if row.nonce is None:  # seeded above; a nonce is never cleared
            raise RuntimeError(f"signing key {row.public_key} has no nonce")
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
        payout_event_record(payout, from_status=Payout.Status.PENDING, detail=f"nonce {nonce}")
    log.info("payout %s signed as %s nonce %s", payout.public_id, payout.tx_hash, nonce)
    return payout

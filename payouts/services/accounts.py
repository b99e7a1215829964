"""Linking users to NEAR accounts.

Money moves only for proven accounts (verified_at set): payouts go to them and deposits
are checked against them. `near_account_link_verified` is the way in from the API.
"""

import logging

from django.db import IntegrityError, transaction
from django.utils import timezone

from config.users import User
from payouts.errors import NearAccountInvalidError, NearAccountTakenError
from payouts.locks import near_account_lock_or_create
from payouts.models import NearAccount
from payouts.near.keys import account_id_is_valid
from payouts.services.auth import NearProof, near_proof_consume, near_proof_verify

log = logging.getLogger(__name__)


def near_account_link(*, user: User, account_id: str) -> NearAccount:
    """Link (or re-link) the user's NEAR account WITHOUT proof: it stays unverified.

    Payouts and deposits refuse an unverified account (near_account_unverified); the
    API links with `near_account_link_verified` instead. Validated against NEAR's
    account id rules (near_account_invalid otherwise). A repeat call with the same id
    changes nothing; a new id drops the verification. Payouts already signed keep their
    receiver; later ones go to the new account.
    """
    if not isinstance(account_id, str) or not account_id_is_valid(account_id):
        raise NearAccountInvalidError(
            "Not a valid NEAR account id: 2 to 64 characters of a-z, 0-9 and - _ . "
            "separators, such as alice.near, or a 64-character implicit account."
        )
    with transaction.atomic():
        link, created = near_account_lock_or_create(user=user, account_id=account_id)
        if not created and link.account_id != account_id:
            link.account_id = account_id
            link.verified_at = None
            link.save(update_fields=["account_id", "verified_at", "updated_at"])
    log.info("user %s linked NEAR account %s", user.pk, account_id)
    return link


def near_account_link_verified(*, user: User, proof: NearProof) -> NearAccount:
    """Link (or re-link) the user's NEAR account to the account that signed `proof`.

    The proof is a NEP-413 signature by that account over one of our challenges (see
    payouts.services.auth); the link is marked verified now. The challenge is used in
    the same transaction, so a repeat with the same proof is refused auth_nonce_used.
    An account another user has proven is refused near_account_taken. Refusals
    (auth_*, near_account_invalid, near_account_taken, chain_unavailable) write
    nothing. Payouts already signed keep their receiver; later ones go to the new account.
    """
    near_proof_verify(proof=proof)
    account_id = proof.account_id
    taken = NearAccountTakenError(f"{account_id} is already linked to another user.")
    try:
        with transaction.atomic():
            near_proof_consume(proof=proof)
            others = NearAccount.objects.filter(account_id=account_id, verified_at__isnull=False)
            if others.exclude(user=user).exists():
                raise taken
            link, _ = near_account_lock_or_create(user=user, account_id=account_id)
            link.account_id = account_id
            link.verified_at = timezone.now()
            link.save(update_fields=["account_id", "verified_at", "updated_at"])
    except IntegrityError as exc:  # another user proved it concurrently (unique constraint)
        raise taken from exc
    log.info("user %s linked and verified NEAR account %s", user.pk, account_id)
    return link

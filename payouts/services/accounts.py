"""Linking users to NEAR accounts."""

import logging

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from payouts.errors import NearAccountInvalidError
from payouts.models import NearAccount
from payouts.near.keys import account_id_is_valid

log = logging.getLogger(__name__)


def near_account_link(*, user: AbstractBaseUser, account_id: str) -> NearAccount:
    """Link (or re-link) the user's NEAR account.

    Validated against NEAR's account id rules (near_account_invalid otherwise). A
    repeat call with the same id changes nothing. Payouts already signed keep their
    receiver; later ones go to the new account.
    """
    if not isinstance(account_id, str) or not account_id_is_valid(account_id):
        raise NearAccountInvalidError(
            "Not a valid NEAR account id: 2 to 64 characters of a-z, 0-9 and - _ . "
            "separators, such as alice.near, or a 64-character implicit account."
        )
    with transaction.atomic():
        link, created = NearAccount.objects.select_for_update().get_or_create(
            user=user, defaults={"account_id": account_id}
        )
        if not created and link.account_id != account_id:
            link.account_id = account_id
            link.verified_at = None
            link.save(update_fields=["account_id", "verified_at", "updated_at"])
    log.info("user %s linked NEAR account %s", user.pk, account_id)
    return link

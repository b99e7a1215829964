"""Users and their NEAR accounts: signing up with an email and a password, and linking
users to NEAR accounts.

Money moves only for proven accounts (verified_at set): payouts go to them and deposits
are checked against them. `near_account_link_verified` is the way in from the API.
"""

import logging

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext

from config.users import User
from payouts.errors import (
    NearAccountInvalidError,
    NearAccountTakenError,
    SignupEmailTakenError,
    SignupError,
)
from payouts.locks import near_account_lock_or_create
from payouts.models import NearAccount
from payouts.near.keys import account_id_is_valid
from payouts.services.auth import NearProof, near_proof_consume, near_proof_verify

log = logging.getLogger(__name__)

# Django's username field: 150 characters.
EMAIL_MAX_LENGTH = 150


def user_signup(*, email: str, password: str) -> User:
    """A new user who signs in with `email` (their username) and `password`.

    The address is checked (and its domain lowercased), and must not belong to another
    user in any letter case; the password must pass settings.AUTH_PASSWORD_VALIDATORS.
    Refusals write nothing: SignupError (signup_email_invalid, signup_password_invalid)
    or SignupEmailTakenError (also when a concurrent sign-up takes the address first).
    A repeat with the same address is refused signup_email_taken.
    """
    user_model = get_user_model()
    email = user_model.objects.normalize_email((email or "").strip())
    try:
        validate_email(email)
    except ValidationError as exc:
        raise SignupError(
            gettext("Enter a valid email address."), code="signup_email_invalid"
        ) from exc
    if len(email) > EMAIL_MAX_LENGTH:
        raise SignupError(
            gettext("Use an email address of at most %(n)d characters.") % {"n": EMAIL_MAX_LENGTH},
            code="signup_email_invalid",
        )
    taken = SignupEmailTakenError(gettext("An account with this email address already exists."))
    if user_model.objects.filter(username__iexact=email).exists():
        raise taken
    try:
        validate_password(password, user=user_model(username=email, email=email))
    except ValidationError as exc:
        raise SignupError(" ".join(exc.messages), code="signup_password_invalid") from exc
    try:
        with transaction.atomic():
            user: User = user_model.objects.create_user(
                username=email, email=email, password=password
            )
    except IntegrityError as exc:  # the same address, signed up at the same moment
        raise taken from exc
    log.info("user %s signed up with a password", user.pk)
    return user


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
            gettext(
                "Not a valid NEAR account id: 2 to 64 characters of a-z, 0-9 and - _ . "
                "separators, such as alice.near, or a 64-character implicit account."
            )
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
    taken = NearAccountTakenError(
        gettext("%(account)s is already linked to another user.") % {"account": account_id}
    )
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

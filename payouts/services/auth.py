"""Sign in with NEAR (NEP-413): server nonces, checking a wallet's signature, signing in.

A proof is what a wallet's signMessage returns plus the fields it signed. It is good
when its nonce is one of ours, unexpired and unused; it names our recipient and our
message; the ed25519 signature verifies; and the key is a full-access key of the
account on chain, or the account is the key's own implicit account. The challenge is
consumed (row-locked, `used_at` set) in the same transaction that acts on the proof,
so one signature acts once, however many requests carry it.

Checking never holds a row lock across the chain lookup: everything is checked
without locks first, then the challenge is locked and re-checked before it is used.
"""

import base64
import binascii
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext
from rest_framework.authtoken.models import Token

from config.errors import PermissionError_
from config.users import User
from payouts.errors import AuthError, NearAccountInvalidError
from payouts.locks import auth_challenge_lock
from payouts.models import AuthChallenge, NearAccount
from payouts.near.keys import (
    NearKeyError,
    account_id_is_valid,
    implicit_account_id,
)
from payouts.near.nep413 import NEP413_NONCE_LEN, nep413_verify
from payouts.services.chain import access_key_permission

log = logging.getLogger(__name__)

AUTH_MESSAGE = "Sign in to Nearlabel"


@dataclass(frozen=True)
class NearProof:
    """A NEP-413 signature as the client sends it (the wallet's wire formats)."""

    account_id: str
    public_key: str  # "ed25519:<base58>"
    signature: str  # base64 of the 64-byte signature
    message: str
    nonce: str  # base64 of the challenge's 32 bytes
    recipient: str
    callback_url: str | None = None


@dataclass(frozen=True)
class NearSignin:
    user: User
    account: NearAccount
    created: bool  # the user was made by this sign-in


def nonce_to_wire(nonce_hex: str) -> str:
    """The base64 form of a stored (hex) nonce, as clients receive and send it."""
    return base64.b64encode(bytes.fromhex(nonce_hex)).decode("ascii")


def _b64decode(text: str) -> bytes | None:
    if not isinstance(text, str):
        return None
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        return None


def auth_challenge_create() -> AuthChallenge:
    """A fresh challenge (32 random bytes) for one NEP-413 signature.

    Every call makes a new one; it expires after NEAR_AUTH_CHALLENGE_SECONDS and works
    once, for signing in or for proving an account to link.
    """
    challenge = AuthChallenge.objects.create(
        nonce=secrets.token_bytes(NEP413_NONCE_LEN).hex(),
        recipient=settings.NEAR_AUTH_RECIPIENT,
        message=AUTH_MESSAGE,
        expires_at=timezone.now() + timedelta(seconds=settings.NEAR_AUTH_CHALLENGE_SECONDS),
    )
    log.info("auth challenge %s created", challenge.pk)
    return challenge


def auth_challenges_purge(*, expired_for_seconds: int = 3600, batch: int = 5000) -> int:
    """Periodic: delete the challenges that expired over `expired_for_seconds` ago.

    Returns how many were deleted; a repeat deletes nothing more. An expired challenge
    can never be used, but anyone may create them, so they must not pile up. They
    are kept an hour past expiry so that a late client is still told
    auth_nonce_expired rather than auth_nonce_unknown. Deletes in batches of `batch`
    rows, each its own short statement.
    """
    cutoff = timezone.now() - timedelta(seconds=expired_for_seconds)
    deleted = 0
    while ids := list(
        AuthChallenge.objects.filter(expires_at__lt=cutoff)
        .order_by("pk")
        .values_list("pk", flat=True)[:batch]
    ):
        deleted += AuthChallenge.objects.filter(pk__in=ids).delete()[0]
    if deleted:
        log.info("purged %s expired sign-in challenges", deleted)
    return deleted


def _nonce_hex(proof: NearProof) -> str:
    raw = _b64decode(proof.nonce)
    if raw is None or len(raw) != NEP413_NONCE_LEN:
        raise AuthError(gettext("The nonce is not one of ours."), code="auth_nonce_unknown")
    return raw.hex()


def _challenge_check(challenge: AuthChallenge | None, proof: NearProof) -> AuthChallenge:
    if challenge is None:
        raise AuthError(gettext("The nonce is not one of ours."), code="auth_nonce_unknown")
    if challenge.used_at is not None:
        raise AuthError(gettext("This nonce was already used."), code="auth_nonce_used")
    if challenge.expires_at <= timezone.now():
        raise AuthError(
            gettext("This nonce has expired; ask for a new one."), code="auth_nonce_expired"
        )
    if proof.recipient != settings.NEAR_AUTH_RECIPIENT or proof.recipient != challenge.recipient:
        raise AuthError(
            f"The message must be signed for the recipient {settings.NEAR_AUTH_RECIPIENT}.",
            code="auth_wrong_recipient",
        )
    if proof.message != challenge.message:
        raise AuthError(
            gettext("The message is not the one asked for."), code="auth_message_mismatch"
        )
    return challenge


def _key_check(proof: NearProof) -> None:
    """The key is the account's: its implicit account, or a full-access key on chain."""
    try:
        if implicit_account_id(proof.public_key) == proof.account_id:
            return  # an implicit account is its key; it need not exist on chain yet
    except NearKeyError as exc:
        raise AuthError(
            "The public key is not an ed25519 key.", code="auth_signature_invalid"
        ) from exc
    # An implicit account of another key may still have added this key on chain, so it
    # is looked up like any named account: unknown there means auth_key_not_found.
    permission = access_key_permission(account_id=proof.account_id, public_key=proof.public_key)
    if permission is None:
        raise AuthError(
            f"{proof.public_key} is not a key of {proof.account_id}.", code="auth_key_not_found"
        )
    if permission != "FullAccess":
        raise AuthError(
            "Sign with a full-access key of the account, not a function-call key.",
            code="auth_key_not_full_access",
        )


def _proof_check(proof: NearProof) -> None:
    """Every check of the proof, without locks (the chain lookup is a network call)."""
    if not account_id_is_valid(proof.account_id):
        raise NearAccountInvalidError(f"Not a valid NEAR account id: {proof.account_id!r}.")
    challenge = AuthChallenge.objects.filter(nonce=_nonce_hex(proof)).first()
    _challenge_check(challenge, proof)
    signature = _b64decode(proof.signature)
    if signature is None or not nep413_verify(
        public_key=proof.public_key,
        signature=signature,
        message=proof.message,
        nonce=base64.b64decode(proof.nonce),
        recipient=proof.recipient,
        callback_url=proof.callback_url,
    ):
        raise AuthError(
            "The signature does not match the message and key.", code="auth_signature_invalid"
        )
    _key_check(proof)


def _challenge_consume(proof: NearProof) -> AuthChallenge:
    """Lock the proof's challenge, check it again and mark it used. Inside a transaction.

    The row lock makes concurrent uses of one nonce queue here; the second sees
    `used_at` set and is refused auth_nonce_used.
    """
    nonce = _nonce_hex(proof)
    challenge = _challenge_check(auth_challenge_lock(nonce=nonce), proof)
    challenge.used_at = timezone.now()
    challenge.account_id = proof.account_id
    challenge.save(update_fields=["used_at", "account_id"])
    return challenge


def near_proof_verify(*, proof: NearProof) -> None:
    """Check a proof fully without using its challenge (a repeat answers the same).

    Raises AuthError (auth_* codes), NearAccountInvalidError or ChainUnavailableError.
    Callers that act on a proof use `near_proof_consume` in their transaction after this.
    """
    try:
        _proof_check(proof)
    except (AuthError, NearAccountInvalidError) as exc:
        log.info("NEP-413 proof for %r refused: %s", proof.account_id, exc.code)
        raise


def near_proof_consume(*, proof: NearProof) -> AuthChallenge:
    """Use the proof's challenge, once. Call inside the transaction that acts on the proof,
    after `near_proof_verify`; a second call, or a concurrent one, raises auth_nonce_used
    (and the transaction rolls back: nothing is acted on twice).
    """
    return _challenge_consume(proof)


def _username_for(account_id: str) -> str:
    user_model = get_user_model()
    if not user_model.objects.filter(username=account_id).exists():
        return account_id
    # A password user already has this name; the NEAR user gets a marked variant.
    return f"{account_id}~{secrets.token_hex(3)}"


def _user_for_account(account_id: str) -> tuple[User, NearAccount, bool]:
    proven = NearAccount.objects.select_related("user").filter(
        account_id=account_id, verified_at__isnull=False
    )
    link = proven.first()
    if link is not None:
        return link.user, link, False
    try:
        with transaction.atomic():  # a savepoint: a concurrent first sign-in may win
            user = get_user_model().objects.create_user(username=_username_for(account_id))
            link = NearAccount.objects.create(
                user=user, account_id=account_id, verified_at=timezone.now()
            )
    except IntegrityError:
        link = proven.first()
        if link is None:
            raise
        return link.user, link, False
    return user, link, True


def near_signin(*, proof: NearProof) -> NearSignin:
    """Sign in with a NEP-413 proof: the user who proved this account, or a new one.

    A new user is named after the account, has no usable password, and has the account
    linked and verified. The challenge is used in the same transaction, so a repeat with
    the same proof is refused auth_nonce_used and changes nothing; every refusal
    (auth_*, near_account_invalid, chain_unavailable, auth_user_inactive) writes nothing.
    """
    near_proof_verify(proof=proof)
    with transaction.atomic():
        near_proof_consume(proof=proof)
        user, link, created = _user_for_account(proof.account_id)
        if not user.is_active:
            raise PermissionError_("This user is deactivated.", code="auth_user_inactive")
    log.info("user %s signed in with NEAR account %s (new: %s)", user.pk, link.account_id, created)
    return NearSignin(user=user, account=link, created=created)


def auth_token_get(*, user: User) -> str:
    """The user's API token, made on first use; a repeat returns the same token."""
    token, _ = Token.objects.get_or_create(user=user)
    key: str = token.key  # a CharField, though DRF's stubs leave it untyped (Any)
    return key


def auth_token_regenerate(*, user: User) -> str:
    """A new API token for the user, replacing the old one (which stops working now).

    DRF keeps one token per user; a repeat call replaces it again. The key is returned
    once, for the page to show; it is not shown again.
    """
    with transaction.atomic():
        Token.objects.filter(user=user).delete()
        token = Token.objects.create(user=user)
    log.info("user %s made a new API token", user.pk)
    key: str = token.key
    return key


def auth_token_revoke(*, user: User) -> bool:
    """Delete the user's API token; False if there was none (a repeat changes nothing)."""
    deleted, _ = Token.objects.filter(user=user).delete()
    if deleted:
        log.info("user %s revoked their API token", user.pk)
    return bool(deleted)

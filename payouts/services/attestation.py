"""Attestations: the platform account signs a statement with its NEAR key; anyone checks it.

An attestation is an ed25519 signature of some bytes by the platform's primary
full-access key (NEAR_PRIVATE_KEY_FILE), with the account and public key it claims. It
proves the bytes came from the platform only together with the chain: whoever verifies
asks a NEAR RPC of their choice whether that public key is a full-access key of the
account they expect (`view_access_key`). The server's word is not needed.

The caller chooses the message and must make it domain-separated (a prefix naming what
it is): the same key signs NEAR transactions, whose signatures cover a bare 32-byte
sha256, and NEP-413 messages, also a 32-byte sha256. `attest` refuses a 32-byte
message outright, so no attestation can ever be replayed as one of those.

payouts knows nothing of what is attested (datasets are marketplace's): only bytes.
"""

from dataclasses import dataclass

import base58
from django.utils.translation import gettext

from payouts.errors import (
    AttestationChainUnavailableError,
    AttestationError,
    ChainUnavailableError,
)
from payouts.near.client import NearClient
from payouts.near.keys import ED25519_PREFIX, account_id_is_valid, signature_verify
from payouts.services.chain import access_key_permission, platform_primary_key

__all__ = ["Attestation", "attest", "attestation_verify", "signature_decode"]

# What a NEAR transaction or a NEP-413 message signs: a sha256. Never attested.
_DIGEST_LEN = 32


@dataclass(frozen=True)
class Attestation:
    account_id: str
    public_key: str  # "ed25519:<base58 of 32 bytes>"
    signature: str  # "ed25519:<base58 of 64 bytes>"


def attest(*, message: bytes) -> Attestation:
    """Sign ``message`` with the platform's primary key (deterministic: ed25519).

    Raises ValueError for a 32-byte message (it could be a transaction's hash) and, as
    payouts.services.chain.platform_primary_key does, for a missing or foreign key file.
    """
    if not isinstance(message, bytes | bytearray):
        raise TypeError("an attested message is bytes")
    if len(message) == _DIGEST_LEN:
        raise ValueError(
            "refusing to attest 32 bytes: that is what transactions sign; prefix the message"
        )
    key = platform_primary_key()
    signature = key.sign(bytes(message))
    return Attestation(
        account_id=key.account_id,
        public_key=key.public_key,
        signature=ED25519_PREFIX + base58.b58encode(signature).decode("ascii"),
    )


def signature_decode(signature: object) -> bytes | None:
    """The 64 bytes of an ``"ed25519:<base58>"`` signature; None for anything else."""
    if not isinstance(signature, str) or not signature.startswith(ED25519_PREFIX):
        return None
    try:
        raw = base58.b58decode(signature[len(ED25519_PREFIX) :].encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        return None
    return raw if len(raw) == 64 else None


def attestation_verify(
    *,
    message: bytes,
    attestation: Attestation,
    expected_account_id: str,
    client: NearClient | None,
) -> None:
    """Check that ``attestation`` is ``expected_account_id``'s signature of ``message``.

    In order, stopping at the first failure (the first two need no network):
    the ed25519 signature verifies under the stated public key (signature_invalid); the
    stated account is the expected one (signer_unexpected); the key is a key of that
    account on chain (key_not_on_chain) with full access (key_not_full_access). Raises
    AttestationError with that code, or AttestationChainUnavailableError
    (chain_unavailable, 503) when the RPC cannot answer. ``client`` None: the configured
    RPC. Read-only; a repeat answers the same while the account's keys stay the same.
    """
    raw = signature_decode(attestation.signature)
    if raw is None or not signature_verify(
        public_key=attestation.public_key, message=bytes(message), signature=raw
    ):
        raise AttestationError(
            gettext("The signature does not match the message and the public key."),
            code="signature_invalid",
        )
    if attestation.account_id != expected_account_id or not account_id_is_valid(
        attestation.account_id
    ):
        raise AttestationError(
            gettext("Signed by %(signer)s, not by the expected account %(expected)s.")
            % {"signer": attestation.account_id, "expected": expected_account_id},
            code="signer_unexpected",
        )
    try:
        permission = access_key_permission(
            account_id=attestation.account_id, public_key=attestation.public_key, client=client
        )
    except ChainUnavailableError as exc:
        raise AttestationChainUnavailableError(exc.message) from exc
    if permission is None:
        raise AttestationError(
            gettext("%(key)s is not a key of %(account)s on chain (now).")
            % {"key": attestation.public_key, "account": attestation.account_id},
            code="key_not_on_chain",
        )
    if permission != "FullAccess":
        raise AttestationError(
            gettext("%(key)s is only a function-call key of %(account)s, not a full-access key.")
            % {"key": attestation.public_key, "account": attestation.account_id},
            code="key_not_full_access",
        )

"""NEP-413 signed messages: what wallets sign for "Sign in with NEAR".

A wallet's ``signMessage({message, nonce, recipient, callbackUrl})`` signs the sha256
of this payload (all integers little-endian, as borsh writes them)::

    u32 tag = 2**31 + 413                       # 2147484061: no transaction starts so
    message: String      (u32 length + UTF-8)   # (a borsh Transaction starts with the
    nonce: [u8; 32]      (32 raw bytes)         # signer id's u32 length, never >= 2**31)
    recipient: String    (u32 length + UTF-8)
    callback_url: Option<String>  (u8 0, or u8 1 + String)

and returns ``{accountId, publicKey: "ed25519:<base58>", signature: <base64 of 64 bytes>}``.
See https://github.com/near/NEPs/blob/master/neps/nep-0413.md.

Pure functions: no database, no network. Whether the key belongs to the account is the
caller's question (payouts.services.auth).
"""

from __future__ import annotations

import hashlib
import struct

from payouts.near.keys import NearKey, signature_verify

__all__ = ["NEP413_NONCE_LEN", "NEP413_TAG", "nep413_payload", "nep413_sign", "nep413_verify"]

NEP413_TAG = 2**31 + 413  # 2147484061
NEP413_NONCE_LEN = 32


def _borsh_string(value: str) -> bytes:
    raw = value.encode("utf-8")
    return struct.pack("<I", len(raw)) + raw


def nep413_payload(
    *, message: str, nonce: bytes, recipient: str, callback_url: str | None = None
) -> bytes:
    """The exact bytes whose sha256 a wallet signs (tag + borsh of the payload struct).

    Raises ValueError when ``nonce`` is not 32 bytes or a text is not a string.
    """
    if not isinstance(nonce, bytes | bytearray) or len(nonce) != NEP413_NONCE_LEN:
        raise ValueError(f"the NEP-413 nonce must be {NEP413_NONCE_LEN} bytes")
    for name, value in (("message", message), ("recipient", recipient)):
        if not isinstance(value, str):
            raise ValueError(f"the NEP-413 {name} must be a string")
    if callback_url is None:
        callback = b"\x00"
    elif isinstance(callback_url, str):
        callback = b"\x01" + _borsh_string(callback_url)
    else:
        raise ValueError("the NEP-413 callback_url must be a string or None")
    return (
        struct.pack("<I", NEP413_TAG)
        + _borsh_string(message)
        + bytes(nonce)
        + _borsh_string(recipient)
        + callback
    )


def _digest(*, message: str, nonce: bytes, recipient: str, callback_url: str | None) -> bytes:
    payload = nep413_payload(
        message=message, nonce=nonce, recipient=recipient, callback_url=callback_url
    )
    return hashlib.sha256(payload).digest()


def nep413_sign(
    *, key: NearKey, message: str, nonce: bytes, recipient: str, callback_url: str | None = None
) -> bytes:
    """The 64-byte signature a wallet holding ``key`` returns for this message.

    For tests, the demo and clients without a wallet. Deterministic (ed25519).
    """
    return key.sign(
        _digest(message=message, nonce=nonce, recipient=recipient, callback_url=callback_url)
    )


def nep413_verify(
    *,
    public_key: str,
    signature: bytes,
    message: str,
    nonce: bytes,
    recipient: str,
    callback_url: str | None = None,
) -> bool:
    """Whether ``signature`` is ``public_key``'s NEP-413 signature of these fields.

    Never raises: a malformed key, nonce, text or signature gives False.
    """
    try:
        digest = _digest(
            message=message, nonce=nonce, recipient=recipient, callback_url=callback_url
        )
    except ValueError:  # includes UnicodeEncodeError (lone surrogates)
        return False
    return signature_verify(public_key=public_key, message=digest, signature=signature)


def nep413_signed_body(*, key: NearKey, challenge: dict[str, str]) -> dict[str, str]:
    """The JSON a wallet holding ``key`` sends back for a challenge from
    ``POST /api/auth/near/challenge`` (base64 nonce and signature), ready to post."""
    import base64

    signature = nep413_sign(
        key=key,
        message=challenge["message"],
        nonce=base64.b64decode(challenge["nonce"]),
        recipient=challenge["recipient"],
    )
    return {
        "account_id": key.account_id,
        "public_key": key.public_key,
        "signature": base64.b64encode(signature).decode("ascii"),
        "message": challenge["message"],
        "nonce": challenge["nonce"],
        "recipient": challenge["recipient"],
    }

"""NEAR ed25519 keys: generate, load/save NEAR CLI key files, sign transfers, verify signatures.

Key material uses NEAR CLI's string formats:

- public key: ``"ed25519:<base58 of the 32-byte key>"``
- secret key: ``"ed25519:<base58 of 64 bytes: 32-byte seed followed by the 32-byte public key>"``

Amounts are Python ``int`` yoctoNEAR (1 NEAR = 10**24 yocto), never floats.
"""

from __future__ import annotations

import base64 as _base64
import hashlib
import hmac
import json
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import base58
import nacl.exceptions
import nacl.signing
from near_api.signer import KeyPair, Signer
from near_api.transactions import create_transfer_action, sign_and_serialize_transaction

__all__ = [
    "ACCOUNT_ID_RE",
    "MAX_AMOUNT",
    "KeyFileError",
    "NearKey",
    "NearKeyError",
    "SignedTransaction",
    "account_id_is_valid",
    "implicit_account_id",
    "key_generate",
    "key_load",
    "key_save",
    "public_key_bytes",
    "public_key_from_bytes",
    "signature_verify",
    "transfer_sign",
]

ED25519_PREFIX = "ed25519:"
# Borsh u128: the largest amount a Transfer action can carry, in yoctoNEAR.
MAX_AMOUNT = 2**128 - 1
# Borsh u64: nonces are u64 on chain.
MAX_NONCE = 2**64 - 1
# Size of the borsh Signature that ends a SignedTransaction: 1 key-type byte + 64 bytes.
SIGNATURE_BORSH_LEN = 65

# NEAR account id grammar (near-account-id crate): parts of [a-z0-9] joined inside a part by a
# single "-" or "_", parts joined by "."; no leading, trailing or doubled separators.
# 64-hex implicit ids and "0x" + 40 hex eth-implicit ids match this grammar as well.
ACCOUNT_ID_RE = re.compile(r"(?:(?:[a-z0-9]+[-_])*[a-z0-9]+\.)*(?:[a-z0-9]+[-_])*[a-z0-9]+")
ACCOUNT_ID_MIN_LEN = 2
ACCOUNT_ID_MAX_LEN = 64
_IMPLICIT_RE = re.compile(r"[0-9a-f]{64}")
_ETH_IMPLICIT_RE = re.compile(r"0x[0-9a-f]{40}")


class NearKeyError(ValueError):
    """Malformed or inconsistent key material. Messages never contain secret key material."""


class KeyFileError(NearKeyError):
    """A NEAR CLI key file is missing, unreadable, malformed, or its keys do not match."""


def account_id_is_valid(account_id: str) -> bool:
    """Whether ``account_id`` is a valid NEAR account id (named, implicit or eth-implicit).

    Pure function: repeat calls give the same answer; never raises (non-strings are invalid).
    """
    if not isinstance(account_id, str):
        return False
    if not ACCOUNT_ID_MIN_LEN <= len(account_id) <= ACCOUNT_ID_MAX_LEN:
        return False
    return ACCOUNT_ID_RE.fullmatch(account_id) is not None


def account_id_is_implicit(account_id: str) -> bool:
    """Whether ``account_id`` is a NEAR-implicit account (64 lowercase hex chars)."""
    return _IMPLICIT_RE.fullmatch(account_id) is not None


def account_id_is_eth_implicit(account_id: str) -> bool:
    """Whether ``account_id`` is an eth-implicit account ("0x" + 40 lowercase hex chars)."""
    return _ETH_IMPLICIT_RE.fullmatch(account_id) is not None


def _b58decode(text: str, *, what: str) -> bytes:
    try:
        return base58.b58decode(text.encode("ascii"))
    except (ValueError, UnicodeEncodeError) as exc:
        raise NearKeyError(f"{what} is not valid base58") from exc


def public_key_bytes(public_key: str) -> bytes:
    """The 32 raw bytes of an ``"ed25519:<base58>"`` public key.

    Raises NearKeyError for another key type, bad base58 or a wrong length.
    """
    if not isinstance(public_key, str) or not public_key.startswith(ED25519_PREFIX):
        raise NearKeyError("public key must look like 'ed25519:<base58>'")
    raw = _b58decode(public_key[len(ED25519_PREFIX) :], what="public key")
    if len(raw) != 32:
        raise NearKeyError(f"ed25519 public key must be 32 bytes, got {len(raw)}")
    return raw


def public_key_from_bytes(raw: bytes) -> str:
    """``"ed25519:<base58>"`` for 32 raw public key bytes."""
    if len(raw) != 32:
        raise NearKeyError(f"ed25519 public key must be 32 bytes, got {len(raw)}")
    return ED25519_PREFIX + base58.b58encode(raw).decode("ascii")


def implicit_account_id(public_key: str) -> str:
    """The NEAR-implicit account id of an ed25519 public key: lowercase hex of its 32 bytes.

    Pure function; raises NearKeyError for a malformed public key.
    """
    return public_key_bytes(public_key).hex()


class _Secret:
    """Holds a secret string; its repr/str never show it, so dumps (repr, vars) stay safe to log."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "<secret>"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, _Secret):
            return NotImplemented
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        return hash(self._value)


def _secret_parse(secret_key: str) -> tuple[bytes, bytes]:
    """(seed, public key bytes) of a NEAR CLI secret key; checks the embedded public key."""
    if not isinstance(secret_key, str) or not secret_key.startswith(ED25519_PREFIX):
        raise NearKeyError("secret key must look like 'ed25519:<base58>'")
    raw = _b58decode(secret_key[len(ED25519_PREFIX) :], what="secret key")
    if len(raw) not in (32, 64):
        raise NearKeyError(
            f"ed25519 secret key must be 64 bytes (seed + public key), got {len(raw)}"
        )
    seed = raw[:32]
    derived = bytes(nacl.signing.SigningKey(seed).verify_key)
    if len(raw) == 64 and raw[32:] != derived:
        raise NearKeyError("secret key is inconsistent: its public half does not match its seed")
    return seed, derived


@dataclass(frozen=True)
class NearKey:
    """An account's full-access ed25519 key. ``repr``/``str``/``vars`` never show the secret."""

    account_id: str
    public_key: str  # "ed25519:<base58 of 32 bytes>"
    secret: _Secret = field(repr=False, compare=True)

    def __repr__(self) -> str:
        return f"NearKey(account_id={self.account_id!r}, public_key={self.public_key!r})"

    __str__ = __repr__

    @classmethod
    def from_secret_key(cls, *, account_id: str, secret_key: str) -> NearKey:
        """Build a key from a NEAR CLI secret key string, deriving the public key.

        Raises NearKeyError for a malformed secret or an invalid account id.
        """
        if not account_id_is_valid(account_id):
            raise NearKeyError(f"invalid NEAR account id {account_id!r}")
        seed, public = _secret_parse(secret_key)
        canonical = ED25519_PREFIX + base58.b58encode(seed + public).decode("ascii")
        return cls(
            account_id=account_id,
            public_key=public_key_from_bytes(public),
            secret=_Secret(canonical),
        )

    def secret_key_reveal(self) -> str:
        """The secret key string (NEAR CLI format). Only for writing key files; never log it."""
        return self.secret.reveal()

    def sign(self, message: bytes) -> bytes:
        """The 64-byte ed25519 signature of ``message`` (deterministic: a repeat gives the same)."""
        seed, _ = _secret_parse(self.secret.reveal())
        return nacl.signing.SigningKey(seed).sign(message).signature

    def _near_api_signer(self) -> Signer:
        return Signer(self.account_id, KeyPair(self.secret.reveal()))


def key_generate(*, account_id: str | None = None) -> NearKey:
    """A fresh random key. ``account_id=None`` gives the key's implicit account (hex of the key).

    Every call returns a new key. Raises NearKeyError for an invalid ``account_id``.
    """
    signing = nacl.signing.SigningKey.generate()
    seed = bytes(signing)
    public = bytes(signing.verify_key)
    secret_key = ED25519_PREFIX + base58.b58encode(seed + public).decode("ascii")
    return NearKey.from_secret_key(
        account_id=account_id if account_id is not None else public.hex(),
        secret_key=secret_key,
    )


def key_load(path: str | os.PathLike[str]) -> NearKey:
    """Read a NEAR CLI key file ``{"account_id", "public_key", "private_key" | "secret_key"}``.

    Reading has no side effects. Raises KeyFileError (message names the file, never the secret)
    for a missing/unreadable file, invalid JSON, missing or malformed fields, or a public key
    that does not belong to the private key.
    """
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise KeyFileError(f"key file {file} does not exist") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise KeyFileError(f"key file {file} cannot be read: {type(exc).__name__}") from exc
    try:
        data: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        # The JSON error message quotes the document, which holds the secret: keep only position.
        raise KeyFileError(f"key file {file} is not valid JSON (line {exc.lineno})") from None
    if not isinstance(data, dict):
        raise KeyFileError(f"key file {file} must hold a JSON object")

    def string(name: str, value: object) -> str:
        if not isinstance(value, str) or not value:
            raise KeyFileError(f"key file {file} lacks a string {name!r}")
        return value

    account_id = string("account_id", data.get("account_id"))
    public_key = string("public_key", data.get("public_key"))
    secret_key = string("private_key", data.get("private_key", data.get("secret_key")))
    try:
        key = NearKey.from_secret_key(account_id=account_id, secret_key=secret_key)
    except NearKeyError as exc:
        raise KeyFileError(f"key file {file}: {exc}") from None
    try:
        stated = public_key_bytes(public_key)
    except NearKeyError as exc:
        raise KeyFileError(f"key file {file}: {exc}") from None
    if stated != public_key_bytes(key.public_key):
        raise KeyFileError(
            f"key file {file}: public_key {public_key} does not match the private key"
        )
    return key


def key_save(key: NearKey, path: str | os.PathLike[str]) -> None:
    """Write ``key`` as a NEAR CLI key file with mode 0600, atomically, creating parent dirs.

    A repeat call rewrites the same content. On error (OSError) the previous file, if any,
    is left untouched and no temp file is left behind.
    """
    file = Path(path)
    file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    payload = json.dumps(
        {
            "account_id": key.account_id,
            "public_key": key.public_key,
            "private_key": key.secret_key_reveal(),
        },
        indent=2,
    )
    # mkstemp creates the file with mode 0600, so the secret is never world-readable.
    fd, tmp_name = tempfile.mkstemp(prefix=f".{file.name}.", suffix=".tmp", dir=file.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(payload + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp_name, 0o600)
        os.replace(tmp_name, file)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


@dataclass(frozen=True)
class SignedTransaction:
    """A borsh-serialized, signed NEAR transaction ready for ``send_tx``."""

    signed_bytes: bytes
    tx_hash: str  # base58 of sha256 of the borsh Transaction (signed_bytes minus the signature)
    signer_id: str
    public_key: str
    nonce: int
    receiver_id: str
    block_hash: str  # base58 of the 32-byte hash of a recent block
    amount: int  # yoctoNEAR carried by the Transfer action

    def base64(self) -> str:
        """The signed bytes as standard base64, the form ``send_tx`` takes."""
        return _base64.b64encode(self.signed_bytes).decode("ascii")


def transfer_sign(
    *, key: NearKey, receiver_id: str, amount: int, nonce: int, block_hash: str
) -> SignedTransaction:
    """Build and sign a one-action Transfer of ``amount`` yoctoNEAR from ``key.account_id``.

    Deterministic: the same arguments give byte-identical output (ed25519 signatures are
    deterministic), hence the same ``tx_hash`` - so a re-send of a retry is recognisable.
    Raises NearKeyError / ValueError for invalid ids, amount, nonce or block hash.
    """
    if not account_id_is_valid(receiver_id):
        raise ValueError(f"invalid receiver account id {receiver_id!r}")
    if isinstance(amount, bool) or not isinstance(amount, int) or not 0 <= amount <= MAX_AMOUNT:
        raise ValueError(f"amount must be an int of yoctoNEAR in [0, 2**128), got {amount!r}")
    if isinstance(nonce, bool) or not isinstance(nonce, int) or not 0 < nonce <= MAX_NONCE:
        raise ValueError(f"nonce must be an int in (0, 2**64), got {nonce!r}")
    try:
        block_hash_raw = base58.b58decode(block_hash.encode("ascii"))
    except (ValueError, UnicodeEncodeError, AttributeError) as exc:
        raise ValueError("block_hash must be base58") from exc
    if len(block_hash_raw) != 32:
        raise ValueError(f"block_hash must decode to 32 bytes, got {len(block_hash_raw)}")
    signed = sign_and_serialize_transaction(
        receiver_id,
        nonce,
        [create_transfer_action(amount)],
        block_hash_raw,
        key._near_api_signer(),
    )
    tx_bytes = signed[:-SIGNATURE_BORSH_LEN]
    tx_hash = base58.b58encode(hashlib.sha256(tx_bytes).digest()).decode("ascii")
    return SignedTransaction(
        signed_bytes=bytes(signed),
        tx_hash=tx_hash,
        signer_id=key.account_id,
        public_key=key.public_key,
        nonce=nonce,
        receiver_id=receiver_id,
        block_hash=block_hash,
        amount=amount,
    )


def signature_verify(*, public_key: str, message: bytes, signature: bytes) -> bool:
    """Whether ``signature`` is a valid ed25519 signature of ``message`` by ``public_key``.

    Pure; never raises: a malformed key or a signature of the wrong length gives False.
    """
    try:
        verify_key = nacl.signing.VerifyKey(public_key_bytes(public_key))
    except (NearKeyError, ValueError, TypeError):
        return False
    if not isinstance(signature, bytes | bytearray) or len(signature) != 64:
        return False
    try:
        verify_key.verify(bytes(message), bytes(signature))
    except (nacl.exceptions.BadSignatureError, ValueError, TypeError):
        return False
    return True

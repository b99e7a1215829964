"""Borsh decoding of NEAR's SignedTransaction (the V0 layout) into plain dataclasses.

near-api-py only serializes; the localnet (and anything auditing signed bytes before sending)
needs the reverse. Decoding is strict: unknown enum tags, truncated input, invalid UTF-8 or
trailing bytes raise BorshError, and nothing else is ever raised for bad input.

Layout (all integers little-endian):

- Transaction: signer_id string, PublicKey, nonce u64, receiver_id string, block_hash [u8; 32],
  actions Vec<Action>
- SignedTransaction: Transaction, then Signature (u8 key type + 64 bytes for ed25519)
- string / Vec<T>: u32 length, then the items; Option<T>: u8 0 | 1 then T
"""

from __future__ import annotations

import base64
import hashlib
import struct
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import base58

__all__ = [
    "AccessKey",
    "Action",
    "AddKey",
    "BorshError",
    "CreateAccount",
    "DeleteAccount",
    "DeleteKey",
    "DeployContract",
    "FullAccessPermission",
    "FunctionCall",
    "FunctionCallPermission",
    "PublicKey",
    "Signature",
    "SignedTransaction",
    "Stake",
    "Transaction",
    "Transfer",
    "action_view",
    "decode_signed_transaction",
    "decode_transaction",
]

KEY_TYPE_ED25519 = 0
KEY_TYPE_SECP256K1 = 1
# (public key length, signature length) per key type.
_KEY_LENGTHS = {KEY_TYPE_ED25519: (32, 64), KEY_TYPE_SECP256K1: (64, 65)}
_KEY_PREFIX = {KEY_TYPE_ED25519: "ed25519:", KEY_TYPE_SECP256K1: "secp256k1:"}


class BorshError(ValueError):
    """The bytes are not a valid borsh encoding of the expected NEAR type."""


@dataclass(frozen=True)
class PublicKey:
    key_type: int  # 0 ed25519, 1 secp256k1
    data: bytes

    def __str__(self) -> str:
        return _KEY_PREFIX[self.key_type] + base58.b58encode(self.data).decode("ascii")


@dataclass(frozen=True)
class Signature:
    key_type: int
    data: bytes

    def __str__(self) -> str:
        return _KEY_PREFIX[self.key_type] + base58.b58encode(self.data).decode("ascii")


@dataclass(frozen=True)
class FunctionCallPermission:
    allowance: int | None  # yoctoNEAR; None = unlimited
    receiver_id: str
    method_names: list[str]


@dataclass(frozen=True)
class FullAccessPermission:
    pass


@dataclass(frozen=True)
class AccessKey:
    nonce: int
    permission: FunctionCallPermission | FullAccessPermission


@dataclass(frozen=True)
class CreateAccount:
    pass


@dataclass(frozen=True)
class DeployContract:
    code: bytes


@dataclass(frozen=True)
class FunctionCall:
    method_name: str
    args: bytes
    gas: int
    deposit: int  # yoctoNEAR


@dataclass(frozen=True)
class Transfer:
    deposit: int  # yoctoNEAR


@dataclass(frozen=True)
class Stake:
    stake: int  # yoctoNEAR
    public_key: PublicKey


@dataclass(frozen=True)
class AddKey:
    public_key: PublicKey
    access_key: AccessKey


@dataclass(frozen=True)
class DeleteKey:
    public_key: PublicKey


@dataclass(frozen=True)
class DeleteAccount:
    beneficiary_id: str


Action = (
    CreateAccount
    | DeployContract
    | FunctionCall
    | Transfer
    | Stake
    | AddKey
    | DeleteKey
    | DeleteAccount
)


@dataclass(frozen=True)
class Transaction:
    signer_id: str
    public_key: PublicKey
    nonce: int
    receiver_id: str
    block_hash: bytes  # 32 raw bytes
    actions: list[Action]

    @property
    def block_hash_b58(self) -> str:
        return base58.b58encode(self.block_hash).decode("ascii")


@dataclass(frozen=True)
class SignedTransaction:
    transaction: Transaction
    signature: Signature
    tx_bytes: bytes = field(repr=False)  # the borsh Transaction: what the signature covers

    @cached_property
    def hash_bytes(self) -> bytes:
        """sha256 of the borsh Transaction: the transaction id, and the message signed."""
        return hashlib.sha256(self.tx_bytes).digest()

    @cached_property
    def hash(self) -> str:
        return base58.b58encode(self.hash_bytes).decode("ascii")


class _Reader:
    __slots__ = ("_data", "_pos")

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._pos = 0

    @property
    def pos(self) -> int:
        return self._pos

    @property
    def remaining(self) -> int:
        return len(self._data) - self._pos

    def take(self, size: int, what: str) -> bytes:
        if size > self.remaining:
            raise BorshError(
                f"truncated input: {what} needs {size} bytes at offset {self._pos}, "
                f"{self.remaining} left"
            )
        chunk = self._data[self._pos : self._pos + size]
        self._pos += size
        return chunk

    def u8(self, what: str) -> int:
        return self.take(1, what)[0]

    def u32(self, what: str) -> int:
        return int(struct.unpack("<I", self.take(4, what))[0])

    def u64(self, what: str) -> int:
        return int(struct.unpack("<Q", self.take(8, what))[0])

    def u128(self, what: str) -> int:
        return int.from_bytes(self.take(16, what), "little")

    def bytes_vec(self, what: str) -> bytes:
        return self.take(self.u32(f"{what} length"), what)

    def string(self, what: str) -> str:
        raw = self.bytes_vec(what)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BorshError(f"{what} is not valid UTF-8") from exc

    def count(self, what: str, min_item_size: int) -> int:
        n = self.u32(f"{what} count")
        # Refuse counts the remaining bytes cannot hold before allocating anything for them.
        if n * min_item_size > self.remaining:
            raise BorshError(
                f"truncated input: {what} claims {n} items, {self.remaining} bytes left"
            )
        return n

    def option(self, what: str) -> bool:
        tag = self.u8(f"{what} option tag")
        if tag > 1:
            raise BorshError(f"{what}: invalid option tag {tag}")
        return tag == 1


def _public_key(reader: _Reader) -> PublicKey:
    key_type = reader.u8("public key type")
    if key_type not in _KEY_LENGTHS:
        raise BorshError(f"unknown public key type {key_type}")
    return PublicKey(key_type=key_type, data=reader.take(_KEY_LENGTHS[key_type][0], "public key"))


def _signature(reader: _Reader) -> Signature:
    key_type = reader.u8("signature type")
    if key_type not in _KEY_LENGTHS:
        raise BorshError(f"unknown signature type {key_type}")
    return Signature(key_type=key_type, data=reader.take(_KEY_LENGTHS[key_type][1], "signature"))


def _access_key(reader: _Reader) -> AccessKey:
    nonce = reader.u64("access key nonce")
    tag = reader.u8("access key permission")
    permission: FunctionCallPermission | FullAccessPermission
    if tag == 0:
        allowance = reader.u128("allowance") if reader.option("allowance") else None
        receiver_id = reader.string("permission receiver_id")
        names = [reader.string("method name") for _ in range(reader.count("method names", 4))]
        permission = FunctionCallPermission(
            allowance=allowance, receiver_id=receiver_id, method_names=names
        )
    elif tag == 1:
        permission = FullAccessPermission()
    else:
        raise BorshError(f"unknown access key permission {tag}")
    return AccessKey(nonce=nonce, permission=permission)


def _action(reader: _Reader) -> Action:
    tag = reader.u8("action tag")
    if tag == 0:
        return CreateAccount()
    if tag == 1:
        return DeployContract(code=reader.bytes_vec("contract code"))
    if tag == 2:
        return FunctionCall(
            method_name=reader.string("method name"),
            args=reader.bytes_vec("function call args"),
            gas=reader.u64("gas"),
            deposit=reader.u128("deposit"),
        )
    if tag == 3:
        return Transfer(deposit=reader.u128("deposit"))
    if tag == 4:
        return Stake(stake=reader.u128("stake"), public_key=_public_key(reader))
    if tag == 5:
        return AddKey(public_key=_public_key(reader), access_key=_access_key(reader))
    if tag == 6:
        return DeleteKey(public_key=_public_key(reader))
    if tag == 7:
        return DeleteAccount(beneficiary_id=reader.string("beneficiary_id"))
    # 8+ (Delegate, global contracts, ...) are newer variants this decoder does not model.
    raise BorshError(f"unsupported action tag {tag}")


def _transaction(reader: _Reader) -> Transaction:
    signer_id = reader.string("signer_id")
    public_key = _public_key(reader)
    nonce = reader.u64("nonce")
    receiver_id = reader.string("receiver_id")
    block_hash = reader.take(32, "block_hash")
    actions = [_action(reader) for _ in range(reader.count("actions", 1))]
    return Transaction(
        signer_id=signer_id,
        public_key=public_key,
        nonce=nonce,
        receiver_id=receiver_id,
        block_hash=block_hash,
        actions=actions,
    )


def _bytes_check(data: Any) -> bytes:
    if not isinstance(data, bytes | bytearray | memoryview):
        raise BorshError(f"expected bytes, got {type(data).__name__}")
    return bytes(data)


def decode_transaction(data: bytes) -> Transaction:
    """Decode a borsh Transaction (V0). Pure; raises only BorshError for bad input."""
    reader = _Reader(_bytes_check(data))
    tx = _transaction(reader)
    if reader.remaining:
        raise BorshError(f"{reader.remaining} trailing bytes after the transaction")
    return tx


def decode_signed_transaction(data: bytes) -> SignedTransaction:
    """Decode a borsh SignedTransaction (V0). Pure; raises only BorshError for bad input.

    Does not check the signature (see keys.signature_verify over ``hash_bytes``).
    """
    raw = _bytes_check(data)
    reader = _Reader(raw)
    tx = _transaction(reader)
    tx_end = reader.pos
    signature = _signature(reader)
    if reader.remaining:
        raise BorshError(f"{reader.remaining} trailing bytes after the signed transaction")
    return SignedTransaction(transaction=tx, signature=signature, tx_bytes=raw[:tx_end])


def _permission_view(permission: FunctionCallPermission | FullAccessPermission) -> Any:
    if isinstance(permission, FullAccessPermission):
        return "FullAccess"
    return {
        "FunctionCall": {
            "allowance": None if permission.allowance is None else str(permission.allowance),
            "receiver_id": permission.receiver_id,
            "method_names": list(permission.method_names),
        }
    }


def action_view(action: Action) -> Any:
    """nearcore's JSON view of an action (u128 amounts as decimal strings), e.g.
    ``{"Transfer": {"deposit": "1000"}}`` or ``"CreateAccount"``."""
    view: Any
    match action:
        case CreateAccount():
            view = "CreateAccount"
        case DeployContract(code=code):
            # nearcore's ActionView shows the code's sha256, base64-encoded, not the code.
            view = {
                "DeployContract": {
                    "code": base64.b64encode(hashlib.sha256(code).digest()).decode("ascii")
                }
            }
        case FunctionCall(method_name=method_name, args=args, gas=gas, deposit=deposit):
            view = {
                "FunctionCall": {
                    "method_name": method_name,
                    "args": base64.b64encode(args).decode("ascii"),
                    "gas": gas,
                    "deposit": str(deposit),
                }
            }
        case Transfer(deposit=deposit):
            view = {"Transfer": {"deposit": str(deposit)}}
        case Stake(stake=stake, public_key=public_key):
            view = {"Stake": {"stake": str(stake), "public_key": str(public_key)}}
        case AddKey(public_key=public_key, access_key=access_key):
            view = {
                "AddKey": {
                    "public_key": str(public_key),
                    "access_key": {
                        "nonce": access_key.nonce,
                        "permission": _permission_view(access_key.permission),
                    },
                }
            }
        case DeleteKey(public_key=public_key):
            view = {"DeleteKey": {"public_key": str(public_key)}}
        case DeleteAccount(beneficiary_id=beneficiary_id):
            view = {"DeleteAccount": {"beneficiary_id": beneficiary_id}}
        case _:
            raise TypeError(f"not a NEAR action: {type(action).__name__}")
    return view

"""Parsing a method's params the way nearcore's ``RpcRequest::parse`` does.

Anything that does not parse is a REQUEST_VALIDATION_ERROR / PARSE_ERROR (HTTP 400), never a
handler error: nearcore deserialises the params (serde) before the method runs, so an
invalid account id, hash, amount or enum value never reaches the chain.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

import base58

from payouts.near import borsh
from payouts.near.keys import account_id_is_valid, public_key_bytes, public_key_from_bytes
from payouts.near.localnet.errors import parse_error

# core/primitives/src/views.rs ``TxExecutionStatus``, weakest first; its serde default is
# EXECUTED_OPTIMISTIC (``#[default]``), which is what a request without ``wait_until`` gets.
WAIT_UNTIL = ("NONE", "INCLUDED", "EXECUTED_OPTIMISTIC", "INCLUDED_FINAL", "EXECUTED", "FINAL")
WAIT_UNTIL_DEFAULT = "EXECUTED_OPTIMISTIC"
# core/primitives/src/types.rs ``Finality``.
FINALITIES = ("optimistic", "near-final", "final")


def named(params: Any, names: tuple[str, ...]) -> dict[str, Any]:
    """nearcore accepts both positional arrays and named objects for many methods."""
    if isinstance(params, dict):
        return params
    if isinstance(params, list):
        if len(params) > len(names):
            raise parse_error(f"Failed parsing args: expected at most {len(names)} params")
        return dict(zip(names, params, strict=False))
    if params is None:
        return {}
    raise parse_error("Failed parsing args: params must be an array or an object")


def str_param(params: dict[str, Any], name: str) -> str:
    value = params.get(name)
    if not isinstance(value, str):
        raise parse_error(f"Failed parsing args: missing field `{name}`")
    return value


def account_param(params: dict[str, Any], name: str) -> str:
    """An AccountId: nearcore's type refuses an invalid id while deserialising."""
    value = str_param(params, name)
    if not account_id_is_valid(value):
        raise parse_error(f"Failed parsing args: invalid account id {value!r}")
    return value


def public_key_param(params: dict[str, Any], name: str) -> str:
    value = str_param(params, name)
    try:
        return public_key_from_bytes(public_key_bytes(value))
    except ValueError as exc:
        raise parse_error(f"Failed parsing args: invalid public key: {exc}") from None


def amount_param(params: dict[str, Any], name: str) -> int:
    """A u128 amount in yoctoNEAR: a decimal string on the wire, as in nearcore."""
    value = params.get(name)
    if not isinstance(value, str) or not value.isdigit() or int(value) >= 2**128:
        raise parse_error(f"Failed parsing args: `{name}` must be a u128 decimal string")
    return int(value)


def tx_hash_param(params: dict[str, Any], name: str) -> str:
    """A CryptoHash: base58 of exactly 32 bytes."""
    value = str_param(params, name)
    try:
        valid = len(base58.b58decode(value.encode("ascii"))) == 32
    except ValueError:
        valid = False
    if not valid:
        raise parse_error(f"Failed parsing args: invalid {name} {value!r}")
    return value


def wait_until_param(params: dict[str, Any]) -> str:
    value = params.get("wait_until", WAIT_UNTIL_DEFAULT)
    if value not in WAIT_UNTIL:
        raise parse_error(f"Failed parsing args: unknown wait_until {value!r}")
    return str(value)


def permission_param(value: Any) -> Any:
    """An AccessKeyPermission view: ``"FullAccess"`` or ``{"FunctionCall": {...}}``."""
    if value in (None, "FullAccess"):
        return "FullAccess"
    if isinstance(value, dict) and isinstance(value.get("FunctionCall"), dict):
        fc = value["FunctionCall"]
        allowance = fc.get("allowance")
        receiver_id = fc.get("receiver_id")
        method_names = fc.get("method_names", [])
        if allowance is not None and (not isinstance(allowance, str) or not allowance.isdigit()):
            raise parse_error("Failed parsing args: allowance must be null or a decimal string")
        if not isinstance(receiver_id, str) or not account_id_is_valid(receiver_id):
            raise parse_error("Failed parsing args: FunctionCall needs a valid receiver_id")
        if not isinstance(method_names, list) or not all(isinstance(m, str) for m in method_names):
            raise parse_error("Failed parsing args: method_names must be a list of strings")
        return {
            "FunctionCall": {
                "allowance": allowance,
                "receiver_id": receiver_id,
                "method_names": method_names,
            }
        }
    raise parse_error('Failed parsing args: permission must be "FullAccess" or {"FunctionCall"}')


def signed_tx_param(encoded: Any) -> borsh.SignedTransaction:
    """A base64 borsh SignedTransaction (chain/jsonrpc-primitives/src/utils.rs
    ``parse_signed_transaction``: "Failed to decode transaction" on bad bytes)."""
    if not isinstance(encoded, str):
        raise parse_error("Failed parsing args: expected a base64 signed transaction")
    try:
        raw = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise parse_error(f"Failed to decode base64: {exc}") from None
    try:
        signed = borsh.decode_signed_transaction(raw)
    except borsh.BorshError as exc:
        raise parse_error(f"Failed to decode transaction: {exc}") from None
    tx = signed.transaction
    # nearcore's AccountId refuses invalid ids while deserialising: a decode error there too.
    for what, account_id in (("signer_id", tx.signer_id), ("receiver_id", tx.receiver_id)):
        if not account_id_is_valid(account_id):
            raise parse_error(f"Failed to decode transaction: invalid {what} {account_id!r}")
    return signed

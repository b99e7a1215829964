"""Nearlabel's own local NEAR-like chain: a JSON-RPC node speaking nearcore's wire format.

It is NOT NEAR and runs no NEAR code: it is a small state machine (accounts, access keys,
nonces, transfers, gas) that answers the JSON-RPC methods a payout system uses with nearcore's
request/response and error shapes, so code written against it works against a real node.
Its chain id is ``nearlabel-localnet`` and it says so when it starts.

Model:

- Every applied change (transaction, faucet, key, fast-forward) produces one block; ``block``
  returns the latest. Block hashes are ``base58(sha256(chain seed || height))``.
- A transaction's ``block_hash`` must name one of the last ``transaction_validity_period``
  blocks, else InvalidTxError ``Expired`` (an unknown hash is ``Expired`` too, as in nearcore).
- Transfers are applied at once (transaction and receipt in the same block) and reported as
  FINAL. Gas is charged with nearcore's fees at a fixed gas price of 10**8 yocto per gas.
- State lives in a JSON snapshot (written atomically: temp file + fsync + os.replace) plus an
  append-only journal (one JSON line per applied change, fsynced) that is folded into the
  snapshot every ``compact_every`` changes and at start/close. A restart replays the journal.
- Only Transfer actions are executed; other actions are refused as a request error.

Admin (``sandbox_*``) methods fund accounts, add keys, fast-forward the head height and inject
faults (lost responses, timeouts, HTTP 500, refusals) to exercise a payout system's recovery.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import bisect
import contextlib
import fcntl
import hashlib
import json
import logging
import os
import secrets
import signal
import socket
import tempfile
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import base58
import nacl.exceptions
import nacl.signing

from payouts.near import borsh
from payouts.near.keys import (
    account_id_is_eth_implicit,
    account_id_is_implicit,
    account_id_is_valid,
    public_key_bytes,
    public_key_from_bytes,
)

__all__ = [
    "CHAIN_ID",
    "FAULTS",
    "GAS_PRICE",
    "LocalNet",
    "LocalNetServer",
    "LocalNetStateError",
    "RpcReply",
    "localnet_run",
    "localnet_serve",
    "main",
]

log = logging.getLogger(__name__)

CHAIN_ID = "nearlabel-localnet"
VERSION = "nearlabel-localnet-1"
PROTOCOL_VERSION = 73  # what status reports; nothing depends on it
GAS_PRICE = 100_000_000  # yoctoNEAR per unit of gas (nearcore's minimum gas price)

# nearcore runtime fees, in gas. A transfer pays send + exec of both, total 446_365_125_000.
FEE_ACTION_RECEIPT_CREATION = 108_059_500_000
FEE_TRANSFER = 115_123_062_500
# A transfer to an implicit account also pays account creation (+ a full-access key for
# NEAR-implicit ids), send and exec, whether or not the account already exists (as nearcore).
FEE_CREATE_ACCOUNT = 3_850_000_000_000
FEE_ADD_FULL_ACCESS_KEY = 101_765_125_000

# nearcore: keys added at height h start at nonce (h - 1) * 10**6; a tx nonce must stay below
# head_height * 10**6 (NonceTooLarge).
NONCE_RANGE_MULTIPLIER = 1_000_000
DEFAULT_VALIDITY_PERIOD = 86_400  # blocks
STORAGE_ACCOUNT_BYTES = 100  # storage_usage of an account record, in bytes
STORAGE_KEY_BYTES = 82  # per full-access ed25519 key (so a typical account shows 182)
EMPTY_CODE_HASH = "11111111111111111111111111111111"
BLOCK_TIMESTAMPS_KEPT = 1000  # older blocks are answered as UNKNOWN_BLOCK ("garbage collected")
COMPACT_EVERY = 1000  # journal lines before they are folded into the snapshot
STATE_FORMAT = 1

WAIT_UNTIL = ("NONE", "INCLUDED", "EXECUTED_OPTIMISTIC", "INCLUDED_FINAL", "EXECUTED", "FINAL")
FINALITIES = ("optimistic", "near-final", "final")

FAULTS = frozenset(
    {
        "drop_response_after_apply",  # apply, then close the connection without answering
        "timeout_before_apply",  # sleep, answer TIMEOUT_ERROR (HTTP 408), apply nothing
        "http_500",  # answer HTTP 500 INTERNAL_ERROR, apply nothing
        "invalid_nonce",  # refuse the transaction as InvalidNonce
        "not_enough_balance",  # refuse the transaction as NotEnoughBalance
    }
)
SEND_METHODS = ("send_tx", "broadcast_tx_commit", "broadcast_tx_async")
DEFAULT_FAULT_DELAY = 0.1  # seconds timeout_before_apply waits before answering

HTTP_OK = 200
HTTP_BAD_REQUEST = 400
HTTP_NOT_FOUND = 404
HTTP_REQUEST_TIMEOUT = 408
HTTP_LENGTH_REQUIRED = 411
HTTP_INTERNAL_ERROR = 500


class LocalNetStateError(RuntimeError):
    """The state file is corrupt, of an unknown format, or used by another localnet."""


class RpcFailure(Exception):
    """An RPC answered with a JSON-RPC error object (nearcore's shape)."""

    def __init__(self, error: dict[str, Any], *, http_status: int = HTTP_OK) -> None:
        super().__init__(error.get("cause", {}).get("name") or error.get("name"))
        self.error = error
        self.http_status = http_status


@dataclass
class RpcReply:
    """What the HTTP layer should do with a request."""

    http_status: int
    payload: dict[str, Any] | None
    drop: bool = False  # close the connection without answering
    delay: float = 0.0  # seconds to wait before answering


# --- nearcore error shapes ----------------------------------------------------------------


def _handler_error(cause_name: str, info: dict[str, Any] | None, data: Any) -> RpcFailure:
    cause: dict[str, Any] = {"name": cause_name}
    if info is not None:
        cause["info"] = info
    return RpcFailure(
        {
            "name": "HANDLER_ERROR",
            "cause": cause,
            "code": -32000,
            "message": "Server error",
            "data": data,
        }
    )


def _parse_error(message: str) -> RpcFailure:
    return RpcFailure(
        {
            "name": "REQUEST_VALIDATION_ERROR",
            "cause": {"name": "PARSE_ERROR", "info": {"error_message": message}},
            "code": -32700,
            "message": "Parse error",
            "data": message,
        },
        http_status=HTTP_BAD_REQUEST,
    )


def _method_not_found(method: str) -> RpcFailure:
    return RpcFailure(
        {
            "name": "REQUEST_VALIDATION_ERROR",
            "cause": {"name": "METHOD_NOT_FOUND", "info": {"method_name": method}},
            "code": -32601,
            "message": "Method not found",
            "data": method,
        },
        http_status=HTTP_BAD_REQUEST,
    )


def _invalid_tx(invalid: Any) -> RpcFailure:
    # nearcore serializes RpcTransactionError::InvalidTransaction with its context skipped, so
    # cause.info is {} and the InvalidTxError travels in data.
    return RpcFailure(
        {
            "name": "HANDLER_ERROR",
            "cause": {"name": "INVALID_TRANSACTION", "info": {}},
            "code": -32000,
            "message": "Server error",
            "data": {"TxExecutionError": {"InvalidTxError": invalid}},
        }
    )


def _timeout_error() -> RpcFailure:
    return RpcFailure(
        {
            "name": "HANDLER_ERROR",
            "cause": {"name": "TIMEOUT_ERROR"},
            "code": -32000,
            "message": "Server error",
            "data": "Timeout",
        },
        http_status=HTTP_REQUEST_TIMEOUT,
    )


def _internal_error(message: str) -> RpcFailure:
    return RpcFailure(
        {
            "name": "INTERNAL_ERROR",
            "cause": {"name": "INTERNAL_ERROR", "info": {"error_message": message}},
            "code": -32000,
            "message": "Server error",
            "data": message,
        },
        http_status=HTTP_INTERNAL_ERROR,
    )


def _unknown_block(reference: Any) -> RpcFailure:
    if isinstance(reference, int):
        data = f"DB Not Found Error: BLOCK HEIGHT: {reference} \n Cause: Unknown"
    else:
        data = f"DB Not Found Error: BLOCK HEADER: {reference}"
    return _handler_error("UNKNOWN_BLOCK", {}, data)


# --- params --------------------------------------------------------------------------------


def _named(params: Any, names: tuple[str, ...]) -> dict[str, Any]:
    """nearcore accepts both positional arrays and named objects for many methods."""
    if isinstance(params, dict):
        return params
    if isinstance(params, list):
        if len(params) > len(names):
            raise _parse_error(f"Failed parsing args: expected at most {len(names)} params")
        return dict(zip(names, params, strict=False))
    if params is None:
        return {}
    raise _parse_error("Failed parsing args: params must be an array or an object")


def _str_param(params: dict[str, Any], name: str) -> str:
    value = params.get(name)
    if not isinstance(value, str):
        raise _parse_error(f"Failed parsing args: missing field `{name}`")
    return value


def _account_param(params: dict[str, Any], name: str) -> str:
    value = _str_param(params, name)
    if not account_id_is_valid(value):
        raise _parse_error(f"Failed parsing args: invalid account id {value!r}")
    return value


def _public_key_param(params: dict[str, Any], name: str) -> str:
    value = _str_param(params, name)
    try:
        return public_key_from_bytes(public_key_bytes(value))
    except ValueError as exc:
        raise _parse_error(f"Failed parsing args: invalid public key: {exc}") from None


def _amount_param(params: dict[str, Any], name: str) -> int:
    value = params.get(name)
    # u128 amounts are decimal strings on the wire, as in nearcore.
    if not isinstance(value, str) or not value.isdigit() or int(value) >= 2**128:
        raise _parse_error(f"Failed parsing args: `{name}` must be a u128 decimal string")
    return int(value)


def _permission_param(value: Any) -> Any:
    if value in (None, "FullAccess"):
        return "FullAccess"
    if isinstance(value, dict) and isinstance(value.get("FunctionCall"), dict):
        fc = value["FunctionCall"]
        allowance = fc.get("allowance")
        receiver_id = fc.get("receiver_id")
        method_names = fc.get("method_names", [])
        if allowance is not None and (not isinstance(allowance, str) or not allowance.isdigit()):
            raise _parse_error("Failed parsing args: allowance must be null or a decimal string")
        if not isinstance(receiver_id, str) or not account_id_is_valid(receiver_id):
            raise _parse_error("Failed parsing args: FunctionCall needs a valid receiver_id")
        if not isinstance(method_names, list) or not all(isinstance(m, str) for m in method_names):
            raise _parse_error("Failed parsing args: method_names must be a list of strings")
        return {
            "FunctionCall": {
                "allowance": allowance,
                "receiver_id": receiver_id,
                "method_names": method_names,
            }
        }
    raise _parse_error('Failed parsing args: permission must be "FullAccess" or {"FunctionCall"}')


def _decode_b64_tx(encoded: Any) -> borsh.SignedTransaction:
    if not isinstance(encoded, str):
        raise _parse_error("Failed parsing args: expected a base64 signed transaction")
    try:
        raw = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise _parse_error(f"Failed to decode base64: {exc}") from None
    try:
        signed = borsh.decode_signed_transaction(raw)
    except borsh.BorshError as exc:
        raise _parse_error(f"Failed to decode transaction: {exc}") from None
    tx = signed.transaction
    # nearcore's AccountId refuses invalid ids while deserializing: a decode error there too.
    for what, account_id in (("signer_id", tx.signer_id), ("receiver_id", tx.receiver_id)):
        if not account_id_is_valid(account_id):
            raise _parse_error(f"Failed to decode transaction: invalid {what} {account_id!r}")
    return signed


def _rfc3339(timestamp_ns: int) -> str:
    seconds, nanos = divmod(timestamp_ns, 1_000_000_000)
    stamp = datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{stamp}.{nanos:09d}Z"


def _b58(raw: bytes) -> str:
    return base58.b58encode(raw).decode("ascii")


def _derived_id(tx_hash: bytes, index: int) -> str:
    """A receipt id: unique per transaction and receipt index, like nearcore's derivation."""
    return _b58(hashlib.sha256(b"receipt" + tx_hash + index.to_bytes(8, "little")).digest())


def _transfer_gas(receiver_id: str) -> int:
    """Gas of one Transfer action, send or exec (they are equal), by receiver id kind."""
    if account_id_is_implicit(receiver_id):
        return FEE_TRANSFER + FEE_CREATE_ACCOUNT + FEE_ADD_FULL_ACCESS_KEY
    if account_id_is_eth_implicit(receiver_id):
        return FEE_TRANSFER + FEE_CREATE_ACCOUNT
    return FEE_TRANSFER


def _account_json(account: dict[str, Any]) -> dict[str, Any]:
    return {
        "amount": str(account["amount"]),
        "storage_usage": account["storage_usage"],
        "keys": account["keys"],
    }


def _account_from_json(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "amount": int(data["amount"]),
        "storage_usage": int(data["storage_usage"]),
        "keys": dict(data["keys"]),
    }


class LocalNet:
    """The chain state machine. Thread-safe: one lock serialises every read and change.

    ``handle(method, params)`` answers one JSON-RPC call (with fault injection);
    ``rpc(method, params)`` is the same without faults, raising RpcFailure for errors.
    """

    def __init__(
        self,
        *,
        state_path: str | os.PathLike[str],
        transaction_validity_period: int = DEFAULT_VALIDITY_PERIOD,
        fsync: bool = True,
        compact_every: int = COMPACT_EVERY,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        if transaction_validity_period < 1:
            raise ValueError("transaction_validity_period must be at least 1 block")
        self.state_path = Path(state_path)
        self.journal_path = self.state_path.with_name(self.state_path.name + ".journal")
        self.validity_period = transaction_validity_period
        self._fsync = fsync
        self._compact_every = max(1, compact_every)
        self._clock = clock
        self._lock = threading.Lock()
        self._closed = False
        self._faults: list[dict[str, Any]] = []  # in memory only: a restart clears them
        # Blocks after its own before a transaction counts as final (0: at once). NEAR
        # finalises in about two blocks; tests raise it to see the optimistic state.
        self.finality_blocks = 0
        self._accounts: dict[str, dict[str, Any]] = {}
        self._txs: dict[str, dict[str, Any]] = {}  # tx hash -> record, in applied order
        self._block_ts: OrderedDict[int, int] = OrderedDict()  # height -> timestamp (ns)
        self._window: deque[tuple[int, str]] = deque()  # (height, hash) of recent blocks
        self._hash_heights: dict[str, int] = {}
        self._seq = 0  # number of the last applied change
        self._journal_lines = 0
        self._journal: Any = None
        self.state_path.parent.mkdir(parents=True, exist_ok=True)
        self._lock_file = self._lock_acquire()
        try:
            self._load()
        except BaseException:
            self._lock_file.close()
            raise

    # --- persistence -------------------------------------------------------------------

    def _lock_acquire(self) -> Any:
        handle = self.state_path.with_name(self.state_path.name + ".lock").open("a+")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            raise LocalNetStateError(
                f"state {self.state_path} is in use by another localnet process"
            ) from None
        return handle

    def _load(self) -> None:
        if self.state_path.exists():
            try:
                snapshot = json.loads(self.state_path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise LocalNetStateError(f"state {self.state_path} is unreadable: {exc}") from exc
            if not isinstance(snapshot, dict) or snapshot.get("format") != STATE_FORMAT:
                raise LocalNetStateError(f"state {self.state_path} has an unknown format")
            self._snapshot_restore(snapshot)
            replayed = self._journal_replay()
            log.info(
                "localnet state loaded from %s: height %s, %s accounts, %s txs, %s replayed",
                self.state_path,
                self.head_height,
                len(self._accounts),
                len(self._txs),
                replayed,
            )
        else:
            self.chain_id = CHAIN_ID
            self._seed = secrets.token_bytes(32)
            now = self._clock()
            self.genesis_height = 1
            self.genesis_timestamp = now
            self.head_height = 1
            self.head_timestamp = now
            self._block_ts[1] = now
            self._minted = 0
            self._burnt = 0
            log.info("localnet state created at %s (fresh chain)", self.state_path)
        self._window_rebuild()
        # Fold the journal into a fresh snapshot, then append from an empty journal.
        self._snapshot_write()

    def _snapshot_restore(self, snapshot: dict[str, Any]) -> None:
        try:
            self.chain_id = snapshot["chain_id"]
            self._seed = bytes.fromhex(snapshot["seed"])
            self.genesis_height = int(snapshot["genesis_height"])
            self.genesis_timestamp = int(snapshot["genesis_timestamp"])
            self.head_height = int(snapshot["head"]["height"])
            self.head_timestamp = int(snapshot["head"]["timestamp"])
            self._seq = int(snapshot["seq"])
            self._minted = int(snapshot["minted"])
            self._burnt = int(snapshot["burnt"])
            for height, ts in snapshot["block_ts"]:
                self._block_ts[int(height)] = int(ts)
            self._accounts = {
                account_id: _account_from_json(data)
                for account_id, data in snapshot["accounts"].items()
            }
            for record in snapshot["txs"]:
                self._txs[record["hash"]] = record
        except (KeyError, TypeError, ValueError) as exc:
            raise LocalNetStateError(f"state {self.state_path} is malformed: {exc!r}") from exc

    def _journal_replay(self) -> int:
        if not self.journal_path.exists():
            return 0
        lines = self.journal_path.read_text(encoding="utf-8").splitlines()
        replayed = 0
        for number, line in enumerate(lines, start=1):
            try:
                entry = json.loads(line)
            except ValueError:
                if number == len(lines):
                    # A crash mid-append leaves a torn last line: that change was never
                    # acknowledged, so dropping it is correct.
                    log.warning("localnet journal %s: torn last line dropped", self.journal_path)
                    break
                raise LocalNetStateError(
                    f"journal {self.journal_path} line {number} is corrupt"
                ) from None
            if entry["seq"] <= self._seq:
                continue  # already folded into the snapshot
            if entry["seq"] != self._seq + 1:
                raise LocalNetStateError(
                    f"journal {self.journal_path} skips from change {self._seq} to {entry['seq']}"
                )
            self._entry_apply(entry)
            replayed += 1
        return replayed

    def _entry_apply(self, entry: dict[str, Any]) -> None:
        self._seq = entry["seq"]
        height, ts = entry["head"]
        self.head_height, self.head_timestamp = int(height), int(ts)
        self._block_ts_add(self.head_height, self.head_timestamp)
        for account_id, data in entry["accounts"].items():
            self._accounts[account_id] = _account_from_json(data)
        if entry.get("tx") is not None:
            self._txs[entry["tx"]["hash"]] = entry["tx"]
        self._minted, self._burnt = int(entry["totals"][0]), int(entry["totals"][1])

    def _snapshot(self) -> dict[str, Any]:
        return {
            "format": STATE_FORMAT,
            "note": "nearlabel localnet state - a local test chain, not NEAR",
            "chain_id": self.chain_id,
            "seed": self._seed.hex(),
            "genesis_height": self.genesis_height,
            "genesis_timestamp": self.genesis_timestamp,
            "head": {"height": self.head_height, "timestamp": self.head_timestamp},
            "seq": self._seq,
            "minted": str(self._minted),
            "burnt": str(self._burnt),
            "block_ts": [[h, ts] for h, ts in self._block_ts.items()],
            "accounts": {a: _account_json(acc) for a, acc in self._accounts.items()},
            "txs": list(self._txs.values()),
        }

    def _snapshot_write(self) -> None:
        data = json.dumps(self._snapshot(), separators=(",", ":"))
        fd, tmp_name = tempfile.mkstemp(
            prefix=f".{self.state_path.name}.", suffix=".tmp", dir=self.state_path.parent
        )
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp_name, self.state_path)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
        # Only now is the journal redundant (its entries have seq <= the snapshot's).
        if self._journal is not None:
            self._journal.close()
        self._journal = self.journal_path.open("w", encoding="utf-8")
        self._journal_lines = 0

    def _commit(self, *, accounts: list[str], tx: dict[str, Any] | None) -> None:
        """Persist one applied change (already in memory) before it is acknowledged."""
        self._seq += 1
        entry = {
            "seq": self._seq,
            "head": [self.head_height, self.head_timestamp],
            "accounts": {a: _account_json(self._accounts[a]) for a in accounts},
            "tx": tx,
            "totals": [str(self._minted), str(self._burnt)],
        }
        self._journal.write(json.dumps(entry, separators=(",", ":")) + "\n")
        self._journal.flush()
        if self._fsync:
            os.fsync(self._journal.fileno())
        self._journal_lines += 1
        if self._journal_lines >= self._compact_every:
            self._snapshot_write()

    def close(self) -> None:
        """Write a final snapshot and release the state lock. Repeat calls do nothing."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            try:
                self._snapshot_write()
            finally:
                if self._journal is not None:
                    self._journal.close()
                self._lock_file.close()
        log.info("localnet state saved to %s at height %s", self.state_path, self.head_height)

    # --- blocks ------------------------------------------------------------------------

    def _block_hash(self, height: int) -> str:
        return _b58(hashlib.sha256(self._seed + height.to_bytes(8, "little")).digest())

    def _block_ts_add(self, height: int, ts: int) -> None:
        self._block_ts[height] = ts
        while len(self._block_ts) > BLOCK_TIMESTAMPS_KEPT:
            self._block_ts.popitem(last=False)

    def _window_rebuild(self) -> None:
        self._window.clear()
        self._hash_heights.clear()
        start = max(self.genesis_height, self.head_height - self.validity_period)
        for height in range(start, self.head_height + 1):
            block_hash = self._block_hash(height)
            self._window.append((height, block_hash))
            self._hash_heights[block_hash] = height

    def _window_extend(self, old_head: int) -> None:
        start = max(old_head + 1, self.head_height - self.validity_period)
        for height in range(start, self.head_height + 1):
            block_hash = self._block_hash(height)
            self._window.append((height, block_hash))
            self._hash_heights[block_hash] = height
        while self._window and self._window[0][0] < self.head_height - self.validity_period:
            _, block_hash = self._window.popleft()
            del self._hash_heights[block_hash]

    def _block_produce(self, *, heights: int = 1, advance_ns: int = 0) -> None:
        old_head = self.head_height
        self.head_height += heights
        self.head_timestamp = max(self._clock(), self.head_timestamp + max(1, advance_ns))
        self._block_ts_add(self.head_height, self.head_timestamp)
        self._window_extend(old_head)

    @property
    def head_hash(self) -> str:
        # The window always ends with the head; base58 is slow enough to be worth not redoing.
        return self._window[-1][1]

    def _block_timestamp(self, height: int) -> int | None:
        """Timestamp of a block: its own, or that of the last recorded block before it
        (heights skipped by fast-forward); None once older than the kept history."""
        if height in self._block_ts:
            return self._block_ts[height]
        heights = list(self._block_ts)
        index = bisect.bisect_right(heights, height) - 1
        return self._block_ts[heights[index]] if index >= 0 else None

    def _block_resolve(self, params: dict[str, Any]) -> int:
        """The height a block reference ({"finality"} | {"block_id"}) names."""
        if "block_id" in params and params["block_id"] is not None:
            block_id = params["block_id"]
            if isinstance(block_id, bool) or not isinstance(block_id, int | str):
                raise _parse_error("Failed parsing args: block_id must be a height or a hash")
            if isinstance(block_id, int):
                height = block_id
                if not self.genesis_height <= height <= self.head_height:
                    raise _unknown_block(block_id)
            else:
                found = self._hash_heights.get(block_id)
                if found is None:
                    raise _unknown_block(block_id)
                height = found
            if self._block_timestamp(height) is None:
                raise _unknown_block(block_id)
            return height
        finality = params.get("finality", "final")
        if finality not in FINALITIES:
            raise _parse_error(f"Failed parsing args: unknown finality {finality!r}")
        return self.head_height

    def _block_view(self, height: int) -> dict[str, Any]:
        ts = self._block_timestamp(height) or self.head_timestamp
        block_hash = self._block_hash(height)
        prev_height = max(self.genesis_height, height - 1)
        zero = EMPTY_CODE_HASH
        return {
            "author": "localnet",
            "header": {
                "height": height,
                "prev_height": prev_height if height > self.genesis_height else None,
                "epoch_id": zero,
                "next_epoch_id": zero,
                "hash": block_hash,
                "prev_hash": self._block_hash(prev_height)
                if height > self.genesis_height
                else zero,
                "prev_state_root": zero,
                "chunk_receipts_root": zero,
                "chunk_headers_root": zero,
                "chunk_tx_root": zero,
                "outcome_root": zero,
                "chunks_included": 0,
                "challenges_root": zero,
                "timestamp": ts,
                "timestamp_nanosec": str(ts),
                "random_value": zero,
                "validator_proposals": [],
                "chunk_mask": [],
                "gas_price": str(GAS_PRICE),
                "block_ordinal": height - self.genesis_height + 1,
                "rent_paid": "0",
                "validator_reward": "0",
                "total_supply": str(self._minted - self._burnt),
                "challenges_result": [],
                "last_final_block": block_hash,
                "last_ds_final_block": block_hash,
                "next_bp_hash": zero,
                "block_merkle_root": zero,
                "epoch_sync_data_hash": None,
                "approvals": [],
                "signature": "ed25519:" + "1" * 64,
                "latest_protocol_version": PROTOCOL_VERSION,
            },
            "chunks": [],
        }

    # --- dispatch ----------------------------------------------------------------------

    def handle(self, method: str, params: Any) -> RpcReply:
        """Answer one JSON-RPC call as the HTTP layer should, applying injected faults.

        Returns an RpcReply (never raises for a bad request; internal bugs become
        INTERNAL_ERROR). Repeat calls behave like repeat requests to a node.
        """
        fault = self._fault_take(method)
        if fault is not None:
            log.warning("localnet fault %s injected into %s", fault["fault"], method)
            name = fault["fault"]
            if name == "http_500":
                failure = _internal_error("injected fault: http_500")
                return RpcReply(failure.http_status, {"error": failure.error})
            if name == "timeout_before_apply":
                failure = _timeout_error()
                return RpcReply(failure.http_status, {"error": failure.error}, delay=fault["delay"])
            if name in ("invalid_nonce", "not_enough_balance"):
                try:
                    return RpcReply(HTTP_OK, {"result": self._fault_refuse(name, method, params)})
                except RpcFailure as failure:
                    return RpcReply(failure.http_status, {"error": failure.error})
        try:
            reply = RpcReply(HTTP_OK, {"result": self.rpc(method, params)})
        except RpcFailure as failure:
            reply = RpcReply(failure.http_status, {"error": failure.error})
        except Exception as exc:  # a bug here must not kill the server thread
            log.exception("localnet %s failed", method)
            failure = _internal_error(f"{type(exc).__name__}: {exc}")
            reply = RpcReply(failure.http_status, {"error": failure.error})
        if fault is not None and fault["fault"] == "drop_response_after_apply":
            reply.drop = True
        return reply

    def rpc(self, method: str, params: Any) -> Any:
        """The result of one JSON-RPC call (no faults). Raises RpcFailure for an error answer.

        Read methods have no effect; send methods apply a transaction at most once per hash.
        """
        handler = self._methods().get(method)
        if handler is None:
            raise _method_not_found(method)
        with self._lock:
            if self._closed:
                raise _internal_error("localnet is shutting down")
            return handler(params)

    def _methods(self) -> dict[str, Callable[[Any], Any]]:
        return {
            "status": lambda _params: self._status(),
            "block": self._rpc_block,
            "gas_price": lambda _params: {"gas_price": str(GAS_PRICE)},
            "EXPERIMENTAL_genesis_config": lambda _params: self._genesis_config(),
            "query": self._rpc_query,
            "send_tx": self._rpc_send_tx,
            "broadcast_tx_commit": self._rpc_broadcast_tx_commit,
            "broadcast_tx_async": self._rpc_broadcast_tx_async,
            "tx": lambda params: self._rpc_tx(params, with_receipts=False),
            "EXPERIMENTAL_tx_status": lambda params: self._rpc_tx(params, with_receipts=True),
            "sandbox_create_account": self._rpc_create_account,
            "sandbox_add_key": self._rpc_add_key,
            "sandbox_fast_forward": self._rpc_fast_forward,
            "sandbox_fault": self._rpc_fault,
            "sandbox_clear_faults": self._rpc_clear_faults,
            "sandbox_set_finality": self._rpc_set_finality,
            "sandbox_transfers": lambda _params: self._transfers(),
            "sandbox_state": lambda _params: self._state_view(),
        }

    # --- views -------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """The ``status`` answer (also served at GET /status). Read-only."""
        with self._lock:
            return self._status()

    def _status(self) -> dict[str, Any]:
        genesis_hash = self._block_hash(self.genesis_height)
        return {
            "chain_id": self.chain_id,
            "genesis_hash": genesis_hash,
            "latest_protocol_version": PROTOCOL_VERSION,
            "protocol_version": PROTOCOL_VERSION,
            "node_key": None,
            "node_public_key": "ed25519:11111111111111111111111111111111",
            "rpc_addr": None,
            "validator_account_id": None,
            "validators": [],
            "sync_info": {
                "latest_block_hash": self.head_hash,
                "latest_block_height": self.head_height,
                "latest_block_time": _rfc3339(self.head_timestamp),
                "latest_state_root": EMPTY_CODE_HASH,
                "earliest_block_hash": genesis_hash,
                "earliest_block_height": self.genesis_height,
                "earliest_block_time": _rfc3339(self.genesis_timestamp),
                "syncing": False,
                "epoch_id": EMPTY_CODE_HASH,
                "epoch_start_height": self.genesis_height,
            },
            "version": {"version": VERSION, "build": "localnet", "rustc_version": ""},
            "uptime_sec": 0,
        }

    def _genesis_config(self) -> dict[str, Any]:
        return {
            "chain_id": self.chain_id,
            "genesis_height": self.genesis_height,
            "genesis_time": _rfc3339(self.genesis_timestamp),
            "min_gas_price": str(GAS_PRICE),
            "max_gas_price": str(GAS_PRICE),
            "transaction_validity_period": self.validity_period,
            "protocol_version": PROTOCOL_VERSION,
        }

    def _rpc_block(self, params: Any) -> dict[str, Any]:
        named = _named(params, ("block_id",))
        return self._block_view(self._block_resolve(named))

    def _rpc_query(self, params: Any) -> dict[str, Any]:
        if isinstance(params, list):
            # Legacy path form: ["account/<id>", ""] or ["access_key/<id>/<public key>", ""].
            path = params[0] if params and isinstance(params[0], str) else ""
            parts = path.split("/")
            if len(parts) == 2 and parts[0] == "account":
                named: dict[str, Any] = {"request_type": "view_account", "account_id": parts[1]}
            elif len(parts) == 3 and parts[0] == "access_key":
                named = {
                    "request_type": "view_access_key",
                    "account_id": parts[1],
                    "public_key": parts[2],
                }
            else:
                raise _parse_error(f"Failed parsing args: unsupported query path {path!r}")
        elif isinstance(params, dict):
            named = params
        else:
            raise _parse_error("Failed parsing args: query needs an object")
        height = self._block_resolve(named)
        block = {"block_height": height, "block_hash": self._block_hash(height)}
        request_type = named.get("request_type")
        if request_type == "view_account":
            account_id = _account_param(named, "account_id")
            account = self._accounts.get(account_id)
            if account is None:
                raise _handler_error(
                    "UNKNOWN_ACCOUNT",
                    {"requested_account_id": account_id, **block},
                    f"account {account_id} does not exist while viewing",
                )
            return {
                "amount": str(account["amount"]),
                "locked": "0",
                "code_hash": EMPTY_CODE_HASH,
                "storage_usage": account["storage_usage"],
                "storage_paid_at": 0,
                **block,
            }
        if request_type == "view_access_key":
            account_id = _account_param(named, "account_id")
            public_key = _public_key_param(named, "public_key")
            account = self._accounts.get(account_id)
            if account is None:
                raise _handler_error(
                    "UNKNOWN_ACCOUNT",
                    {"requested_account_id": account_id, **block},
                    f"account {account_id} does not exist while viewing",
                )
            access_key = account["keys"].get(public_key)
            if access_key is None:
                # nearcore's legacy answer for a missing key is a *result* with an error text.
                return {
                    "error": f"access key {public_key} does not exist while viewing",
                    "logs": [],
                    **block,
                }
            return {"nonce": access_key["nonce"], "permission": access_key["permission"], **block}
        if request_type == "view_access_key_list":
            account_id = _account_param(named, "account_id")
            account = self._accounts.get(account_id)
            if account is None:
                raise _handler_error(
                    "UNKNOWN_ACCOUNT",
                    {"requested_account_id": account_id, **block},
                    f"account {account_id} does not exist while viewing",
                )
            return {
                "keys": [
                    {"public_key": pk, "access_key": dict(ak)} for pk, ak in account["keys"].items()
                ],
                **block,
            }
        raise _parse_error(f"Failed parsing args: unsupported request_type {request_type!r}")

    # --- transactions ------------------------------------------------------------------

    def _rpc_send_tx(self, params: Any) -> dict[str, Any]:
        named = _named(params, ("signed_tx_base64", "wait_until"))
        wait_until = named.get("wait_until", "EXECUTED_OPTIMISTIC")
        if wait_until not in WAIT_UNTIL:
            raise _parse_error(f"Failed parsing args: unknown wait_until {wait_until!r}")
        signed = _decode_b64_tx(named.get("signed_tx_base64"))
        if wait_until == "NONE":
            # nearcore hands the tx over without waiting and reports no validation error.
            self._tx_submit_quietly(signed)
            return {"final_execution_status": "NONE"}
        record = self._tx_submit(signed)
        return self._tx_result(record, with_receipts=False)

    def _rpc_broadcast_tx_commit(self, params: Any) -> dict[str, Any]:
        encoded = _named(params, ("signed_tx_base64",)).get("signed_tx_base64")
        record = self._tx_submit(_decode_b64_tx(encoded))
        return self._tx_result(record, with_receipts=False)

    def _rpc_broadcast_tx_async(self, params: Any) -> str:
        encoded = _named(params, ("signed_tx_base64",)).get("signed_tx_base64")
        signed = _decode_b64_tx(encoded)
        self._tx_submit_quietly(signed)
        return signed.hash

    def _tx_submit_quietly(self, signed: borsh.SignedTransaction) -> None:
        try:
            self._tx_submit(signed)
        except RpcFailure as failure:
            log.info("localnet dropped tx %s: %s", signed.hash, failure)

    def _rpc_tx(self, params: Any, *, with_receipts: bool) -> dict[str, Any]:
        named = _named(params, ("tx_hash", "sender_account_id"))
        wait_until = named.get("wait_until", "EXECUTED_OPTIMISTIC")
        if wait_until not in WAIT_UNTIL:
            raise _parse_error(f"Failed parsing args: unknown wait_until {wait_until!r}")
        if "signed_tx_base64" in named:
            signed = _decode_b64_tx(named["signed_tx_base64"])
            tx_hash, sender = signed.hash, signed.transaction.signer_id
        else:
            tx_hash = _str_param(named, "tx_hash")
            sender = _account_param(named, "sender_account_id")
            try:
                valid_hash = len(base58.b58decode(tx_hash.encode("ascii"))) == 32
            except ValueError:
                valid_hash = False
            if not valid_hash:
                raise _parse_error(f"Failed parsing args: invalid tx_hash {tx_hash!r}")
        record = self._txs.get(tx_hash)
        if record is None or record["signer_id"] != sender:
            raise _handler_error(
                "UNKNOWN_TRANSACTION",
                {"requested_transaction_hash": tx_hash},
                f"Transaction {tx_hash} doesn't exist",
            )
        if wait_until == "NONE":
            return {"final_execution_status": "NONE"}
        return self._tx_result(record, with_receipts=with_receipts)

    def _tx_result(self, record: dict[str, Any], *, with_receipts: bool) -> dict[str, Any]:
        final = self.head_height - int(record["height"]) >= self.finality_blocks
        status = "FINAL" if final else "EXECUTED_OPTIMISTIC"
        result = {**record["result"], "final_execution_status": status}
        if with_receipts:
            result["receipts"] = record["receipts"]
        return result

    def _tx_validate(
        self, signed: borsh.SignedTransaction
    ) -> tuple[dict[str, Any], dict[str, Any], int, int, int]:
        """(signer account, access key, gas at send, gas at exec, total deposit), or raise
        the InvalidTxError nearcore would give, checked in nearcore's order."""
        tx = signed.transaction
        unsupported = [a for a in tx.actions if not isinstance(a, borsh.Transfer)]
        if unsupported:
            raise _parse_error(
                "localnet executes only Transfer actions, got "
                + ", ".join(sorted({type(a).__name__ for a in unsupported}))
            )
        height = self._hash_heights.get(tx.block_hash_b58)
        if height is None or self.head_height - height > self.validity_period:
            raise _invalid_tx("Expired")
        if signed.signature.key_type != borsh.KEY_TYPE_ED25519 or (
            tx.public_key.key_type != borsh.KEY_TYPE_ED25519
        ):
            raise _invalid_tx("InvalidSignature")
        try:
            nacl.signing.VerifyKey(tx.public_key.data).verify(
                signed.hash_bytes, signed.signature.data
            )
        except (nacl.exceptions.BadSignatureError, ValueError):
            raise _invalid_tx("InvalidSignature") from None
        signer = self._accounts.get(tx.signer_id)
        if signer is None:
            raise _invalid_tx({"SignerDoesNotExist": {"signer_id": tx.signer_id}})
        public_key = str(tx.public_key)
        access_key = signer["keys"].get(public_key)
        if access_key is None:
            raise _invalid_tx(
                {
                    "InvalidAccessKeyError": {
                        "AccessKeyNotFound": {"account_id": tx.signer_id, "public_key": public_key}
                    }
                }
            )
        if tx.nonce <= access_key["nonce"]:
            raise _invalid_tx(
                {"InvalidNonce": {"tx_nonce": tx.nonce, "ak_nonce": access_key["nonce"]}}
            )
        upper_bound = self.head_height * NONCE_RANGE_MULTIPLIER
        if tx.nonce >= upper_bound:
            raise _invalid_tx({"NonceTooLarge": {"tx_nonce": tx.nonce, "upper_bound": upper_bound}})
        transfer_gas = sum(_transfer_gas(tx.receiver_id) for _ in tx.actions)
        gas_send = FEE_ACTION_RECEIPT_CREATION + transfer_gas
        gas_exec = FEE_ACTION_RECEIPT_CREATION + transfer_gas
        deposit = sum(a.deposit for a in tx.actions if isinstance(a, borsh.Transfer))
        cost = (gas_send + gas_exec) * GAS_PRICE + deposit
        if signer["amount"] < cost:
            raise _invalid_tx(
                {
                    "NotEnoughBalance": {
                        "signer_id": tx.signer_id,
                        "balance": str(signer["amount"]),
                        "cost": str(cost),
                    }
                }
            )
        if access_key["permission"] != "FullAccess":
            # A function-call key may only sign a single FunctionCall action.
            raise _invalid_tx({"InvalidAccessKeyError": "RequiresFullAccess"})
        return signer, access_key, gas_send, gas_exec, deposit

    def _tx_submit(self, signed: borsh.SignedTransaction) -> dict[str, Any]:
        """Apply ``signed`` once; a re-send of an applied hash returns the stored record."""
        existing = self._txs.get(signed.hash)
        if existing is not None:
            log.info("localnet tx %s already applied: answering its outcome", signed.hash)
            return existing
        signer, access_key, gas_send, gas_exec, deposit = self._tx_validate(signed)
        tx = signed.transaction
        # Charge, bump the nonce, produce the block that includes the tx and its receipt.
        signer["amount"] -= (gas_send + gas_exec) * GAS_PRICE + deposit
        access_key["nonce"] = tx.nonce
        self._burnt += (gas_send + gas_exec) * GAS_PRICE
        self._block_produce()
        block_hash = self.head_hash
        touched = [tx.signer_id]
        receiver = self._accounts.get(tx.receiver_id)
        failure: dict[str, Any] | None = None
        if receiver is None and account_id_is_implicit(tx.receiver_id):
            public_key = public_key_from_bytes(bytes.fromhex(tx.receiver_id))
            receiver = {
                "amount": 0,
                "storage_usage": STORAGE_ACCOUNT_BYTES + STORAGE_KEY_BYTES,
                "keys": {
                    public_key: {
                        "nonce": (self.head_height - 1) * NONCE_RANGE_MULTIPLIER,
                        "permission": "FullAccess",
                    }
                },
            }
            self._accounts[tx.receiver_id] = receiver
        elif receiver is None and account_id_is_eth_implicit(tx.receiver_id):
            receiver = {"amount": 0, "storage_usage": STORAGE_ACCOUNT_BYTES, "keys": {}}
            self._accounts[tx.receiver_id] = receiver
        if receiver is None:
            failure = {
                "ActionError": {
                    "index": 0,
                    "kind": {"AccountDoesNotExist": {"account_id": tx.receiver_id}},
                }
            }
            signer["amount"] += deposit  # NEAR refunds the deposit with a refund receipt
        else:
            receiver["amount"] += deposit
            if tx.receiver_id not in touched:
                touched.append(tx.receiver_id)
        record = self._tx_record(signed, block_hash, gas_send, gas_exec, deposit, failure)
        self._txs[signed.hash] = record
        self._commit(accounts=touched, tx=record)
        log.debug(
            "localnet applied tx %s %s -> %s %s yocto at height %s (%s)",
            signed.hash,
            tx.signer_id,
            tx.receiver_id,
            deposit,
            self.head_height,
            "failed" if failure else "ok",
        )
        return record

    def _tx_record(
        self,
        signed: borsh.SignedTransaction,
        block_hash: str,
        gas_send: int,
        gas_exec: int,
        deposit: int,
        failure: dict[str, Any] | None,
    ) -> dict[str, Any]:
        tx = signed.transaction
        tx_hash = signed.hash
        receipt_id = _derived_id(signed.hash_bytes, 0)
        refund_id = _derived_id(signed.hash_bytes, 1)
        actions = [borsh.action_view(a) for a in tx.actions]
        metadata = {"version": 1, "gas_profile": None}
        tx_outcome = {
            "proof": [],
            "block_hash": block_hash,
            "id": tx_hash,
            "outcome": {
                "logs": [],
                "receipt_ids": [receipt_id],
                "gas_burnt": gas_send,
                "tokens_burnt": str(gas_send * GAS_PRICE),
                "executor_id": tx.signer_id,
                "status": {"SuccessReceiptId": receipt_id},
                "metadata": metadata,
            },
        }
        receipt_outcome = {
            "proof": [],
            "block_hash": block_hash,
            "id": receipt_id,
            "outcome": {
                "logs": [],
                "receipt_ids": [refund_id] if failure else [],
                "gas_burnt": gas_exec,
                "tokens_burnt": str(gas_exec * GAS_PRICE),
                "executor_id": tx.receiver_id,
                "status": {"Failure": failure} if failure else {"SuccessValue": ""},
                "metadata": {"version": 3, "gas_profile": []},
            },
        }
        receipts_outcome = [receipt_outcome]
        action_receipt = {
            "signer_id": tx.signer_id,
            "signer_public_key": str(tx.public_key),
            "gas_price": str(GAS_PRICE),
            "output_data_receivers": [],
            "input_data_ids": [],
            "actions": actions,
            "is_promise_yield": False,
        }
        receipts = [
            {
                "predecessor_id": tx.signer_id,
                "receiver_id": tx.receiver_id,
                "receipt_id": receipt_id,
                "receipt": {"Action": action_receipt},
                "priority": 0,
            }
        ]
        if failure:
            receipts_outcome.append(
                {
                    "proof": [],
                    "block_hash": block_hash,
                    "id": refund_id,
                    "outcome": {
                        "logs": [],
                        "receipt_ids": [],
                        "gas_burnt": 0,  # refunds come from "system" and burn nothing
                        "tokens_burnt": "0",
                        "executor_id": tx.signer_id,
                        "status": {"SuccessValue": ""},
                        "metadata": {"version": 3, "gas_profile": []},
                    },
                }
            )
            receipts.append(
                {
                    "predecessor_id": "system",
                    "receiver_id": tx.signer_id,
                    "receipt_id": refund_id,
                    "receipt": {
                        "Action": {
                            **action_receipt,
                            "signer_id": tx.signer_id,
                            "gas_price": "0",
                            "actions": [{"Transfer": {"deposit": str(deposit)}}],
                        }
                    },
                    "priority": 0,
                }
            )
        result = {
            "status": {"Failure": failure} if failure else {"SuccessValue": ""},
            "transaction": {
                "signer_id": tx.signer_id,
                "public_key": str(tx.public_key),
                "nonce": tx.nonce,
                "receiver_id": tx.receiver_id,
                "actions": actions,
                "priority_fee": 0,
                "signature": str(signed.signature),
                "hash": tx_hash,
            },
            "transaction_outcome": tx_outcome,
            "receipts_outcome": receipts_outcome,
        }
        return {
            "hash": tx_hash,
            "signer_id": tx.signer_id,
            "height": self.head_height,
            "result": result,
            "receipts": receipts,
        }

    # --- admin (sandbox_*) --------------------------------------------------------------

    def _rpc_create_account(self, params: Any) -> dict[str, Any]:
        named = _named(params, ("account_id", "public_key", "amount"))
        account_id = _account_param(named, "account_id")
        public_key = (
            _public_key_param(named, "public_key") if named.get("public_key") is not None else None
        )
        amount = _amount_param(named, "amount")
        if account_id in self._accounts:
            raise _handler_error(
                "ACCOUNT_ALREADY_EXISTS",
                {"account_id": account_id},
                f"account {account_id} already exists",
            )
        self._block_produce()
        keys: dict[str, Any] = {}
        if public_key is not None:
            keys[public_key] = {
                "nonce": (self.head_height - 1) * NONCE_RANGE_MULTIPLIER,
                "permission": "FullAccess",
            }
        self._accounts[account_id] = {
            "amount": amount,
            "storage_usage": STORAGE_ACCOUNT_BYTES + STORAGE_KEY_BYTES * len(keys),
            "keys": keys,
        }
        self._minted += amount
        self._commit(accounts=[account_id], tx=None)
        log.info("localnet faucet created %s with %s yocto", account_id, amount)
        return {
            "account_id": account_id,
            "amount": str(amount),
            "block_height": self.head_height,
            "block_hash": self.head_hash,
        }

    def _rpc_add_key(self, params: Any) -> dict[str, Any]:
        named = _named(params, ("account_id", "public_key", "permission"))
        account_id = _account_param(named, "account_id")
        public_key = _public_key_param(named, "public_key")
        permission = _permission_param(named.get("permission"))
        account = self._accounts.get(account_id)
        if account is None:
            raise _handler_error(
                "UNKNOWN_ACCOUNT",
                {
                    "requested_account_id": account_id,
                    "block_height": self.head_height,
                    "block_hash": self.head_hash,
                },
                f"account {account_id} does not exist while viewing",
            )
        if public_key in account["keys"]:
            raise _handler_error(
                "ACCESS_KEY_ALREADY_EXISTS",
                {"account_id": account_id, "public_key": public_key},
                f"access key {public_key} already exists on {account_id}",
            )
        self._block_produce()
        account["keys"][public_key] = {
            "nonce": (self.head_height - 1) * NONCE_RANGE_MULTIPLIER,
            "permission": permission,
        }
        account["storage_usage"] += STORAGE_KEY_BYTES
        self._commit(accounts=[account_id], tx=None)
        return {
            "account_id": account_id,
            "public_key": public_key,
            "block_height": self.head_height,
            "block_hash": self.head_hash,
        }

    def _rpc_fast_forward(self, params: Any) -> dict[str, Any]:
        named = _named(params, ("delta_height",))
        delta = named.get("delta_height")
        if isinstance(delta, bool) or not isinstance(delta, int) or delta < 1:
            raise _parse_error("Failed parsing args: delta_height must be a positive integer")
        # Skipped heights count as produced, each ~1 s apart, so block hashes age out.
        self._block_produce(heights=delta, advance_ns=delta * 1_000_000_000)
        self._commit(accounts=[], tx=None)
        log.info("localnet fast-forwarded %s blocks to height %s", delta, self.head_height)
        return {}

    def _rpc_set_finality(self, params: Any) -> dict[str, Any]:
        """How many blocks a transaction waits to be reported FINAL (in memory only)."""
        blocks = _named(params, ("blocks",)).get("blocks")
        if isinstance(blocks, bool) or not isinstance(blocks, int) or blocks < 0:
            raise _parse_error("Failed parsing args: blocks must be a non-negative integer")
        self.finality_blocks = blocks
        return {"finality_blocks": blocks}

    def _rpc_fault(self, params: Any) -> dict[str, Any]:
        named = _named(params, ("fault", "count", "method"))
        name = named.get("fault")
        if name not in FAULTS:
            raise _parse_error(f"Failed parsing args: fault must be one of {sorted(FAULTS)}")
        count = named.get("count", 1)
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise _parse_error("Failed parsing args: count must be a positive integer")
        method = named.get("method")
        if method is None:
            methods = list(SEND_METHODS)
        elif isinstance(method, str):
            methods = [method]
        elif isinstance(method, list) and all(isinstance(m, str) for m in method):
            methods = list(method)
        else:
            raise _parse_error("Failed parsing args: method must be a string or list of strings")
        delay = named.get("delay", DEFAULT_FAULT_DELAY)
        if isinstance(delay, bool) or not isinstance(delay, int | float) or delay < 0:
            raise _parse_error("Failed parsing args: delay must be a non-negative number")
        self._faults.append(
            {"fault": name, "count": count, "methods": methods, "delay": float(delay)}  # seconds
        )
        return {"faults": [dict(f) for f in self._faults]}

    def _rpc_clear_faults(self, _params: Any) -> dict[str, Any]:
        cleared = len(self._faults)
        self._faults.clear()
        return {"cleared": cleared}

    def _fault_take(self, method: str) -> dict[str, Any] | None:
        with self._lock:
            for fault in self._faults:
                if method in fault["methods"]:
                    fault["count"] -= 1
                    if fault["count"] <= 0:
                        self._faults.remove(fault)
                    return dict(fault)
        return None

    def _fault_refuse(self, name: str, method: str, params: Any) -> Any:
        """Refuse the transaction in ``params`` as ``name`` without applying it."""
        with self._lock:
            if method == "send_tx":
                named = _named(params, ("signed_tx_base64", "wait_until"))
                quiet = named.get("wait_until", "EXECUTED_OPTIMISTIC") == "NONE"
            else:
                named = _named(params, ("signed_tx_base64",))
                quiet = method == "broadcast_tx_async"
            signed = _decode_b64_tx(named.get("signed_tx_base64"))
            tx = signed.transaction
            if quiet:
                # Async sends never report validity: the tx is silently dropped.
                return (
                    signed.hash
                    if method == "broadcast_tx_async"
                    else {"final_execution_status": "NONE"}
                )
            signer = self._accounts.get(tx.signer_id, {"amount": 0, "keys": {}})
            if name == "invalid_nonce":
                access_key = signer["keys"].get(str(tx.public_key), {"nonce": 0})
                raise _invalid_tx(
                    {
                        "InvalidNonce": {
                            "tx_nonce": tx.nonce,
                            "ak_nonce": max(access_key["nonce"], tx.nonce),
                        }
                    }
                )
            deposit = sum(a.deposit for a in tx.actions if isinstance(a, borsh.Transfer))
            gas = 2 * (
                FEE_ACTION_RECEIPT_CREATION + sum(_transfer_gas(tx.receiver_id) for _ in tx.actions)
            )
            raise _invalid_tx(
                {
                    "NotEnoughBalance": {
                        "signer_id": tx.signer_id,
                        "balance": str(signer["amount"]),
                        "cost": str(gas * GAS_PRICE + deposit),
                    }
                }
            )

    def _transfers(self) -> list[dict[str, Any]]:
        transfers = []
        for record in self._txs.values():
            result = record["result"]
            tx = result["transaction"]
            succeeded = "Failure" not in result["status"]
            for action in tx["actions"]:
                if isinstance(action, dict) and "Transfer" in action:
                    transfers.append(
                        {
                            "tx_hash": record["hash"],
                            "signer_id": tx["signer_id"],
                            "receiver_id": tx["receiver_id"],
                            "amount": action["Transfer"]["deposit"],
                            "succeeded": succeeded,
                            "block_height": record["height"],
                        }
                    )
        return transfers

    def _state_view(self) -> dict[str, Any]:
        return {
            "chain_id": self.chain_id,
            "head": {
                "height": self.head_height,
                "hash": self.head_hash,
                "timestamp": self.head_timestamp,
            },
            "accounts": {a: _account_json(acc) for a, acc in sorted(self._accounts.items())},
            "minted": str(self._minted),  # faucet total, yoctoNEAR
            "burnt": str(self._burnt),  # gas burnt, yoctoNEAR: balances sum to minted - burnt
            "tx_count": len(self._txs),
        }

    def handle_body(self, body: bytes) -> RpcReply:
        """Answer a raw JSON-RPC request body (one request; batches are not supported)."""
        try:
            message = json.loads(body)
        except ValueError as exc:
            failure = _parse_error(f"Invalid JSON: {exc}")
            return RpcReply(
                failure.http_status, {"jsonrpc": "2.0", "id": None, "error": failure.error}
            )
        if not isinstance(message, dict) or not isinstance(message.get("method"), str):
            failure = _parse_error("JSON RPC Request format was expected")
            return RpcReply(
                failure.http_status, {"jsonrpc": "2.0", "id": None, "error": failure.error}
            )
        reply = self.handle(message["method"], message.get("params"))
        if reply.payload is not None:
            reply.payload = {"jsonrpc": "2.0", "id": message.get("id"), **reply.payload}
        return reply


# --- HTTP ----------------------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as clients with connection pools expect
    server_version = "nearlabel-localnet"
    # Headers and body go out in separate writes: without TCP_NODELAY, Nagle + delayed ACK
    # add ~40 ms to every keep-alive request.
    disable_nagle_algorithm = True
    server: _HTTPServer

    def setup(self) -> None:
        super().setup()
        self.server.connection_track(self.connection, alive=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.connection_track(self.connection, alive=False)

    def _send_json(self, status: int, payload: Any) -> None:
        body = json.dumps(payload, separators=(",", ":")).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit():
            self.send_response(HTTP_LENGTH_REQUIRED)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        reply = self.server.chain.handle_body(self.rfile.read(int(length)))
        if reply.delay:
            time.sleep(reply.delay)
        if reply.drop:
            # The change is applied and persisted; the client just never hears about it.
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        self._send_json(reply.http_status, reply.payload)

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/status":
            self._send_json(HTTP_OK, self.server.chain.status())
        elif path == "/health":
            self._send_json(HTTP_OK, None)
        else:
            self._send_json(HTTP_NOT_FOUND, {"error": "not found"})

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("localnet http %s %s", self.address_string(), format % args)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], chain: LocalNet) -> None:
        self.chain = chain
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def connection_track(self, connection: socket.socket, *, alive: bool) -> None:
        with self._connections_lock:
            if alive:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)

    def connections_close(self) -> None:
        """Cut kept-alive connections so their handler threads end (and clients notice)."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class LocalNetServer:
    """A running localnet: ``url`` for NearClient, ``chain`` for direct inspection."""

    def __init__(self, chain: LocalNet, httpd: _HTTPServer, thread: threading.Thread) -> None:
        self.chain = chain
        self._httpd = httpd
        self._thread = thread
        host, port = httpd.server_address[:2]
        self.host = str(host)
        self.port = int(port)
        self.url = f"http://{self.host}:{self.port}"
        self._stopped = False

    def __repr__(self) -> str:
        return f"LocalNetServer(url={self.url!r}, state={str(self.chain.state_path)!r})"

    def shutdown(self) -> None:
        """Stop serving, cut open connections, save state and release it. Idempotent."""
        if self._stopped:
            return
        self._stopped = True
        self._httpd.shutdown()
        self._httpd.connections_close()
        self._httpd.server_close()
        self._thread.join(timeout=10)
        self.chain.close()
        log.info("localnet at %s stopped", self.url)

    def __enter__(self) -> LocalNetServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()


def localnet_serve(
    *,
    state_path: str | os.PathLike[str],
    host: str = "127.0.0.1",
    port: int = 0,
    transaction_validity_period: int = DEFAULT_VALIDITY_PERIOD,
    fsync: bool = True,
) -> LocalNetServer:
    """Load (or create) the chain at ``state_path`` and serve it on a background thread.

    ``port=0`` picks a free port (see ``.url``). Raises LocalNetStateError if the state is
    corrupt or already served by another process, OSError if the address is taken.
    """
    chain = LocalNet(
        state_path=state_path,
        transaction_validity_period=transaction_validity_period,
        fsync=fsync,
    )
    try:
        httpd = _HTTPServer((host, port), chain)
    except BaseException:
        chain.close()
        raise
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.2}, name="localnet", daemon=True
    )
    thread.start()
    server = LocalNetServer(chain, httpd, thread)
    log.warning(
        "nearlabel localnet: a LOCAL test chain, NOT NEAR (chain_id=%s) serving %s, state %s,"
        " height %s",
        chain.chain_id,
        server.url,
        chain.state_path,
        chain.head_height,
    )
    return server


def localnet_run(
    *,
    state_path: str | os.PathLike[str],
    host: str = "127.0.0.1",
    port: int = 3030,
    transaction_validity_period: int = DEFAULT_VALIDITY_PERIOD,
) -> None:
    """Serve in the foreground until SIGINT/SIGTERM, then save state and return."""
    server = localnet_serve(
        state_path=state_path,
        host=host,
        port=port,
        transaction_validity_period=transaction_validity_period,
    )
    stop = threading.Event()

    def _stop(signum: int, _frame: Any) -> None:
        log.info("localnet got signal %s, stopping", signum)
        stop.set()

    previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        while not stop.wait(0.5):
            pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        server.shutdown()


def main(argv: list[str] | None = None) -> None:
    """``python -m payouts.near.localnet --state var/localnet/state.json --port 3030``."""
    parser = argparse.ArgumentParser(
        description="Nearlabel localnet (a local test chain, not NEAR)"
    )
    parser.add_argument("--state", default="var/localnet/state.json", help="state file path")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=3030)
    parser.add_argument(
        "--validity-period",
        type=int,
        default=DEFAULT_VALIDITY_PERIOD,
        help="blocks a transaction's block_hash stays valid",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    localnet_run(
        state_path=args.state,
        host=args.host,
        port=args.port,
        transaction_validity_period=args.validity_period,
    )


if __name__ == "__main__":
    main()

"""Read-only answers: ``status``, ``block``, ``EXPERIMENTAL_genesis_config``, ``query``, and
the ``sandbox_transfers`` / ``sandbox_state`` inspection views.

Shapes follow core/primitives/src/views.rs (``StatusResponse``, ``BlockView``,
``AccountView``, ``AccessKeyView``) and chain/jsonrpc/src/lib.rs ``process_query_response``
(a missing access key is answered as a *result* carrying an ``error`` text, nearcore's
backwards-compatible shape). Every query answers with the current state, whatever block it
names.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from payouts.near.localnet.errors import parse_error, unknown_account, unknown_block
from payouts.near.localnet.execution import GAS_PRICE
from payouts.near.localnet.params import FINALITIES, account_param, public_key_param
from payouts.near.localnet.state import ChainState

VERSION = "nearlabel-localnet-1"
PROTOCOL_VERSION = 73  # what status reports; nothing depends on it
EMPTY_CODE_HASH = "11111111111111111111111111111111"


def _rfc3339(timestamp_ns: int) -> str:
    seconds, nanos = divmod(timestamp_ns, 1_000_000_000)
    stamp = datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{stamp}.{nanos:09d}Z"


def status_view(state: ChainState) -> dict[str, Any]:
    """The ``status`` answer (also served at GET /status)."""
    genesis_hash = state.block_hash(state.genesis_height)
    return {
        "chain_id": state.chain_id,
        "genesis_hash": genesis_hash,
        "latest_protocol_version": PROTOCOL_VERSION,
        "protocol_version": PROTOCOL_VERSION,
        "node_key": None,
        "node_public_key": "ed25519:11111111111111111111111111111111",
        "rpc_addr": None,
        "validator_account_id": None,
        "validators": [],
        "sync_info": {
            "latest_block_hash": state.head_hash,
            "latest_block_height": state.head_height,
            "latest_block_time": _rfc3339(state.head_timestamp),
            "latest_state_root": EMPTY_CODE_HASH,
            "earliest_block_hash": genesis_hash,
            "earliest_block_height": state.genesis_height,
            "earliest_block_time": _rfc3339(state.genesis_timestamp),
            "syncing": False,
            "epoch_id": EMPTY_CODE_HASH,
            "epoch_start_height": state.genesis_height,
        },
        "version": {"version": VERSION, "build": "localnet", "rustc_version": ""},
        "uptime_sec": 0,
    }


def genesis_config_view(state: ChainState) -> dict[str, Any]:
    return {
        "chain_id": state.chain_id,
        "genesis_height": state.genesis_height,
        "genesis_time": _rfc3339(state.genesis_timestamp),
        "min_gas_price": str(GAS_PRICE),
        "max_gas_price": str(GAS_PRICE),
        "transaction_validity_period": state.validity_period,
        "protocol_version": PROTOCOL_VERSION,
    }


def block_resolve(state: ChainState, params: dict[str, Any], *, final_height: int) -> int:
    """The height a block reference (``{"finality"}`` | ``{"block_id"}``) names.

    ``final_height`` is the last final block, what ``"finality": "final"`` names.
    """
    if "block_id" in params and params["block_id"] is not None:
        block_id = params["block_id"]
        if isinstance(block_id, bool) or not isinstance(block_id, int | str):
            raise parse_error("Failed parsing args: block_id must be a height or a hash")
        if isinstance(block_id, int):
            height = block_id
            if not state.genesis_height <= height <= state.head_height:
                raise unknown_block(block_id)
        else:
            found = state.recent_block_height(block_id)
            if found is None:
                raise unknown_block(block_id)
            height = found
        if state.block_timestamp(height) is None:
            raise unknown_block(block_id)
        return height
    finality = params.get("finality", "final")
    if finality not in FINALITIES:
        raise parse_error(f"Failed parsing args: unknown finality {finality!r}")
    return final_height if finality == "final" else state.head_height


def block_view(state: ChainState, height: int, *, final_height: int) -> dict[str, Any]:
    """A BlockView of ``height``; ``last_final_block`` names the final block as of now."""
    ts = state.block_timestamp(height) or state.head_timestamp
    block_hash = state.block_hash(height)
    prev_height = max(state.genesis_height, height - 1)
    final_hash = state.block_hash(min(height, final_height))
    zero = EMPTY_CODE_HASH
    return {
        "author": "localnet",
        "header": {
            "height": height,
            "prev_height": prev_height if height > state.genesis_height else None,
            "epoch_id": zero,
            "next_epoch_id": zero,
            "hash": block_hash,
            "prev_hash": state.block_hash(prev_height) if height > state.genesis_height else zero,
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
            "block_ordinal": height - state.genesis_height + 1,
            "rent_paid": "0",
            "validator_reward": "0",
            "total_supply": str(state.minted - state.burnt),
            "challenges_result": [],
            "last_final_block": final_hash,
            "last_ds_final_block": final_hash,
            "next_bp_hash": zero,
            "block_merkle_root": zero,
            "epoch_sync_data_hash": None,
            "approvals": [],
            "signature": "ed25519:" + "1" * 64,
            "latest_protocol_version": PROTOCOL_VERSION,
        },
        "chunks": [],
    }


def query_view(state: ChainState, params: Any, *, final_height: int) -> dict[str, Any]:
    """``query``: view_account, view_access_key, view_access_key_list (and the legacy
    ``["account/<id>", ""]`` / ``["access_key/<id>/<key>", ""]`` path forms)."""
    if isinstance(params, list):
        path = params[0] if params and isinstance(params[0], str) else ""
        parts = path.split("/")
        if len(parts) == 2 and parts[0] == "account":
            request: dict[str, Any] = {"request_type": "view_account", "account_id": parts[1]}
        elif len(parts) == 3 and parts[0] == "access_key":
            request = {
                "request_type": "view_access_key",
                "account_id": parts[1],
                "public_key": parts[2],
            }
        else:
            raise parse_error(f"Failed parsing args: unsupported query path {path!r}")
    elif isinstance(params, dict):
        request = params
    else:
        raise parse_error("Failed parsing args: query needs an object")
    height = block_resolve(state, request, final_height=final_height)
    block_hash = state.block_hash(height)
    block: dict[str, Any] = {"block_height": height, "block_hash": block_hash}
    request_type = request.get("request_type")
    if request_type not in ("view_account", "view_access_key", "view_access_key_list"):
        raise parse_error(f"Failed parsing args: unsupported request_type {request_type!r}")
    account_id = account_param(request, "account_id")
    public_key = (
        public_key_param(request, "public_key") if request_type == "view_access_key" else ""
    )
    account = state.accounts.get(account_id)
    if account is None:
        raise unknown_account(account_id, block_height=height, block_hash=block_hash)
    if request_type == "view_account":
        return {
            "amount": str(account.amount),
            "locked": "0",
            "code_hash": EMPTY_CODE_HASH,
            "storage_usage": account.storage_usage,
            "storage_paid_at": 0,
            **block,
        }
    if request_type == "view_access_key":
        access_key = account.keys.get(public_key)
        if access_key is None:
            # nearcore's legacy answer for a missing key is a *result* with an error text.
            return {
                "error": f"access key {public_key} does not exist while viewing",
                "logs": [],
                **block,
            }
        return {"nonce": access_key["nonce"], "permission": access_key["permission"], **block}
    return {
        "keys": [{"public_key": pk, "access_key": dict(ak)} for pk, ak in account.keys.items()],
        **block,
    }


def transfers_view(state: ChainState) -> list[dict[str, Any]]:
    """``sandbox_transfers``: every Transfer action applied, in order, with its outcome."""
    transfers = []
    for record in state.txs.values():
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


def state_view(state: ChainState) -> dict[str, Any]:
    """``sandbox_state``: head, every account, and the supply totals (balances sum to
    minted - burnt)."""
    return {
        "chain_id": state.chain_id,
        "head": {
            "height": state.head_height,
            "hash": state.head_hash,
            "timestamp": state.head_timestamp,
        },
        "accounts": {a: acc.to_json() for a, acc in sorted(state.accounts.items())},
        "minted": str(state.minted),  # faucet total, yoctoNEAR
        "burnt": str(state.burnt),  # gas burnt, yoctoNEAR: balances sum to minted - burnt
        "tx_count": len(state.txs),
    }

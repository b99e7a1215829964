"""The node: one JSON-RPC call at a time against the chain state, with injected faults.

``LocalNet.handle(method, params)`` answers a call as the HTTP layer should (faults
included); ``LocalNet.rpc(method, params)`` is the same without faults and raises RpcFailure
for an error answer. One lock serialises every read and change of the state.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from payouts.near import borsh
from payouts.near.localnet import views
from payouts.near.localnet.errors import (
    HTTP_OK,
    RpcFailure,
    handler_error,
    internal_error,
    invalid_tx,
    method_not_found,
    parse_error,
    timeout_error,
    unknown_account,
    unknown_transaction,
)
from payouts.near.localnet.execution import (
    GAS_PRICE,
    STORAGE_ACCOUNT_BYTES,
    STORAGE_KEY_BYTES,
    initial_nonce,
    transaction_cost,
    tx_apply,
    tx_execution_status,
)
from payouts.near.localnet.faults import FaultBook, fault_parse
from payouts.near.localnet.params import (
    account_param,
    amount_param,
    named,
    permission_param,
    public_key_param,
    signed_tx_param,
    tx_hash_param,
    wait_until_param,
)
from payouts.near.localnet.state import (
    COMPACT_EVERY,
    DEFAULT_VALIDITY_PERIOD,
    AccessKey,
    Account,
    ChainState,
    TxRecord,
)

log = logging.getLogger(__name__)


@dataclass
class RpcReply:
    """What the HTTP layer should do with a request."""

    http_status: int
    payload: dict[str, Any] | None
    drop: bool = False  # close the connection without answering
    delay: float = 0.0  # seconds to wait before answering


class LocalNet:
    """A local chain answering nearcore's JSON-RPC. Thread-safe: one lock serialises every
    read and change of the state."""

    def __init__(
        self,
        *,
        state_path: str | os.PathLike[str],
        transaction_validity_period: int = DEFAULT_VALIDITY_PERIOD,
        fsync: bool = True,
        compact_every: int = COMPACT_EVERY,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        self.state = ChainState(
            state_path=state_path,
            transaction_validity_period=transaction_validity_period,
            fsync=fsync,
            compact_every=compact_every,
            clock=clock,
        )
        self._lock = threading.Lock()
        self._faults = FaultBook()  # in memory only: a restart clears them
        # Blocks after its own before a transaction counts as final (0: at once). NEAR
        # finalises in about two blocks; tests raise it to see the optimistic state.
        self.finality_blocks = 0

    # --- the state, for inspection -------------------------------------------------------

    @property
    def state_path(self) -> Any:
        return self.state.state_path

    @property
    def journal_path(self) -> Any:
        return self.state.journal_path

    @property
    def chain_id(self) -> str:
        return self.state.chain_id

    @property
    def head_height(self) -> int:
        return self.state.head_height

    @property
    def head_hash(self) -> str:
        return self.state.head_hash

    def close(self) -> None:
        """Write a final snapshot and release the state lock. Repeat calls do nothing."""
        with self._lock:
            self.state.close()

    def status(self) -> dict[str, Any]:
        """The ``status`` answer (also served at GET /status). Read-only."""
        with self._lock:
            return views.status_view(self.state)

    # --- dispatch ----------------------------------------------------------------------

    def handle_body(self, body: bytes) -> RpcReply:
        """Answer a raw JSON-RPC request body (one request; batches are not supported)."""
        try:
            message = json.loads(body)
        except ValueError as exc:
            failure = parse_error(f"Invalid JSON: {exc}")
            return RpcReply(
                failure.http_status, {"jsonrpc": "2.0", "id": None, "error": failure.error}
            )
        if not isinstance(message, dict) or not isinstance(message.get("method"), str):
            failure = parse_error("JSON RPC Request format was expected")
            return RpcReply(
                failure.http_status, {"jsonrpc": "2.0", "id": None, "error": failure.error}
            )
        reply = self.handle(message["method"], message.get("params"))
        if reply.payload is not None:
            reply.payload = {"jsonrpc": "2.0", "id": message.get("id"), **reply.payload}
        return reply

    def handle(self, method: str, params: Any) -> RpcReply:
        """Answer one JSON-RPC call as the HTTP layer should, applying injected faults.

        Returns an RpcReply (never raises for a bad request; internal bugs become
        INTERNAL_ERROR). Repeat calls behave like repeat requests to a node.
        """
        with self._lock:
            fault = self._faults.take(method)
        if fault is not None:
            log.warning("localnet fault %s injected into %s", fault.fault, method)
            if fault.fault == "http_500":
                failure = internal_error("injected fault: http_500")
                return RpcReply(failure.http_status, {"error": failure.error})
            if fault.fault == "timeout_before_apply":
                failure = timeout_error()
                return RpcReply(failure.http_status, {"error": failure.error}, delay=fault.delay)
            if fault.fault in ("invalid_nonce", "not_enough_balance"):
                try:
                    return RpcReply(
                        HTTP_OK, {"result": self._fault_refuse(fault.fault, method, params)}
                    )
                except RpcFailure as failure:
                    return RpcReply(failure.http_status, {"error": dict(failure.error)})
        try:
            reply = RpcReply(HTTP_OK, {"result": self.rpc(method, params)})
        except RpcFailure as failure:
            reply = RpcReply(failure.http_status, {"error": dict(failure.error)})
        except Exception as exc:  # a bug here must not kill the server thread
            log.exception("localnet %s failed", method)
            bug = internal_error(f"{type(exc).__name__}: {exc}")
            reply = RpcReply(bug.http_status, {"error": dict(bug.error)})
        if fault is not None and fault.fault == "drop_response_after_apply":
            reply.drop = True
        return reply

    def rpc(self, method: str, params: Any) -> Any:
        """The result of one JSON-RPC call (no faults). Raises RpcFailure for an error answer.

        Read methods have no effect; send methods apply a transaction at most once per hash.
        """
        handler = self._methods().get(method)
        if handler is None:
            raise method_not_found(method)
        with self._lock:
            if self.state.closed:
                raise internal_error("localnet is shutting down")
            return handler(params)

    def _methods(self) -> dict[str, Callable[[Any], Any]]:
        return {
            "status": lambda _params: views.status_view(self.state),
            "block": self._rpc_block,
            "gas_price": lambda _params: {"gas_price": str(GAS_PRICE)},
            "EXPERIMENTAL_genesis_config": lambda _params: views.genesis_config_view(self.state),
            "query": lambda params: views.query_view(
                self.state, params, final_height=self.state.head_height
            ),
            "send_tx": self._rpc_send_tx,
            "broadcast_tx_commit": self._rpc_broadcast_tx_commit,
            "broadcast_tx_async": self._rpc_broadcast_tx_async,
            "tx": lambda params: self._rpc_tx(params, with_receipts=False),
            "EXPERIMENTAL_tx_status": lambda params: self._rpc_tx(params, with_receipts=True),
            "sandbox_create_account": self._rpc_create_account,
            "sandbox_add_key": self._rpc_add_key,
            "sandbox_fast_forward": self._rpc_fast_forward,
            "sandbox_fault": lambda params: {"faults": self._faults.arm(fault_parse(params))},
            "sandbox_clear_faults": lambda _params: {"cleared": self._faults.clear()},
            "sandbox_set_finality": self._rpc_set_finality,
            "sandbox_transfers": lambda _params: views.transfers_view(self.state),
            "sandbox_state": lambda _params: views.state_view(self.state),
        }

    def _rpc_block(self, params: Any) -> dict[str, Any]:
        request = named(params, ("block_id",))
        final_height = self.state.head_height
        height = views.block_resolve(self.state, request, final_height=final_height)
        return views.block_view(self.state, height, final_height=final_height)

    # --- transactions ------------------------------------------------------------------

    def _rpc_send_tx(self, params: Any) -> dict[str, Any]:
        request = named(params, ("signed_tx_base64", "wait_until"))
        wait_until = wait_until_param(request)
        signed = signed_tx_param(request.get("signed_tx_base64"))
        if wait_until == "NONE":
            # nearcore hands the tx over without waiting and reports no validation error.
            self._tx_submit_quietly(signed)
            return {"final_execution_status": "NONE"}
        record = tx_apply(self.state, signed)
        return self._tx_result(record, with_receipts=False)

    def _rpc_broadcast_tx_commit(self, params: Any) -> dict[str, Any]:
        encoded = named(params, ("signed_tx_base64",)).get("signed_tx_base64")
        record = tx_apply(self.state, signed_tx_param(encoded))
        return self._tx_result(record, with_receipts=False)

    def _rpc_broadcast_tx_async(self, params: Any) -> str:
        encoded = named(params, ("signed_tx_base64",)).get("signed_tx_base64")
        signed = signed_tx_param(encoded)
        self._tx_submit_quietly(signed)
        return signed.hash

    def _tx_submit_quietly(self, signed: borsh.SignedTransaction) -> None:
        try:
            tx_apply(self.state, signed)
        except RpcFailure as failure:
            log.info("localnet dropped tx %s: %s", signed.hash, failure)

    def _rpc_tx(self, params: Any, *, with_receipts: bool) -> dict[str, Any]:
        request = named(params, ("tx_hash", "sender_account_id"))
        wait_until = wait_until_param(request)
        if "signed_tx_base64" in request:
            signed = signed_tx_param(request["signed_tx_base64"])
            tx_hash, sender = signed.hash, signed.transaction.signer_id
        else:
            tx_hash = tx_hash_param(request, "tx_hash")
            sender = account_param(request, "sender_account_id")
        record = self.state.txs.get(tx_hash)
        if record is None or record["signer_id"] != sender:
            raise unknown_transaction(tx_hash)
        if wait_until == "NONE":
            return {"final_execution_status": "NONE"}
        return self._tx_result(record, with_receipts=with_receipts)

    def _tx_result(self, record: TxRecord, *, with_receipts: bool) -> dict[str, Any]:
        status = tx_execution_status(self.state, record, finality_blocks=self.finality_blocks)
        result = {**record["result"], "final_execution_status": status}
        if with_receipts:
            result["receipts"] = record["receipts"]
        return result

    # --- admin (sandbox_*) --------------------------------------------------------------

    def _rpc_create_account(self, params: Any) -> dict[str, Any]:
        request = named(params, ("account_id", "public_key", "amount"))
        account_id = account_param(request, "account_id")
        public_key = (
            public_key_param(request, "public_key")
            if request.get("public_key") is not None
            else None
        )
        amount = amount_param(request, "amount")
        if account_id in self.state.accounts:
            raise handler_error(
                "ACCOUNT_ALREADY_EXISTS",
                {"account_id": account_id},
                f"account {account_id} already exists",
            )
        self.state.block_produce()
        keys: dict[str, AccessKey] = {}
        if public_key is not None:
            keys[public_key] = {
                "nonce": initial_nonce(self.state.head_height),
                "permission": "FullAccess",
            }
        self.state.accounts[account_id] = Account(
            amount=amount,
            storage_usage=STORAGE_ACCOUNT_BYTES + STORAGE_KEY_BYTES * len(keys),
            keys=keys,
        )
        self.state.minted += amount
        self.state.commit(accounts=[account_id], tx=None)
        log.info("localnet faucet created %s with %s yocto", account_id, amount)
        return {
            "account_id": account_id,
            "amount": str(amount),
            "block_height": self.state.head_height,
            "block_hash": self.state.head_hash,
        }

    def _rpc_add_key(self, params: Any) -> dict[str, Any]:
        request = named(params, ("account_id", "public_key", "permission"))
        account_id = account_param(request, "account_id")
        public_key = public_key_param(request, "public_key")
        permission = permission_param(request.get("permission"))
        account = self.state.accounts.get(account_id)
        if account is None:
            raise unknown_account(
                account_id, block_height=self.state.head_height, block_hash=self.state.head_hash
            )
        if public_key in account.keys:
            raise handler_error(
                "ACCESS_KEY_ALREADY_EXISTS",
                {"account_id": account_id, "public_key": public_key},
                f"access key {public_key} already exists on {account_id}",
            )
        self.state.block_produce()
        account.keys[public_key] = {
            "nonce": initial_nonce(self.state.head_height),
            "permission": permission,
        }
        account.storage_usage += STORAGE_KEY_BYTES
        self.state.commit(accounts=[account_id], tx=None)
        return {
            "account_id": account_id,
            "public_key": public_key,
            "block_height": self.state.head_height,
            "block_hash": self.state.head_hash,
        }

    def _rpc_fast_forward(self, params: Any) -> dict[str, Any]:
        delta = named(params, ("delta_height",)).get("delta_height")
        if isinstance(delta, bool) or not isinstance(delta, int) or delta < 1:
            raise parse_error("Failed parsing args: delta_height must be a positive integer")
        # Skipped heights count as produced, each ~1 s apart, so block hashes age out.
        self.state.block_produce(heights=delta, advance_ns=delta * 1_000_000_000)
        self.state.commit(accounts=[], tx=None)
        log.info("localnet fast-forwarded %s blocks to height %s", delta, self.state.head_height)
        return {}

    def _rpc_set_finality(self, params: Any) -> dict[str, Any]:
        """How many blocks a transaction waits to be reported FINAL (in memory only)."""
        blocks = named(params, ("blocks",)).get("blocks")
        if isinstance(blocks, bool) or not isinstance(blocks, int) or blocks < 0:
            raise parse_error("Failed parsing args: blocks must be a non-negative integer")
        self.finality_blocks = blocks
        return {"finality_blocks": blocks}

    def _fault_refuse(self, name: str, method: str, params: Any) -> Any:
        """Refuse the transaction in ``params`` as ``name`` without applying it."""
        with self._lock:
            if method == "send_tx":
                request = named(params, ("signed_tx_base64", "wait_until"))
                quiet = request.get("wait_until", "EXECUTED_OPTIMISTIC") == "NONE"
            else:
                request = named(params, ("signed_tx_base64",))
                quiet = method == "broadcast_tx_async"
            signed = signed_tx_param(request.get("signed_tx_base64"))
            tx = signed.transaction
            if quiet:
                # Async sends never report validity: the tx is silently dropped.
                return (
                    signed.hash
                    if method == "broadcast_tx_async"
                    else {"final_execution_status": "NONE"}
                )
            signer = self.state.accounts.get(tx.signer_id, Account(amount=0, storage_usage=0))
            if name == "invalid_nonce":
                access_key = signer.keys.get(str(tx.public_key), {"nonce": 0, "permission": ""})
                raise invalid_tx(
                    {
                        "InvalidNonce": {
                            "tx_nonce": tx.nonce,
                            "ak_nonce": max(access_key["nonce"], tx.nonce),
                        }
                    }
                )
            gas_send, gas_exec, deposit = transaction_cost(tx)
            raise invalid_tx(
                {
                    "NotEnoughBalance": {
                        "signer_id": tx.signer_id,
                        "balance": str(signer.amount),
                        "cost": str((gas_send + gas_exec) * GAS_PRICE + deposit),
                    }
                }
            )

"""The node: JSON-RPC calls against the chain state, with nearcore's waiting and injected faults.

``LocalNet.handle(method, params)`` answers a call as the HTTP layer should (faults
included); ``LocalNet.rpc(method, params)`` is the same without faults and raises RpcFailure
for an error answer.

One lock guards the state. A call that waits for a transaction (``send_tx``,
``broadcast_tx_commit``, ``tx``, ``EXPERIMENTAL_tx_status``) waits on a condition of that lock,
notified at every new block, so it never holds the lock while it waits: other calls, and
the blocks it waits for, go on meanwhile.

Sending and waiting follow chain/jsonrpc/src/lib.rs:

- ``send_tx``: with ``wait_until`` NONE, ``send_tx_async`` hands the transaction over and
  answers ``{"final_execution_status": "NONE"}`` without reporting whether it was valid.
  Otherwise ``send_tx_internal(tx, check_only=false)`` processes it: an invalid transaction is
  answered INVALID_TRANSACTION at once, except that an InvalidNonce of a transaction already on
  chain (``tx_exists``) counts as valid, so re-sending applied bytes is idempotent; then
  ``tx_status_fetch(tx, wait_until)``. ``broadcast_tx_commit`` is ``send_tx`` with
  EXECUTED_OPTIMISTIC (``send_tx_commit``); ``broadcast_tx_async`` is ``send_tx_async`` and
  answers the hash.
- ``tx_status_fetch`` (also ``tx`` and ``EXPERIMENTAL_tx_status``, through
  ``tx_status_common``): poll the view client's ``TxStatus``; an answer whose status meets
  ``wait_until`` (``tx_execution_status_meets_expectations``) is returned; an unknown hash
  (UNKNOWN_TRANSACTION) is first checked, when the request carried the signed transaction,
  with ``send_tx_internal(tx, check_only=true)``, an invalid one answering
  INVALID_TRANSACTION; then with ``wait_until`` NONE the UNKNOWN_TRANSACTION is the answer,
  and with anything else it keeps polling. The whole loop runs under
  ``RpcPollingConfig.polling_timeout`` (10 s by default) and answers TIMEOUT_ERROR once it
  passes. nearcore polls every 500 ms; here a waiting call wakes at every new block instead.
- The answer is ``RpcTransactionResponse``: the outcome (when there is one) flattened, plus
  ``final_execution_status``, the level the transaction actually reached, in every answer.

Blocks while waiting: nearcore produces a block every ~600 ms whatever happens
(nearcore/src/config.rs ``MIN_BLOCK_PRODUCTION_DELAY``). Here the head moves with changes,
``sandbox_fast_forward``, and, while a call waits for a known transaction to reach a higher
level, one empty block every ``block_interval`` seconds, so a FINAL wait under a finality lag
can conclude. ``sandbox_set_finality {"produce_empty_blocks": false}`` holds the head still
instead (nearcore's ``Consensus.produce_empty_blocks``, false "for testing"): a transaction
then stays non-final until a change or a fast-forward moves the head.

History: this chain keeps every transaction. A non-archival nearcore node garbage-collects
blocks, chunks and outcomes older than ``gc_num_epochs_to_keep`` epochs (core/chain-configs
``GCConfig``, default 5; chain/chain/src/garbage_collection.rs ``clear_old_blocks_data``),
after which ``tx`` answers UNKNOWN_TRANSACTION for a transaction that did land.
``sandbox_set_history {"blocks": N}`` makes this node forget transactions included more than
N blocks below the head, to test that callers never read "unknown" as "never landed" there.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
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
    tx_status_meets,
    tx_validate,
)
from payouts.near.localnet.faults import Fault, FaultBook, fault_parse
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
)

log = logging.getLogger(__name__)

# chain/jsonrpc/src/lib.rs ``RpcPollingConfig::default``: polling_timeout 10 s.
DEFAULT_POLLING_TIMEOUT = 10.0  # seconds
# nearcore/src/config.rs ``MIN_BLOCK_PRODUCTION_DELAY``: 600 ms.
DEFAULT_BLOCK_INTERVAL = 0.6  # seconds between the empty blocks produced while a call waits

_Handler = Callable[[Any, str | None], Any]  # (params, fault name or None) -> result


@dataclass
class RpcReply:
    """What the HTTP layer should do with a request."""

    http_status: int
    payload: dict[str, Any] | None
    drop: bool = False  # close the connection without answering
    delay_seconds: float = 0.0  # to wait before answering


@dataclass(frozen=True)
class _SendRequest:
    signed: borsh.SignedTransaction
    wait_until: str


class LocalNet:
    """A local chain answering nearcore's JSON-RPC. Thread-safe (see the module docstring).

    ``polling_timeout``: seconds a waiting call polls before TIMEOUT_ERROR (nearcore's 10 s by
    default; tests shorten it). ``block_interval``: seconds between the empty blocks produced
    while a call waits for a known transaction to reach a higher level.
    """

    def __init__(
        self,
        *,
        state_path: str | os.PathLike[str],
        transaction_validity_period: int = DEFAULT_VALIDITY_PERIOD,
        fsync: bool = True,
        compact_every: int = COMPACT_EVERY,
        clock: Callable[[], int] = time.time_ns,
        polling_timeout: float = DEFAULT_POLLING_TIMEOUT,
        block_interval: float = DEFAULT_BLOCK_INTERVAL,
    ) -> None:
        if polling_timeout <= 0 or block_interval < 0:
            raise ValueError("polling_timeout must be positive and block_interval not negative")
        self.state = ChainState(
            state_path=state_path,
            transaction_validity_period=transaction_validity_period,
            fsync=fsync,
            compact_every=compact_every,
            clock=clock,
        )
        self.polling_timeout = polling_timeout
        self.block_interval = block_interval
        self._lock = threading.Lock()
        self._new_block = threading.Condition(self._lock)  # notified at every new head
        self._last_block_at = time.monotonic()
        self.state.on_change = self._head_moved
        self._faults = FaultBook()  # in memory only: a restart clears them
        # Blocks after its own before a block counts as final (0: at once). NEAR finalises in
        # about two blocks; tests raise it to see the optimistic state. In memory only.
        self.finality_blocks = 0
        self.produce_empty_blocks = True  # while a call waits for a known transaction
        # Transactions included more than this many blocks below the head are forgotten, as
        # by a garbage-collecting node; None keeps them all (an archival node). In memory.
        self.history_blocks: int | None = None

    # --- the state, for inspection -------------------------------------------------------

    @property
    def state_path(self) -> Path:
        return self.state.state_path

    @property
    def journal_path(self) -> Path:
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

    @property
    def final_height(self) -> int:
        """The last final block: ``finality_blocks`` behind the head."""
        return max(self.state.genesis_height, self.state.head_height - self.finality_blocks)

    def close(self) -> None:
        """Write a final snapshot and release the state lock; calls still waiting answer
        INTERNAL_ERROR. Repeat calls do nothing."""
        with self._lock:
            self.state.close()
            self._new_block.notify_all()

    def status(self) -> dict[str, Any]:
        """The ``status`` answer (also served at GET /status). Read-only."""
        with self._lock:
            return views.status_view(self.state)

    def _head_moved(self) -> None:
        # Called by the state under the lock after every committed change.
        self._last_block_at = time.monotonic()
        self._new_block.notify_all()

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
            early = self._fault_before(fault, method, params)
            if early is not None:
                return early
        try:
            reply = RpcReply(
                HTTP_OK, {"result": self._call(method, params, fault.fault if fault else None)}
            )
        except RpcFailure as failure:
            reply = RpcReply(failure.http_status, {"error": failure.error})
        except Exception as exc:  # a bug here must not kill the server thread
            log.exception("localnet %s failed", method)
            bug = internal_error(f"{type(exc).__name__}: {exc}")
            reply = RpcReply(bug.http_status, {"error": bug.error})
        if fault is not None and fault.fault == "drop_response_after_apply":
            # The change is applied and persisted; the client never hears about it.
            reply.drop = True
        return reply

    def rpc(self, method: str, params: Any) -> Any:
        """The result of one JSON-RPC call (no faults). Raises RpcFailure for an error answer.

        Read methods have no effect; send methods apply a transaction at most once per hash.
        A call that waits returns within ``polling_timeout`` seconds (TIMEOUT_ERROR then).
        """
        return self._call(method, params, None)

    def _call(self, method: str, params: Any, fault: str | None) -> Any:
        handler = self._methods().get(method)
        if handler is None:
            raise method_not_found(method)
        with self._lock:
            if self.state.closed:
                raise internal_error("localnet is shutting down")
            return handler(params, fault)

    def _methods(self) -> dict[str, _Handler]:
        state = self.state
        return {
            "status": lambda _params, _fault: views.status_view(state),
            "block": lambda params, _fault: self._rpc_block(params),
            "gas_price": lambda _params, _fault: {"gas_price": str(GAS_PRICE)},
            "EXPERIMENTAL_genesis_config": lambda _p, _f: views.genesis_config_view(state),
            "query": lambda params, _fault: views.query_view(
                state, params, final_height=self.final_height
            ),
            "send_tx": lambda params, fault: self._send("send_tx", params, fault),
            "broadcast_tx_commit": lambda params, fault: self._send(
                "broadcast_tx_commit", params, fault
            ),
            "broadcast_tx_async": lambda params, fault: self._send(
                "broadcast_tx_async", params, fault
            ),
            "tx": lambda params, fault: self._rpc_tx(params, fault, with_receipts=False),
            "EXPERIMENTAL_tx_status": lambda params, fault: self._rpc_tx(
                params, fault, with_receipts=True
            ),
            "sandbox_create_account": lambda params, _fault: self._rpc_create_account(params),
            "sandbox_add_key": lambda params, _fault: self._rpc_add_key(params),
            "sandbox_fast_forward": lambda params, _fault: self._rpc_fast_forward(params),
            "sandbox_fault": lambda params, _f: {"faults": self._faults.arm(fault_parse(params))},
            "sandbox_clear_faults": lambda _params, _fault: {"cleared": self._faults.clear()},
            "sandbox_set_finality": lambda params, _fault: self._rpc_set_finality(params),
            "sandbox_set_history": lambda params, _fault: self._rpc_set_history(params),
            "sandbox_transfers": lambda _params, _fault: views.transfers_view(state),
            "sandbox_state": lambda _params, _fault: views.state_view(state),
        }

    def _rpc_block(self, params: Any) -> dict[str, Any]:
        request = named(params, ("block_id",))
        final_height = self.final_height
        height = views.block_resolve(self.state, request, final_height=final_height)
        return views.block_view(self.state, height, final_height=final_height)

    # --- sending -----------------------------------------------------------------------

    @staticmethod
    def _send_request(method: str, params: Any) -> _SendRequest:
        """The transaction and ``wait_until`` of a send method's params."""
        if method == "send_tx":
            request = named(params, ("signed_tx_base64", "wait_until"))
            wait_until = wait_until_param(request)
        else:
            request = named(params, ("signed_tx_base64",))
            # send_tx_commit: broadcast_tx_commit waits as EXECUTED_OPTIMISTIC.
            wait_until = "NONE" if method == "broadcast_tx_async" else "EXECUTED_OPTIMISTIC"
        return _SendRequest(signed_tx_param(request.get("signed_tx_base64")), wait_until)

    def _send(self, method: str, params: Any, fault: str | None) -> Any:
        """``send_tx`` / ``broadcast_tx_commit`` / ``broadcast_tx_async``."""
        request = self._send_request(method, params)
        signed = request.signed
        if request.wait_until == "NONE":
            # send_tx_async: handed over, validity never reported.
            try:
                self._tx_process(signed, lost=fault == "lost_broadcast")
            except RpcFailure as failure:
                log.info("localnet dropped tx %s: %s", signed.hash, failure)
            if method == "broadcast_tx_async":
                return signed.hash
            return {"final_execution_status": "NONE"}
        self._tx_process(signed, lost=fault == "lost_broadcast")
        return self._tx_status_fetch(
            signed.hash, request.wait_until, with_receipts=False, signed=signed
        )

    def _tx_process(self, signed: borsh.SignedTransaction, *, lost: bool) -> None:
        """``send_tx_internal(tx, check_only=false)``: include a valid transaction, refuse an
        invalid one (INVALID_TRANSACTION). A transaction already on chain is valid (its
        InvalidNonce is forgiven by ``tx_exists``). ``lost``: accepted, never included."""
        if signed.hash in self.state.txs and not self._forgotten(signed.hash):
            return
        if signed.hash in self.state.txs:
            # Garbage-collected: the node validates it afresh, and a landed transaction's
            # nonce is used (InvalidNonce) or its block hash expired.
            tx_validate(self.state, signed)
            raise internal_error(f"forgotten transaction {signed.hash} validated again")
        if lost:
            tx_validate(self.state, signed)
            log.warning("localnet accepted tx %s and lost it (lost_broadcast)", signed.hash)
            return
        tx_apply(self.state, signed)

    # --- waiting for a transaction --------------------------------------------------------

    def _rpc_tx(self, params: Any, fault: str | None, *, with_receipts: bool) -> dict[str, Any]:
        request = named(params, ("tx_hash", "sender_account_id"))
        wait_until = wait_until_param(request)
        signed: borsh.SignedTransaction | None = None
        if "signed_tx_base64" in request:
            # TransactionInfo::Transaction: the hash and signer come from the transaction.
            signed = signed_tx_param(request["signed_tx_base64"])
            tx_hash = signed.hash
        else:
            tx_hash = tx_hash_param(request, "tx_hash")
            # Parsed as an AccountId; it only routes the question to the signer's shard (the
            # one shard here, which this node tracks): the hash alone finds the transaction.
            account_param(request, "sender_account_id")
        return self._tx_status_fetch(
            tx_hash,
            wait_until,
            with_receipts=with_receipts,
            signed=signed,
            shard_tracked=fault != "shard_not_tracked",
        )

    def _tx_status_view(
        self, tx_hash: str, *, with_receipts: bool, shard_tracked: bool
    ) -> dict[str, Any] | None:
        """The view client's ``TxStatus``: the answer (outcome and level), or None for
        MissingTransaction. A node not tracking the signer's shard answers no outcome at
        level NONE."""
        if not shard_tracked:
            return {"final_execution_status": "NONE"}
        record = self.state.txs.get(tx_hash)
        if record is None or self._forgotten(tx_hash):
            return None
        status = tx_execution_status(record, final_height=self.final_height)
        answer = {**record["result"], "final_execution_status": status}
        if with_receipts:
            answer["receipts"] = record["receipts"]
        return answer

    def _tx_status_fetch(
        self,
        tx_hash: str,
        wait_until: str,
        *,
        with_receipts: bool,
        signed: borsh.SignedTransaction | None = None,
        shard_tracked: bool = True,
    ) -> dict[str, Any]:
        """nearcore's ``tx_status_fetch``: poll until the transaction meets ``wait_until``;
        TIMEOUT_ERROR after ``polling_timeout``. Called with the lock held; waits release it."""
        deadline = time.monotonic() + self.polling_timeout
        while True:
            if self.state.closed:
                raise internal_error("localnet is shutting down")
            answer = self._tx_status_view(
                tx_hash, with_receipts=with_receipts, shard_tracked=shard_tracked
            )
            if answer is not None:
                if tx_status_meets(wait_until, answer["final_execution_status"]):
                    return answer
            else:
                if signed is not None:
                    tx_validate(self.state, signed)  # check_only: INVALID_TRANSACTION
                if wait_until == "NONE":
                    raise unknown_transaction(tx_hash)
            now = time.monotonic()
            wait = deadline - now
            if wait <= 0:
                raise timeout_error()
            if answer is not None and "transaction" in answer and self.produce_empty_blocks:
                # A known transaction short of the level asked for: the chain moves on.
                due = self._last_block_at + self.block_interval
                if now >= due:
                    self.state.block_produce()
                    self.state.commit(accounts=[], tx=None)
                    continue
                wait = min(wait, due - now)
            self._new_block.wait(wait)

    def _forgotten(self, tx_hash: str) -> bool:
        """Whether a garbage-collecting node would no longer have this transaction."""
        if self.history_blocks is None:
            return False
        return int(self.state.txs[tx_hash]["height"]) < self.state.head_height - self.history_blocks

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
        """How many blocks a block waits to be final, and whether the chain produces empty
        blocks while a call waits for a transaction (in memory only)."""
        request = named(params, ("blocks", "produce_empty_blocks"))
        blocks = request.get("blocks", self.finality_blocks)
        if isinstance(blocks, bool) or not isinstance(blocks, int) or blocks < 0:
            raise parse_error("Failed parsing args: blocks must be a non-negative integer")
        produce = request.get("produce_empty_blocks", self.produce_empty_blocks)
        if not isinstance(produce, bool):
            raise parse_error("Failed parsing args: produce_empty_blocks must be a boolean")
        self.finality_blocks = blocks
        self.produce_empty_blocks = produce
        self._new_block.notify_all()  # waiting calls look again (and may produce blocks now)
        return {"finality_blocks": blocks, "produce_empty_blocks": produce}

    def _rpc_set_history(self, params: Any) -> dict[str, Any]:
        """Forget transactions included more than ``blocks`` below the head (None: keep all),
        as a garbage-collecting node does (in memory only)."""
        blocks = named(params, ("blocks",)).get("blocks")
        if blocks is not None and (
            isinstance(blocks, bool) or not isinstance(blocks, int) or blocks < 0
        ):
            raise parse_error("Failed parsing args: blocks must be null or a non-negative integer")
        self.history_blocks = blocks
        return {"history_blocks": blocks}

    # --- faults ------------------------------------------------------------------------

    def _fault_before(self, fault: Fault, method: str, params: Any) -> RpcReply | None:
        """Act out a fault that comes before the method runs: an answer in place of the
        method's, or None to run it (after a change the fault made)."""
        name = fault.fault
        if name == "drop_request_before_apply":
            return RpcReply(HTTP_OK, None, drop=True)  # the node never sees the request
        if name == "http_500":
            failure = internal_error("injected fault: http_500")
            return RpcReply(failure.http_status, {"error": failure.error})
        if name == "timeout_before_apply":
            failure = timeout_error()
            return RpcReply(
                failure.http_status, {"error": failure.error}, delay_seconds=fault.delay_seconds
            )
        if name in ("invalid_nonce", "not_enough_balance"):
            try:
                return RpcReply(HTTP_OK, {"result": self._fault_refuse(name, method, params)})
            except RpcFailure as failure:
                return RpcReply(failure.http_status, {"error": failure.error})
        if name == "key_used_elsewhere":
            self._key_used_elsewhere(method, params, ahead=fault.ahead)
        return None

    def _key_used_elsewhere(self, method: str, params: Any, *, ahead: int) -> None:
        """Land a transaction signed elsewhere with the key of the one in ``params``: the
        key's nonce becomes that transaction's nonce + ``ahead``, in a new, persisted block.
        Does nothing for params that do not parse (the method then refuses them)."""
        with self._lock:
            try:
                signed = self._send_request(method, params).signed
            except RpcFailure:
                return
            tx = signed.transaction
            account = self.state.accounts.get(tx.signer_id)
            access_key = account.keys.get(str(tx.public_key)) if account else None
            nonce = tx.nonce + ahead
            if access_key is None or signed.hash in self.state.txs or access_key["nonce"] >= nonce:
                return
            self.state.block_produce()
            access_key["nonce"] = nonce
            self.state.commit(accounts=[tx.signer_id], tx=None)
            log.warning(
                "localnet: key %s of %s used elsewhere, nonce now %s",
                tx.public_key,
                tx.signer_id,
                nonce,
            )

    def _fault_refuse(self, name: str, method: str, params: Any) -> Any:
        """Refuse the transaction in ``params`` as ``name`` without applying it."""
        with self._lock:
            request = self._send_request(method, params)
            signed = request.signed
            tx = signed.transaction
            if request.wait_until == "NONE":
                # Async sends never report validity: the tx is silently dropped.
                if method == "broadcast_tx_async":
                    return signed.hash
                return {"final_execution_status": "NONE"}
            signer = self.state.accounts.get(tx.signer_id, Account(amount=0, storage_usage=0))
            if name == "invalid_nonce":
                access_key = signer.keys.get(str(tx.public_key))
                ak_nonce = access_key["nonce"] if access_key else 0
                raise invalid_tx(
                    {"InvalidNonce": {"tx_nonce": tx.nonce, "ak_nonce": max(ak_nonce, tx.nonce)}}
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

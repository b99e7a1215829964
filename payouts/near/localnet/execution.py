"""Transactions: validation in nearcore's order, applying a transfer, the outcome records.

Validation raises the InvalidTxError nearcore would give, checked in nearcore's order:

1. the block hash's age: chain/chain/src/store/utils.rs ``check_transaction_validity_period``
   (``Expired`` once ``prev_height > base_height + transaction_validity_period``, and for a
   block hash the node does not know), run by the client before the runtime looks at it;
2. the signature over sha256 of the borsh Transaction: core/primitives/src/transaction.rs
   (``InvalidSignature``);
3. runtime/runtime/src/verifier.rs ``verify_and_charge_transaction``: the signer exists
   (``SignerDoesNotExist``), the key exists (``AccessKeyNotFound``), ``verify_nonce``
   (``InvalidNonce`` when ``tx_nonce <= ak_nonce``; ``NonceTooLarge`` when ``tx_nonce >=
   block_height * ACCESS_KEY_NONCE_RANGE_MULTIPLIER``), the balance covers gas and deposit
   (``NotEnoughBalance``), and a function-call key signs no transfer (``RequiresFullAccess``).

Applying charges the signer, sets the key's nonce to the transaction's, includes the
transaction in a new block and executes its receipt in that same block (nearcore needs at
least one more block for the receipt). A transfer to a missing implicit account creates it
(runtime/runtime/src/actions.rs, implicit account creation: the NEAR-implicit id gets its key
as a full-access key); to a missing named account it fails with ``AccountDoesNotExist`` and
the deposit comes back in a refund receipt from ``system``.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from typing import Any

import base58
import nacl.exceptions
import nacl.signing

from payouts.near import borsh
from payouts.near.keys import (
    account_id_is_eth_implicit,
    account_id_is_implicit,
    public_key_from_bytes,
)
from payouts.near.localnet.errors import invalid_tx, parse_error
from payouts.near.localnet.state import AccessKey, Account, ChainState, TxRecord

log = logging.getLogger(__name__)

GAS_PRICE = 100_000_000  # yoctoNEAR per unit of gas (nearcore's minimum gas price)

# nearcore's runtime fees in gas (core/parameters/res/runtime_configs/parameters.yaml, with
# the per-protocol-version diffs beside it for account creation). A transfer pays send + exec
# of both, total 446_365_125_000.
FEE_ACTION_RECEIPT_CREATION = 108_059_500_000
FEE_TRANSFER = 115_123_062_500
# A transfer to an implicit account also pays account creation (+ a full-access key for
# NEAR-implicit ids), send and exec, whether or not the account already exists (as nearcore).
FEE_CREATE_ACCOUNT = 3_850_000_000_000
FEE_ADD_FULL_ACCESS_KEY = 101_765_125_000

# core/primitives/src/account.rs ``AccessKey::ACCESS_KEY_NONCE_RANGE_MULTIPLIER``: a key added
# at height h starts at nonce (h - 1) * 10**6 (runtime/runtime/src/access_keys.rs
# ``initial_nonce_value``); a transaction's nonce must stay below head_height * 10**6.
NONCE_RANGE_MULTIPLIER = 1_000_000
STORAGE_ACCOUNT_BYTES = 100  # storage_usage of an account record, in bytes
STORAGE_KEY_BYTES = 82  # per full-access ed25519 key (so a typical account shows 182)


def _b58(raw: bytes) -> str:
    return base58.b58encode(raw).decode("ascii")


def _derived_id(tx_hash: bytes, index: int) -> str:
    """A receipt id: unique per transaction and receipt index, like nearcore's derivation."""
    return _b58(hashlib.sha256(b"receipt" + tx_hash + index.to_bytes(8, "little")).digest())


def initial_nonce(height: int) -> int:
    """The nonce of a key added at ``height`` (nearcore's ``initial_nonce_value``)."""
    return (height - 1) * NONCE_RANGE_MULTIPLIER


def transfer_gas(receiver_id: str) -> int:
    """Gas of one Transfer action, send or exec (they are equal), by receiver id kind."""
    if account_id_is_implicit(receiver_id):
        return FEE_TRANSFER + FEE_CREATE_ACCOUNT + FEE_ADD_FULL_ACCESS_KEY
    if account_id_is_eth_implicit(receiver_id):
        return FEE_TRANSFER + FEE_CREATE_ACCOUNT
    return FEE_TRANSFER


def transaction_cost(tx: borsh.Transaction) -> tuple[int, int, int]:
    """(gas at send, gas at exec, total deposit in yoctoNEAR) of a transfer transaction."""
    gas = FEE_ACTION_RECEIPT_CREATION + sum(transfer_gas(tx.receiver_id) for _ in tx.actions)
    deposit = sum(a.deposit for a in tx.actions if isinstance(a, borsh.Transfer))
    return gas, gas, deposit


@dataclass(frozen=True)
class Validated:
    """A transaction that passed every check, with what applying it costs."""

    signer: Account
    access_key: AccessKey
    gas_send: int
    gas_exec: int
    deposit: int  # yoctoNEAR

    @property
    def cost(self) -> int:
        """yoctoNEAR taken from the signer: gas of both halves at GAS_PRICE, plus deposit."""
        return (self.gas_send + self.gas_exec) * GAS_PRICE + self.deposit


def tx_validate(state: ChainState, signed: borsh.SignedTransaction) -> Validated:
    """Check ``signed`` against the current state; raise the InvalidTxError nearcore would
    give (see the module docstring for the order). Changes nothing."""
    tx = signed.transaction
    unsupported = [a for a in tx.actions if not isinstance(a, borsh.Transfer)]
    if unsupported:
        raise parse_error(
            "localnet executes only Transfer actions, got "
            + ", ".join(sorted({type(a).__name__ for a in unsupported}))
        )
    height = state.recent_block_height(tx.block_hash_b58)
    if height is None or state.head_height - height > state.validity_period:
        raise invalid_tx("Expired")
    if signed.signature.key_type != borsh.KEY_TYPE_ED25519 or (
        tx.public_key.key_type != borsh.KEY_TYPE_ED25519
    ):
        raise invalid_tx("InvalidSignature")
    try:
        nacl.signing.VerifyKey(tx.public_key.data).verify(signed.hash_bytes, signed.signature.data)
    except (nacl.exceptions.BadSignatureError, ValueError):
        raise invalid_tx("InvalidSignature") from None
    signer = state.accounts.get(tx.signer_id)
    if signer is None:
        raise invalid_tx({"SignerDoesNotExist": {"signer_id": tx.signer_id}})
    public_key = str(tx.public_key)
    access_key = signer.keys.get(public_key)
    if access_key is None:
        raise invalid_tx(
            {
                "InvalidAccessKeyError": {
                    "AccessKeyNotFound": {"account_id": tx.signer_id, "public_key": public_key}
                }
            }
        )
    if tx.nonce <= access_key["nonce"]:
        raise invalid_tx({"InvalidNonce": {"tx_nonce": tx.nonce, "ak_nonce": access_key["nonce"]}})
    upper_bound = state.head_height * NONCE_RANGE_MULTIPLIER
    if tx.nonce >= upper_bound:
        raise invalid_tx({"NonceTooLarge": {"tx_nonce": tx.nonce, "upper_bound": upper_bound}})
    gas_send, gas_exec, deposit = transaction_cost(tx)
    validated = Validated(signer, access_key, gas_send, gas_exec, deposit)
    if signer.amount < validated.cost:
        raise invalid_tx(
            {
                "NotEnoughBalance": {
                    "signer_id": tx.signer_id,
                    "balance": str(signer.amount),
                    "cost": str(validated.cost),
                }
            }
        )
    if access_key["permission"] != "FullAccess":
        # A function-call key may only sign a single FunctionCall action.
        raise invalid_tx({"InvalidAccessKeyError": "RequiresFullAccess"})
    return validated


def tx_apply(state: ChainState, signed: borsh.SignedTransaction) -> TxRecord:
    """Apply ``signed`` once and persist it; a repeat of an applied hash returns its record.

    Raises RpcFailure (INVALID_TRANSACTION, or PARSE_ERROR for unsupported actions) and then
    changes nothing.
    """
    existing = state.txs.get(signed.hash)
    if existing is not None:
        log.info("localnet tx %s already applied: answering its outcome", signed.hash)
        return existing
    checked = tx_validate(state, signed)
    tx = signed.transaction
    # Charge, bump the nonce, produce the block that includes the tx and its receipt.
    signer = checked.signer
    signer.amount -= checked.cost
    checked.access_key["nonce"] = tx.nonce
    state.burnt += (checked.gas_send + checked.gas_exec) * GAS_PRICE
    state.block_produce()
    block_hash = state.head_hash
    touched = [tx.signer_id]
    receiver = state.accounts.get(tx.receiver_id)
    failure: dict[str, Any] | None = None
    if receiver is None and account_id_is_implicit(tx.receiver_id):
        public_key = public_key_from_bytes(bytes.fromhex(tx.receiver_id))
        receiver = Account(
            amount=0,
            storage_usage=STORAGE_ACCOUNT_BYTES + STORAGE_KEY_BYTES,
            keys={
                public_key: {"nonce": initial_nonce(state.head_height), "permission": "FullAccess"}
            },
        )
        state.accounts[tx.receiver_id] = receiver
    elif receiver is None and account_id_is_eth_implicit(tx.receiver_id):
        receiver = Account(amount=0, storage_usage=STORAGE_ACCOUNT_BYTES)
        state.accounts[tx.receiver_id] = receiver
    if receiver is None:
        failure = {
            "ActionError": {
                "index": 0,
                "kind": {"AccountDoesNotExist": {"account_id": tx.receiver_id}},
            }
        }
        signer.amount += checked.deposit  # NEAR refunds the deposit with a refund receipt
    else:
        receiver.amount += checked.deposit
        if tx.receiver_id not in touched:
            touched.append(tx.receiver_id)
    record = tx_record(
        signed,
        height=state.head_height,
        block_hash=block_hash,
        gas_send=checked.gas_send,
        gas_exec=checked.gas_exec,
        deposit=checked.deposit,
        failure=failure,
    )
    state.txs[signed.hash] = record
    state.commit(accounts=touched, tx=record)
    log.debug(
        "localnet applied tx %s %s -> %s %s yocto at height %s (%s)",
        signed.hash,
        tx.signer_id,
        tx.receiver_id,
        checked.deposit,
        state.head_height,
        "failed" if failure else "ok",
    )
    return record


def tx_record(
    signed: borsh.SignedTransaction,
    *,
    height: int,
    block_hash: str,
    gas_send: int,
    gas_exec: int,
    deposit: int,
    failure: dict[str, Any] | None,
) -> TxRecord:
    """The FinalExecutionOutcomeView (and ReceiptViews) nearcore would show for a transfer
    executed in block ``height``: the transaction's outcome creates one action receipt; a
    failed receipt creates a refund receipt from ``system`` that burns nothing."""
    tx = signed.transaction
    tx_hash = signed.hash
    receipt_id = _derived_id(signed.hash_bytes, 0)
    refund_id = _derived_id(signed.hash_bytes, 1)
    actions = [borsh.action_view(a) for a in tx.actions]
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
            "metadata": {"version": 1, "gas_profile": None},
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
    receipts: list[dict[str, Any]] = [
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
        "height": height,
        "result": result,
        "receipts": receipts,
    }


# --- status levels ----------------------------------------------------------------------
#
# core/primitives/src/views.rs ``TxExecutionStatus``, weakest first. nearcore computes the
# level of an executed transaction in chain/client/src/view_client_actor.rs
# ``get_tx_execution_status`` from the finality of the blocks holding its outcomes: INCLUDED
# (its block not final, receipts pending), EXECUTED_OPTIMISTIC (receipts done, not final),
# INCLUDED_FINAL, EXECUTED, FINAL (every outcome block final). Here the transaction and its
# receipts execute in one block, so a transaction is EXECUTED_OPTIMISTIC until that block is
# final and FINAL after; the other levels never occur.

TX_STATUS_LEVELS = (
    "NONE",
    "INCLUDED",
    "EXECUTED_OPTIMISTIC",
    "INCLUDED_FINAL",
    "EXECUTED",
    "FINAL",
)

# chain/jsonrpc/src/lib.rs ``tx_execution_status_meets_expectations``: which actual levels
# satisfy a request's ``wait_until``. Not a total order: INCLUDED_FINAL is not met by
# EXECUTED_OPTIMISTIC, nor EXECUTED_OPTIMISTIC by INCLUDED_FINAL.
_MEETS: dict[str, frozenset[str]] = {
    "NONE": frozenset(TX_STATUS_LEVELS),
    "INCLUDED": frozenset(TX_STATUS_LEVELS) - {"NONE"},
    "EXECUTED_OPTIMISTIC": frozenset({"EXECUTED_OPTIMISTIC", "EXECUTED", "FINAL"}),
    "INCLUDED_FINAL": frozenset({"INCLUDED_FINAL", "EXECUTED", "FINAL"}),
    "EXECUTED": frozenset({"EXECUTED", "FINAL"}),
    "FINAL": frozenset({"FINAL"}),
}


def tx_status_meets(expected: str, actual: str) -> bool:
    """Whether a transaction at level ``actual`` answers a wait for ``expected``."""
    return actual in _MEETS[expected]


def tx_execution_status(record: TxRecord, *, final_height: int) -> str:
    """The TxExecutionStatus of an applied transaction, given the last final block."""
    return "FINAL" if record["height"] <= final_height else "EXECUTED_OPTIMISTIC"

"""NearClient against the in-process localnet: transfers, gas, refusals, faults, restarts."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import base58
import pytest
import requests

from payouts.near import keys
from payouts.near.client import (
    NearClient,
    NearRpcError,
    NearTransportError,
    outcome_summary,
)
from payouts.near.localnet import (
    CHAIN_ID,
    GAS_PRICE,
    LocalNet,
    LocalNetServer,
    LocalNetStateError,
    localnet_serve,
)

from .conftest import NEAR

TRANSFER_GAS = 446_365_125_000  # send + exec of action receipt creation and transfer
TRANSFER_COST = TRANSFER_GAS * GAS_PRICE  # 44_636_512_500_000_000_000 yocto
# To an implicit account: + create_account and full-access add_key, send + exec.
IMPLICIT_TRANSFER_GAS = TRANSFER_GAS + 2 * (3_850_000_000_000 + 101_765_125_000)

Fund = Callable[..., keys.NearKey]


def _balance(near: NearClient, account_id: str) -> int:
    return int(near.view_account(account_id=account_id)["amount"])


def _sign(
    near: NearClient,
    key: keys.NearKey,
    receiver_id: str,
    amount: int,
    *,
    nonce: int | None = None,
    block_hash: str | None = None,
) -> keys.SignedTransaction:
    if nonce is None:
        nonce = near.view_access_key(account_id=key.account_id, public_key=key.public_key)["nonce"]
        nonce += 1
    if block_hash is None:
        block_hash = near.latest_block()["header"]["hash"]
    return keys.transfer_sign(
        key=key, receiver_id=receiver_id, amount=amount, nonce=nonce, block_hash=block_hash
    )


def _refusal(near: NearClient, signed_bytes: bytes) -> NearRpcError:
    with pytest.raises(NearRpcError) as excinfo:
        near.send_tx(signed_tx=signed_bytes)
    error = excinfo.value
    assert error.name == "HANDLER_ERROR"
    assert error.cause_name == "INVALID_TRANSACTION"
    assert error.code == -32000
    return error


def _ledger_consistent(near: NearClient) -> dict[str, Any]:
    state = near.sandbox("sandbox_state", {})
    total = sum(int(a["amount"]) for a in state["accounts"].values())
    assert total == int(state["minted"]) - int(state["burnt"])
    return state


def test_status_and_block_say_local_chain(near: NearClient, server: LocalNetServer) -> None:
    status = near.status()
    assert status["chain_id"] == CHAIN_ID == "nearlabel-localnet"
    assert status["version"]["version"].startswith("nearlabel-localnet")
    block = near.latest_block()
    header = block["header"]
    assert header["height"] == status["sync_info"]["latest_block_height"]
    assert header["hash"] == status["sync_info"]["latest_block_hash"]
    assert header["gas_price"] == str(GAS_PRICE)
    assert header["timestamp_nanosec"] == str(header["timestamp"])
    assert block["chunks"] == []
    assert requests.get(server.url + "/status", timeout=5).json()["chain_id"] == CHAIN_ID
    by_height = near.call("block", {"block_id": header["height"]})
    by_hash = near.call("block", {"block_id": header["hash"]})
    assert by_height == by_hash == block
    with pytest.raises(NearRpcError) as excinfo:
        near.call("block", {"block_id": header["height"] + 5})
    assert excinfo.value.cause_name == "UNKNOWN_BLOCK"


def test_transfer_moves_amount_and_charges_gas(near: NearClient, fund: Fund) -> None:
    alice = fund("alice.test", amount=10 * NEAR)
    ak = near.view_access_key(account_id="alice.test", public_key=alice.public_key)
    assert ak["permission"] == "FullAccess"
    assert ak["nonce"] == (ak["block_height"] - 1) * 1_000_000  # added by the latest block
    fund("bob.test", amount=1 * NEAR)
    signed = _sign(near, alice, "bob.test", 2 * NEAR)
    result = near.send_tx(signed_tx=signed.signed_bytes)

    assert result["final_execution_status"] == "FINAL"
    assert result["status"] == {"SuccessValue": ""}
    assert result["transaction"] == {
        "signer_id": "alice.test",
        "public_key": alice.public_key,
        "nonce": signed.nonce,
        "receiver_id": "bob.test",
        "actions": [{"Transfer": {"deposit": str(2 * NEAR)}}],
        "priority_fee": 0,
        "signature": result["transaction"]["signature"],
        "hash": signed.tx_hash,
    }
    assert result["transaction"]["signature"].startswith("ed25519:")
    tx_outcome = result["transaction_outcome"]
    assert tx_outcome["id"] == signed.tx_hash
    assert tx_outcome["proof"] == []
    assert tx_outcome["outcome"]["executor_id"] == "alice.test"
    assert tx_outcome["outcome"]["gas_burnt"] == TRANSFER_GAS // 2
    assert tx_outcome["outcome"]["tokens_burnt"] == str(TRANSFER_COST // 2)
    receipt_id = tx_outcome["outcome"]["receipt_ids"][0]
    assert tx_outcome["outcome"]["status"] == {"SuccessReceiptId": receipt_id}
    [receipt] = result["receipts_outcome"]
    assert receipt["id"] == receipt_id
    assert receipt["outcome"]["executor_id"] == "bob.test"
    assert receipt["outcome"]["status"] == {"SuccessValue": ""}
    assert receipt["outcome"]["tokens_burnt"] == str(TRANSFER_COST // 2)

    summary = outcome_summary(result)
    assert summary.succeeded is True
    assert summary.failure is None
    assert summary.tx_hash == signed.tx_hash
    assert summary.tokens_burnt == TRANSFER_COST == 44_636_512_500_000_000_000
    assert summary.transfers == [("bob.test", 2 * NEAR)]

    assert _balance(near, "alice.test") == 10 * NEAR - 2 * NEAR - TRANSFER_COST
    assert _balance(near, "bob.test") == 3 * NEAR
    ak_after = near.view_access_key(account_id="alice.test", public_key=alice.public_key)
    assert ak_after["nonce"] == signed.nonce
    assert near.tx_status(tx_hash=signed.tx_hash, sender_account_id="alice.test") == result
    detailed = near.call(
        "EXPERIMENTAL_tx_status",
        {"tx_hash": signed.tx_hash, "sender_account_id": "alice.test", "wait_until": "FINAL"},
    )
    assert detailed["receipts"][0]["receipt_id"] == receipt_id
    assert near.call("tx", [signed.tx_hash, "alice.test"]) == result
    _ledger_consistent(near)


def test_resend_of_same_bytes_is_applied_once(near: NearClient, fund: Fund) -> None:
    alice = fund("alice.test", amount=10 * NEAR)
    fund("bob.test", amount=0)
    signed = _sign(near, alice, "bob.test", NEAR)
    first = near.send_tx(signed_tx=signed.signed_bytes)
    second = near.send_tx(signed_tx=signed.signed_bytes)
    third = near.call("broadcast_tx_commit", [signed.base64()])
    assert first == second == third
    assert near.broadcast_tx_async(signed_tx=signed.signed_bytes) == signed.tx_hash
    assert _balance(near, "alice.test") == 9 * NEAR - TRANSFER_COST
    assert _balance(near, "bob.test") == NEAR
    transfers = near.sandbox("sandbox_transfers", {})
    assert transfers == [
        {
            "tx_hash": signed.tx_hash,
            "signer_id": "alice.test",
            "receiver_id": "bob.test",
            "amount": str(NEAR),
            "succeeded": True,
            "block_height": transfers[0]["block_height"],
        }
    ]


def test_invalid_nonce(near: NearClient, fund: Fund) -> None:
    alice = fund("alice.test")
    fund("bob.test", amount=0)
    first = _sign(near, alice, "bob.test", 1)
    near.send_tx(signed_tx=first.signed_bytes)
    reused = _sign(near, alice, "bob.test", 2, nonce=first.nonce)
    error = _refusal(near, reused.signed_bytes)
    assert error.invalid_tx == {"InvalidNonce": {"tx_nonce": first.nonce, "ak_nonce": first.nonce}}
    assert error.invalid_tx_kind == "InvalidNonce"
    assert error.cause_info == {}
    assert error.data == {
        "TxExecutionError": {"InvalidTxError": {"InvalidNonce": error.invalid_tx["InvalidNonce"]}}
    }
    older = _sign(near, alice, "bob.test", 2, nonce=first.nonce - 1)
    assert _refusal(near, older.signed_bytes).invalid_tx == {
        "InvalidNonce": {"tx_nonce": first.nonce - 1, "ak_nonce": first.nonce}
    }
    assert _balance(near, "bob.test") == 1


def test_nonce_too_large(near: NearClient, fund: Fund) -> None:
    alice = fund("alice.test")
    height = near.latest_block()["header"]["height"]
    signed = _sign(near, alice, "alice.test", 1, nonce=height * 1_000_000)
    assert _refusal(near, signed.signed_bytes).invalid_tx == {
        "NonceTooLarge": {"tx_nonce": height * 1_000_000, "upper_bound": height * 1_000_000}
    }


def test_expired_after_fast_forward(tmp_path: Path) -> None:
    with (
        localnet_serve(state_path=tmp_path / "s.json", transaction_validity_period=10) as srv,
        NearClient(srv.url) as near,
    ):
        alice = keys.key_generate(account_id="alice.test")
        near.sandbox(
            "sandbox_create_account",
            {"account_id": "alice.test", "public_key": alice.public_key, "amount": str(NEAR)},
        )
        old_block = near.latest_block()["header"]
        ok = _sign(near, alice, "alice.test", 1, block_hash=old_block["hash"])
        assert near.sandbox("sandbox_fast_forward", {"delta_height": 9}) == {}
        assert near.latest_block()["header"]["height"] == old_block["height"] + 9
        near.send_tx(signed_tx=ok.signed_bytes)  # 10 blocks later (with its own): still valid
        stale = _sign(near, alice, "alice.test", 1, block_hash=old_block["hash"])
        assert near.latest_block()["header"]["height"] == old_block["height"] + 10
        near.sandbox("sandbox_fast_forward", {"delta_height": 1})
        error = _refusal(near, stale.signed_bytes)
        assert error.invalid_tx == {"Expired": None}
        assert error.data == {"TxExecutionError": {"InvalidTxError": "Expired"}}
        unknown = _sign(
            near, alice, "alice.test", 1, block_hash=base58.b58encode(b"\x01" * 32).decode()
        )
        assert _refusal(near, unknown.signed_bytes).invalid_tx_kind == "Expired"


def test_not_enough_balance(near: NearClient, fund: Fund) -> None:
    alice = fund("alice.test", amount=NEAR)
    signed = _sign(near, alice, "alice.test", NEAR)
    assert _refusal(near, signed.signed_bytes).invalid_tx == {
        "NotEnoughBalance": {
            "signer_id": "alice.test",
            "balance": str(NEAR),
            "cost": str(NEAR + TRANSFER_COST),
        }
    }
    exact = _sign(near, alice, "alice.test", NEAR - TRANSFER_COST)
    near.send_tx(signed_tx=exact.signed_bytes)
    # A self-transfer pays only gas: what is left is the deposit that came back.
    assert _balance(near, "alice.test") == NEAR - TRANSFER_COST
    _ledger_consistent(near)


def test_bad_signature(near: NearClient, fund: Fund) -> None:
    alice = fund("alice.test")
    signed = _sign(near, alice, "alice.test", 1)
    flipped_signature = bytearray(signed.signed_bytes)
    flipped_signature[-1] ^= 0x01
    error = _refusal(near, bytes(flipped_signature))
    assert error.invalid_tx == {"InvalidSignature": None}
    flipped_body = bytearray(signed.signed_bytes)
    flipped_body[-65 - 16] ^= 0x01  # the deposit's low byte: the signature no longer covers it
    assert _refusal(near, bytes(flipped_body)).invalid_tx_kind == "InvalidSignature"
    near.send_tx(signed_tx=signed.signed_bytes)  # the original is still fine


def test_function_call_key_cannot_transfer(near: NearClient, fund: Fund) -> None:
    fund("alice.test")
    limited = keys.key_generate(account_id="alice.test")
    near.sandbox(
        "sandbox_add_key",
        {
            "account_id": "alice.test",
            "public_key": limited.public_key,
            "permission": {
                "FunctionCall": {
                    "allowance": str(NEAR),
                    "receiver_id": "contract.test",
                    "method_names": ["claim"],
                }
            },
        },
    )
    ak = near.view_access_key(account_id="alice.test", public_key=limited.public_key)
    assert ak["permission"] == {
        "FunctionCall": {
            "allowance": str(NEAR),
            "receiver_id": "contract.test",
            "method_names": ["claim"],
        }
    }
    signed = _sign(near, limited, "alice.test", 1)
    error = _refusal(near, signed.signed_bytes)
    assert error.invalid_tx == {"InvalidAccessKeyError": "RequiresFullAccess"}
    assert error.data == {
        "TxExecutionError": {"InvalidTxError": {"InvalidAccessKeyError": "RequiresFullAccess"}}
    }
    assert _balance(near, "alice.test") == 10 * NEAR  # nothing charged


def test_access_key_not_found_and_signer_missing(near: NearClient, fund: Fund) -> None:
    fund("alice.test")
    stranger = keys.key_generate(account_id="alice.test")
    signed = _sign(near, stranger, "alice.test", 1, nonce=1)
    assert _refusal(near, signed.signed_bytes).invalid_tx == {
        "InvalidAccessKeyError": {
            "AccessKeyNotFound": {"account_id": "alice.test", "public_key": stranger.public_key}
        }
    }
    ghost = keys.key_generate(account_id="ghost.test")
    signed = _sign(near, ghost, "alice.test", 1, nonce=1)
    assert _refusal(near, signed.signed_bytes).invalid_tx == {
        "SignerDoesNotExist": {"signer_id": "ghost.test"}
    }


def test_views_of_missing_account_and_key(near: NearClient, fund: Fund) -> None:
    alice = fund("alice.test")
    with pytest.raises(NearRpcError) as excinfo:
        near.view_account(account_id="ghost.test")
    error = excinfo.value
    assert error.is_unknown_account
    assert error.cause_info is not None
    assert error.cause_info["requested_account_id"] == "ghost.test"
    assert error.data == "account ghost.test does not exist while viewing"
    other = keys.key_generate().public_key
    # nearcore answers a missing key inside "result"; the client turns it into an error.
    raw = near.call(
        "query",
        {
            "request_type": "view_access_key",
            "finality": "final",
            "account_id": "alice.test",
            "public_key": other,
        },
    )
    assert raw["error"] == f"access key {other} does not exist while viewing"
    assert raw["logs"] == []
    with pytest.raises(NearRpcError) as excinfo:
        near.view_access_key(account_id="alice.test", public_key=other)
    assert excinfo.value.is_unknown_access_key
    legacy = near.call("query", [f"access_key/alice.test/{alice.public_key}", ""])
    assert legacy["permission"] == "FullAccess"
    assert near.call("query", ["account/alice.test", ""])["amount"] == str(10 * NEAR)


def test_transfer_to_missing_named_account_fails_and_refunds(near: NearClient, fund: Fund) -> None:
    alice = fund("alice.test", amount=10 * NEAR)
    signed = _sign(near, alice, "nobody.test", 3 * NEAR)
    result = near.send_tx(signed_tx=signed.signed_bytes)
    failure = {
        "ActionError": {"index": 0, "kind": {"AccountDoesNotExist": {"account_id": "nobody.test"}}}
    }
    assert result["status"] == {"Failure": failure}
    assert result["receipts_outcome"][0]["outcome"]["status"] == {"Failure": failure}
    summary = outcome_summary(result)
    assert summary.succeeded is False
    assert summary.failure == failure
    assert summary.tokens_burnt == TRANSFER_COST
    # The deposit comes back; the gas does not.
    assert _balance(near, "alice.test") == 10 * NEAR - TRANSFER_COST
    with pytest.raises(NearRpcError):
        near.view_account(account_id="nobody.test")
    assert near.sandbox("sandbox_transfers", {})[0]["succeeded"] is False
    _ledger_consistent(near)


def test_transfer_to_new_implicit_account_creates_it(near: NearClient, fund: Fund) -> None:
    alice = fund("alice.test", amount=10 * NEAR)
    fresh = keys.key_generate()
    signed = _sign(near, alice, fresh.account_id, NEAR)
    result = near.send_tx(signed_tx=signed.signed_bytes)
    assert outcome_summary(result).succeeded is True
    assert outcome_summary(result).tokens_burnt == IMPLICIT_TRANSFER_GAS * GAS_PRICE
    assert _balance(near, fresh.account_id) == NEAR
    assert _balance(near, "alice.test") == 9 * NEAR - IMPLICIT_TRANSFER_GAS * GAS_PRICE
    ak = near.view_access_key(account_id=fresh.account_id, public_key=fresh.public_key)
    assert ak["permission"] == "FullAccess"
    applied_at = near.sandbox("sandbox_transfers", {})[0]["block_height"]
    assert ak["nonce"] == (applied_at - 1) * 1_000_000  # nearcore's nonce for new keys
    # The new account can spend with its key.
    back = _sign(near, fresh, "alice.test", NEAR // 2)
    assert outcome_summary(near.send_tx(signed_tx=back.signed_bytes)).succeeded is True
    _ledger_consistent(near)


def test_fault_drop_response_after_apply(near: NearClient, fund: Fund) -> None:
    alice = fund("alice.test", amount=10 * NEAR)
    fund("bob.test", amount=0)
    near.sandbox("sandbox_fault", {"fault": "drop_response_after_apply"})
    signed = _sign(near, alice, "bob.test", NEAR)
    with pytest.raises(NearTransportError) as excinfo:
        near.send_tx(signed_tx=signed.signed_bytes)
    assert excinfo.value.method == "send_tx"
    found = near.tx_status(tx_hash=signed.tx_hash, sender_account_id="alice.test")
    assert outcome_summary(found).succeeded is True
    # A retry of the same bytes answers the same outcome and moves nothing again.
    assert near.send_tx(signed_tx=signed.signed_bytes) == found
    assert _balance(near, "bob.test") == NEAR
    assert len(near.sandbox("sandbox_transfers", {})) == 1


def test_fault_timeout_before_apply(near: NearClient, fund: Fund) -> None:
    alice = fund("alice.test")
    fund("bob.test", amount=0)
    near.sandbox("sandbox_fault", {"fault": "timeout_before_apply", "delay": 0.05})
    signed = _sign(near, alice, "bob.test", NEAR)
    with pytest.raises(NearRpcError) as excinfo:
        near.send_tx(signed_tx=signed.signed_bytes)
    error = excinfo.value
    assert error.is_timeout
    assert error.is_outcome_unknown
    assert error.http_status == 408
    assert (error.name, error.cause_name, error.data) == (
        "HANDLER_ERROR",
        "TIMEOUT_ERROR",
        "Timeout",
    )
    assert error.invalid_tx is None
    with pytest.raises(NearRpcError) as excinfo:
        near.tx_status(tx_hash=signed.tx_hash, sender_account_id="alice.test", wait_until="NONE")
    assert excinfo.value.is_unknown_transaction
    assert excinfo.value.cause_info == {"requested_transaction_hash": signed.tx_hash}
    assert near.tx_lookup(tx_hash=signed.tx_hash, sender_account_id="alice.test") is None
    assert _balance(near, "bob.test") == 0
    near.send_tx(signed_tx=signed.signed_bytes)  # the retry lands, once
    assert _balance(near, "bob.test") == NEAR


def test_fault_http_500(near: NearClient, fund: Fund) -> None:
    alice = fund("alice.test")
    fund("bob.test", amount=0)
    near.sandbox("sandbox_fault", {"fault": "http_500", "count": 2})
    signed = _sign(near, alice, "bob.test", NEAR)
    for _ in range(2):
        with pytest.raises(NearTransportError) as excinfo:
            near.send_tx(signed_tx=signed.signed_bytes)
        assert excinfo.value.status == 500
        assert excinfo.value.rpc_error is not None
        assert excinfo.value.rpc_error.name == "INTERNAL_ERROR"
    assert near.tx_lookup(tx_hash=signed.tx_hash, sender_account_id="alice.test") is None
    assert _balance(near, "bob.test") == 0
    near.send_tx(signed_tx=signed.signed_bytes)
    assert _balance(near, "bob.test") == NEAR


def test_fault_refusals_and_method_filter(near: NearClient, fund: Fund) -> None:
    alice = fund("alice.test", amount=10 * NEAR)
    fund("bob.test", amount=0)
    near.sandbox("sandbox_fault", {"fault": "invalid_nonce"})
    near.sandbox("sandbox_fault", {"fault": "not_enough_balance"})
    signed = _sign(near, alice, "bob.test", NEAR)
    first = _refusal(near, signed.signed_bytes)
    assert first.invalid_tx == {
        "InvalidNonce": {"tx_nonce": signed.nonce, "ak_nonce": signed.nonce}
    }
    second = _refusal(near, signed.signed_bytes)
    assert second.invalid_tx == {
        "NotEnoughBalance": {
            "signer_id": "alice.test",
            "balance": str(10 * NEAR),
            "cost": str(NEAR + TRANSFER_COST),
        }
    }
    assert _balance(near, "bob.test") == 0
    near.send_tx(signed_tx=signed.signed_bytes)
    assert _balance(near, "bob.test") == NEAR
    # Faults can target any method; a cleared fault no longer fires.
    near.sandbox("sandbox_fault", {"fault": "http_500", "method": "query", "count": 5})
    with pytest.raises(NearTransportError):
        near.view_account(account_id="bob.test")
    assert near.sandbox("sandbox_clear_faults", {}) == {"cleared": 1}
    assert _balance(near, "bob.test") == NEAR
    with pytest.raises(NearRpcError) as excinfo:
        near.sandbox("sandbox_fault", {"fault": "no_such_fault"})
    assert excinfo.value.is_parse_error


def test_async_and_none_sends(near: NearClient, fund: Fund) -> None:
    alice = fund("alice.test")
    fund("bob.test", amount=0)
    first = _sign(near, alice, "bob.test", 1)
    assert near.broadcast_tx_async(signed_tx=first.signed_bytes) == first.tx_hash
    assert outcome_summary(
        near.tx_status(tx_hash=first.tx_hash, sender_account_id="alice.test")
    ).succeeded
    second = _sign(near, alice, "bob.test", 2)
    assert near.send_tx(signed_tx=second.signed_bytes, wait_until="NONE") == {
        "final_execution_status": "NONE"
    }
    assert outcome_summary({"final_execution_status": "NONE"}).succeeded is None
    # An invalid async send is silently dropped, as nearcore does.
    stale = _sign(near, alice, "bob.test", 5, nonce=second.nonce)
    assert near.broadcast_tx_async(signed_tx=stale.signed_bytes) == stale.tx_hash
    assert near.tx_lookup(tx_hash=stale.tx_hash, sender_account_id="alice.test") is None
    assert _balance(near, "bob.test") == 3


def test_malformed_requests(near: NearClient, server: LocalNetServer) -> None:
    with pytest.raises(NearRpcError) as excinfo:
        near.send_tx(signed_tx=b"\x00garbage")
    error = excinfo.value
    assert (error.name, error.cause_name, error.code) == (
        "REQUEST_VALIDATION_ERROR",
        "PARSE_ERROR",
        -32700,
    )
    assert error.http_status == 400
    assert error.cause_info is not None
    assert error.cause_info["error_message"].startswith("Failed to decode transaction")
    with pytest.raises(NearRpcError) as excinfo:
        near.call("no_such_method", [])
    assert excinfo.value.cause_name == "METHOD_NOT_FOUND"
    with pytest.raises(NearRpcError) as excinfo:
        near.call("send_tx", {"signed_tx_base64": "!!!"})
    assert excinfo.value.is_parse_error
    with pytest.raises(NearRpcError) as excinfo:
        near.view_account(account_id="Not Valid")
    assert excinfo.value.is_parse_error
    response = requests.post(server.url, data=b"{nope", timeout=5)
    assert response.status_code == 400
    assert response.json()["error"]["cause"]["name"] == "PARSE_ERROR"
    with pytest.raises(ValueError, match="sandbox"):
        near.sandbox("status", {})


def test_sandbox_admin_errors(near: NearClient, fund: Fund) -> None:
    alice = fund("alice.test")
    with pytest.raises(NearRpcError) as excinfo:
        fund("alice.test")
    assert excinfo.value.cause_name == "ACCOUNT_ALREADY_EXISTS"
    with pytest.raises(NearRpcError) as excinfo:
        near.sandbox(
            "sandbox_add_key", {"account_id": "alice.test", "public_key": alice.public_key}
        )
    assert excinfo.value.cause_name == "ACCESS_KEY_ALREADY_EXISTS"
    with pytest.raises(NearRpcError) as excinfo:
        near.sandbox(
            "sandbox_create_account",
            {"account_id": "x.test", "public_key": alice.public_key, "amount": 5},
        )
    assert excinfo.value.is_parse_error  # amounts travel as decimal strings


def test_transport_error_when_node_is_down(server: LocalNetServer) -> None:
    url = server.url
    server.shutdown()
    with NearClient(url, timeout=2) as near, pytest.raises(NearTransportError) as excinfo:
        near.status()
    assert excinfo.value.status is None


def test_state_survives_restart(state_path: Path) -> None:
    srv = localnet_serve(state_path=state_path)
    try:
        near = NearClient(srv.url)
        alice = keys.key_generate(account_id="alice.test")
        near.sandbox(
            "sandbox_create_account",
            {"account_id": "alice.test", "public_key": alice.public_key, "amount": str(5 * NEAR)},
        )
        sent = []
        for amount in (NEAR, 2 * NEAR):
            signed = _sign(
                near, alice, "bob-missing.test" if amount == NEAR else alice.account_id, amount
            )
            near.send_tx(signed_tx=signed.signed_bytes)
            sent.append(signed)
        before_state = near.sandbox("sandbox_state", {})
        before_head = near.latest_block()["header"]
        before_results = [
            near.tx_status(tx_hash=s.tx_hash, sender_account_id="alice.test") for s in sent
        ]
        with pytest.raises(LocalNetStateError, match="in use"):
            LocalNet(state_path=state_path)
    finally:
        srv.shutdown()

    with localnet_serve(state_path=state_path) as again, NearClient(again.url) as near2:
        assert near2.sandbox("sandbox_state", {}) == before_state
        assert near2.latest_block()["header"] == before_head
        for signed, result in zip(sent, before_results, strict=True):
            assert near2.tx_status(tx_hash=signed.tx_hash, sender_account_id="alice.test") == result
            assert near2.send_tx(signed_tx=signed.signed_bytes) == result  # not applied again
        ak = near2.view_access_key(account_id="alice.test", public_key=alice.public_key)
        assert ak["nonce"] == sent[-1].nonce
        assert near2.sandbox("sandbox_state", {}) == before_state
        # The old block hash is still valid after the restart.
        follow = _sign(near2, alice, "alice.test", 1, block_hash=before_head["hash"])
        assert outcome_summary(near2.send_tx(signed_tx=follow.signed_bytes)).succeeded


def test_journal_replay_after_crash(tmp_path: Path) -> None:
    state_path = tmp_path / "state.json"
    chain = LocalNet(state_path=state_path, compact_every=1000)
    alice = keys.key_generate(account_id="alice.test")
    chain.rpc(
        "sandbox_create_account",
        {"account_id": "alice.test", "public_key": alice.public_key, "amount": str(NEAR)},
    )
    nonce = chain.rpc(
        "query",
        {
            "request_type": "view_access_key",
            "finality": "final",
            "account_id": "alice.test",
            "public_key": alice.public_key,
        },
    )["nonce"]
    signed = keys.transfer_sign(
        key=alice, receiver_id="alice.test", amount=5, nonce=nonce + 1, block_hash=chain.head_hash
    )
    chain.rpc("send_tx", {"signed_tx_base64": signed.base64(), "wait_until": "FINAL"})
    state = chain.rpc("sandbox_state", {})
    # Crash: no final snapshot; the snapshot on disk predates both changes.
    assert json.loads(state_path.read_text())["seq"] == 0
    chain.state.abandon()
    with chain.journal_path.open("a") as journal:
        journal.write('{"seq": 3, "torn')  # a half-written line from the crash

    revived = LocalNet(state_path=state_path)
    try:
        assert revived.rpc("sandbox_state", {}) == state
        assert revived.rpc("tx", [signed.tx_hash, "alice.test"])["transaction"]["hash"] == (
            signed.tx_hash
        )
        assert json.loads(state_path.read_text())["seq"] == 2  # folded into the snapshot
    finally:
        revived.close()


def test_corrupt_state_is_refused(tmp_path: Path) -> None:
    state_path = tmp_path / "state.json"
    state_path.write_text("{not json")
    with pytest.raises(LocalNetStateError, match="unreadable"):
        LocalNet(state_path=state_path)


def test_outcome_summary_shapes() -> None:
    assert outcome_summary({"status": "NotStarted"}).succeeded is None
    started = outcome_summary({"status": "Started", "final_execution_status": "INCLUDED"})
    assert started.succeeded is None
    assert started.final_execution_status == "INCLUDED"
    receipt_failure = {
        "ActionError": {"index": 0, "kind": {"AccountDoesNotExist": {"account_id": "x.near"}}}
    }
    result = {
        "status": {"SuccessValue": ""},
        "transaction": {
            "hash": "h",
            "receiver_id": "x.near",
            "actions": [{"Transfer": {"deposit": "7"}}, "CreateAccount"],
        },
        "transaction_outcome": {"id": "h", "outcome": {"tokens_burnt": "10", "status": {}}},
        "receipts_outcome": [
            {"outcome": {"tokens_burnt": "5", "status": {"Failure": receipt_failure}}},
            {"outcome": {"tokens_burnt": "0", "status": {"SuccessValue": ""}}},
        ],
    }
    summary = outcome_summary(result)
    assert summary.succeeded is False  # a failing receipt overrides a success status
    assert summary.failure == receipt_failure
    assert summary.tokens_burnt == 15
    assert summary.transfers == [("x.near", 7)]
    with pytest.raises(ValueError, match="dict"):
        outcome_summary([])  # type: ignore[arg-type]


def test_rpc_error_parsing_tolerates_legacy_shapes() -> None:
    legacy = NearRpcError.from_payload({"code": -32000, "message": "Server error", "data": "boom"})
    assert legacy.name == "UNKNOWN_ERROR"
    assert legacy.cause_name is None
    assert legacy.invalid_tx is None
    info_form = NearRpcError.from_payload(
        {
            "name": "HANDLER_ERROR",
            "cause": {
                "name": "INVALID_TRANSACTION",
                "info": {"InvalidNonce": {"tx_nonce": 1, "ak_nonce": 2}},
            },
            "code": -32000,
            "message": "Server error",
            "data": "text",
        }
    )
    assert info_form.invalid_tx == {"InvalidNonce": {"tx_nonce": 1, "ak_nonce": 2}}

"""The local RPC answers `tx`, `EXPERIMENTAL_tx_status` and the sends as nearcore's
`tx_status_fetch` does: it polls until the transaction meets `wait_until`, answers
TIMEOUT_ERROR after the polling timeout, and UNKNOWN_TRANSACTION only when asked not to wait;
plus the faults that model a transaction that never landed."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import base58
import pytest

from payouts.near import keys
from payouts.near.client import NearClient, NearRpcError, NearTransportError, TxStatus
from payouts.near.localnet import LocalNet, LocalNetServer

from .conftest import NEAR, POLLING_TIMEOUT

Fund = Callable[..., keys.NearKey]
UNSEEN = base58.b58encode(bytes(range(32))).decode()
WAITING_LEVELS = ["INCLUDED", "EXECUTED_OPTIMISTIC", "INCLUDED_FINAL", "EXECUTED", "FINAL"]


def _sign(near: NearClient, key: keys.NearKey, receiver_id: str, amount: int, **kw: Any):
    nonce = kw.pop("nonce", None)
    if nonce is None:
        nonce = near.view_access_key(account_id=key.account_id, public_key=key.public_key)
        nonce = int(nonce["nonce"]) + 1
    block_hash = near.latest_block()["header"]["hash"]
    return keys.transfer_sign(
        key=key, receiver_id=receiver_id, amount=amount, nonce=nonce, block_hash=block_hash
    )


def _timed(call: Callable[[], Any]) -> tuple[Any, float]:
    started = time.monotonic()
    try:
        return call(), time.monotonic() - started
    except Exception as exc:  # the caller asserts on the exception
        return exc, time.monotonic() - started


@pytest.fixture
def long_polling(server: LocalNetServer) -> float:
    """A polling timeout long enough that "answered at once" cannot be mistaken for
    "polled, then timed out" on a loaded machine; returns it (seconds)."""
    server.chain.polling_timeout = 4.0
    return server.chain.polling_timeout


@pytest.fixture
def alice(fund: Fund) -> keys.NearKey:
    fund("bob.test", amount=0)
    return fund("alice.test", amount=10 * NEAR)


def _head(near: NearClient) -> int:
    return int(near.latest_block(finality="optimistic")["header"]["height"])


@pytest.mark.parametrize("method", ["tx", "EXPERIMENTAL_tx_status"])
def test_unseen_hash_without_waiting_is_unknown_transaction_at_once(
    near: NearClient, alice: keys.NearKey, method: str, long_polling: float
) -> None:
    error, elapsed = _timed(
        lambda: near.call(
            method,
            {"tx_hash": UNSEEN, "sender_account_id": "alice.test", "wait_until": "NONE"},
        )
    )
    assert isinstance(error, NearRpcError)
    assert error.is_unknown_transaction
    assert error.cause_info == {"requested_transaction_hash": UNSEEN}
    assert elapsed < long_polling / 2  # answered, not polled
    assert near.tx_lookup(tx_hash=UNSEEN, sender_account_id="alice.test") is None


@pytest.mark.parametrize("wait_until", WAITING_LEVELS)
@pytest.mark.parametrize("method", ["tx", "EXPERIMENTAL_tx_status"])
def test_unseen_hash_with_a_waiting_level_times_out_after_polling(
    near: NearClient, alice: keys.NearKey, method: str, wait_until: str
) -> None:
    error, elapsed = _timed(
        lambda: near.call(
            method,
            {"tx_hash": UNSEEN, "sender_account_id": "alice.test", "wait_until": wait_until},
        )
    )
    assert isinstance(error, NearRpcError), error
    assert error.is_timeout
    assert error.is_outcome_unknown
    assert (error.http_status, error.name, error.data) == (408, "HANDLER_ERROR", "Timeout")
    assert POLLING_TIMEOUT <= elapsed < POLLING_TIMEOUT + 3.0


def test_default_wait_is_executed_optimistic(near: NearClient, alice: keys.NearKey) -> None:
    """A `tx` request without `wait_until` waits (nearcore's default EXECUTED_OPTIMISTIC)."""
    error, elapsed = _timed(lambda: near.call("tx", [UNSEEN, "alice.test"]))
    assert isinstance(error, NearRpcError)
    assert error.is_timeout
    assert elapsed >= POLLING_TIMEOUT


def test_known_transaction_without_waiting_answers_its_outcome_and_real_status(
    near: NearClient, alice: keys.NearKey
) -> None:
    signed = _sign(near, alice, "bob.test", NEAR)
    sent = near.send_tx(signed_tx=signed.signed_bytes, wait_until="FINAL")
    raw = near.tx_status(tx_hash=signed.tx_hash, sender_account_id="alice.test", wait_until="NONE")
    assert raw == sent
    assert raw["final_execution_status"] == "FINAL"  # its actual level, not a bare NONE
    found = near.tx_lookup(tx_hash=signed.tx_hash, sender_account_id="alice.test")
    assert isinstance(found, TxStatus)
    assert found.final_execution_status == "FINAL"
    assert found.result == sent
    assert found.is_final
    assert found.outcome is not None
    assert found.outcome.succeeded is True
    assert found.outcome.tx_hash == signed.tx_hash


def test_lookup_finds_a_transaction_by_hash_whatever_sender_is_named(
    near: NearClient, alice: keys.NearKey
) -> None:
    """The sender only routes the question to its shard; a node tracking it (every shard
    here) finds the transaction by hash: view_client_actor.rs get_tx_status."""
    signed = _sign(near, alice, "bob.test", 1)
    near.send_tx(signed_tx=signed.signed_bytes)
    found = near.tx_lookup(tx_hash=signed.tx_hash, sender_account_id="bob.test")
    assert found is not None
    assert found.result is not None
    assert found.result["transaction"]["signer_id"] == "alice.test"
    with pytest.raises(NearRpcError) as excinfo:
        near.tx_lookup(tx_hash=signed.tx_hash, sender_account_id="Not Valid")
    assert excinfo.value.is_parse_error
    assert excinfo.value.is_request_validation


def test_final_execution_status_is_in_every_answer(near: NearClient, alice: keys.NearKey) -> None:
    answers = []
    first = _sign(near, alice, "bob.test", 1)
    answers.append(near.send_tx(signed_tx=first.signed_bytes, wait_until="INCLUDED"))
    answers.append(near.call("broadcast_tx_commit", [first.base64()]))
    second = _sign(near, alice, "bob.test", 2)
    answers.append(near.send_tx(signed_tx=second.signed_bytes, wait_until="NONE"))
    for wait_until in ("NONE", "EXECUTED_OPTIMISTIC", "FINAL"):
        params = {"tx_hash": first.tx_hash, "sender_account_id": "alice.test"}
        answers.append(near.call("tx", {**params, "wait_until": wait_until}))
        answers.append(near.call("EXPERIMENTAL_tx_status", {**params, "wait_until": wait_until}))
    assert answers[2] == {"final_execution_status": "NONE"}  # a NONE send: no outcome
    for answer in answers[:2] + answers[3:]:
        assert answer["final_execution_status"] == "FINAL"
        assert answer["transaction"]["hash"] == first.tx_hash
    assert "receipts" in answers[4]  # EXPERIMENTAL_tx_status carries the receipts


def test_final_send_under_a_finality_lag_concludes_as_blocks_come(
    near: NearClient, alice: keys.NearKey
) -> None:
    near.sandbox("sandbox_set_finality", {"blocks": 3})
    head_before = _head(near)
    signed = _sign(near, alice, "bob.test", NEAR)
    result = near.send_tx(signed_tx=signed.signed_bytes, wait_until="FINAL")
    assert result["final_execution_status"] == "FINAL"
    included_at = near.sandbox("sandbox_transfers", {})[0]["block_height"]
    assert included_at == head_before + 1
    assert _head(near) >= included_at + 3  # empty blocks came while it waited
    assert near.latest_block()["header"]["height"] == _head(near) - 3  # "final" lags


def test_final_send_held_non_final_times_out_then_turns_final_with_blocks(
    near: NearClient, alice: keys.NearKey
) -> None:
    near.sandbox("sandbox_set_finality", {"blocks": 2, "produce_empty_blocks": False})
    signed = _sign(near, alice, "bob.test", NEAR)
    error, elapsed = _timed(lambda: near.send_tx(signed_tx=signed.signed_bytes, wait_until="FINAL"))
    assert isinstance(error, NearRpcError)
    assert error.is_timeout
    assert elapsed >= POLLING_TIMEOUT
    head = _head(near)
    assert near.sandbox("sandbox_transfers", {})[0]["block_height"] == head  # no block since
    found = near.tx_lookup(tx_hash=signed.tx_hash, sender_account_id="alice.test")
    assert found is not None
    assert found.final_execution_status == "EXECUTED_OPTIMISTIC"
    assert found.result is not None
    assert not found.is_final
    # A weaker wait is met at once; the same bytes again are the same transaction.
    again = near.send_tx(signed_tx=signed.signed_bytes, wait_until="EXECUTED_OPTIMISTIC")
    assert again["final_execution_status"] == "EXECUTED_OPTIMISTIC"
    assert len(near.sandbox("sandbox_transfers", {})) == 1
    near.sandbox("sandbox_fast_forward", {"delta_height": 2})
    found = near.tx_lookup(tx_hash=signed.tx_hash, sender_account_id="alice.test")
    assert found is not None
    assert found.is_final


@pytest.mark.parametrize(
    ("wait_until", "met"),
    [
        ("NONE", True),
        ("INCLUDED", True),
        ("EXECUTED_OPTIMISTIC", True),
        ("INCLUDED_FINAL", False),
        ("EXECUTED", False),
        ("FINAL", False),
    ],
)
def test_waits_are_met_as_nearcore_defines_them(
    near: NearClient, alice: keys.NearKey, wait_until: str, met: bool, server: LocalNetServer
) -> None:
    """An executed transaction in a block not final yet (EXECUTED_OPTIMISTIC) meets NONE,
    INCLUDED and EXECUTED_OPTIMISTIC, and none of the final levels
    (tx_execution_status_meets_expectations)."""
    near.sandbox("sandbox_set_finality", {"blocks": 1, "produce_empty_blocks": False})
    signed = _sign(near, alice, "bob.test", 1)
    near.send_tx(signed_tx=signed.signed_bytes, wait_until="NONE")
    params = {"tx_hash": signed.tx_hash, "sender_account_id": "alice.test"}
    if met:
        server.chain.polling_timeout = 4.0  # a met wait answers long before this
    answer, elapsed = _timed(lambda: near.call("tx", {**params, "wait_until": wait_until}))
    if met:
        assert answer["final_execution_status"] == "EXECUTED_OPTIMISTIC"
        assert elapsed < 2.0
    else:
        assert isinstance(answer, NearRpcError)
        assert answer.is_timeout


def test_a_waiting_lookup_ends_when_the_block_comes_and_never_blocks_the_chain(
    near: NearClient, server: LocalNetServer, alice: keys.NearKey
) -> None:
    """The wait releases the state lock: other calls go on, and a new block wakes it."""
    server.chain.polling_timeout = 5.0  # long enough that only the block can end it
    near.sandbox("sandbox_set_finality", {"blocks": 1, "produce_empty_blocks": False})
    signed = _sign(near, alice, "bob.test", NEAR)
    near.send_tx(signed_tx=signed.signed_bytes, wait_until="EXECUTED_OPTIMISTIC")
    answers: list[Any] = []

    def wait_final() -> None:
        with NearClient(server.url, timeout=10) as other:
            answers.append(
                _timed(
                    lambda: other.tx_status(
                        tx_hash=signed.tx_hash, sender_account_id="alice.test", wait_until="FINAL"
                    )
                )
            )

    waiter = threading.Thread(target=wait_final)
    waiter.start()
    time.sleep(0.3)
    assert waiter.is_alive()
    _, elapsed = _timed(lambda: near.view_account(account_id="alice.test"))
    assert elapsed < 1.0  # not stuck behind the waiting call (which could wait 5 s)
    near.sandbox("sandbox_fast_forward", {"delta_height": 1})
    waiter.join(timeout=5)
    [(result, waited)] = answers
    assert result["final_execution_status"] == "FINAL"
    assert 0.3 <= waited < 4.0


def test_signed_transaction_lookup_reports_an_invalid_one(
    near: NearClient, alice: keys.NearKey, long_polling: float, server: LocalNetServer
) -> None:
    """EXPERIMENTAL_tx_status with the signed transaction checks an unknown one
    (send_tx_internal with check_only): invalid answers INVALID_TRANSACTION at once."""
    used = _sign(near, alice, "bob.test", 1)
    near.send_tx(signed_tx=used.signed_bytes)
    stale = _sign(near, alice, "bob.test", 2, nonce=used.nonce)
    error, elapsed = _timed(
        lambda: near.call(
            "EXPERIMENTAL_tx_status", {"signed_tx_base64": stale.base64(), "wait_until": "FINAL"}
        )
    )
    assert isinstance(error, NearRpcError)
    assert error.invalid_tx_kind == "InvalidNonce"
    assert elapsed < long_polling / 2
    server.chain.polling_timeout = POLLING_TIMEOUT
    valid = _sign(near, alice, "bob.test", 3)  # valid, never sent
    params = {"signed_tx_base64": valid.base64()}
    with pytest.raises(NearRpcError) as excinfo:
        near.call("EXPERIMENTAL_tx_status", {**params, "wait_until": "NONE"})
    assert excinfo.value.is_unknown_transaction
    with pytest.raises(NearRpcError) as excinfo:
        near.call("EXPERIMENTAL_tx_status", {**params, "wait_until": "FINAL"})
    assert excinfo.value.is_timeout
    assert near.tx_lookup(tx_hash=valid.tx_hash, sender_account_id="alice.test") is None


def test_shutdown_ends_waiting_calls(tmp_path: Path) -> None:
    chain = LocalNet(state_path=tmp_path / "s.json", polling_timeout=30)
    outcome: list[Any] = []
    waiter = threading.Thread(
        target=lambda: outcome.append(
            chain.handle("tx", {"tx_hash": UNSEEN, "sender_account_id": "alice.test"})
        )
    )
    waiter.start()
    time.sleep(0.2)
    chain.close()
    waiter.join(timeout=5)
    assert not waiter.is_alive()
    assert outcome[0].payload["error"]["name"] == "INTERNAL_ERROR"


# --- faults ----------------------------------------------------------------------------


def test_fault_key_used_elsewhere_consumes_the_nonce_for_real(
    near: NearClient, alice: keys.NearKey
) -> None:
    near.sandbox("sandbox_fault", {"fault": "key_used_elsewhere"})
    signed = _sign(near, alice, "bob.test", NEAR)
    with pytest.raises(NearRpcError) as excinfo:
        near.send_tx(signed_tx=signed.signed_bytes)
    assert excinfo.value.invalid_tx == {
        "InvalidNonce": {"tx_nonce": signed.nonce, "ak_nonce": signed.nonce}
    }
    ak = near.view_access_key(account_id="alice.test", public_key=alice.public_key)
    assert ak["nonce"] == signed.nonce  # a real change of state, in its own block
    assert near.tx_lookup(tx_hash=signed.tx_hash, sender_account_id="alice.test") is None
    assert int(near.view_account(account_id="bob.test")["amount"]) == 0
    # Again with a gap: the key's nonce jumps past the transaction's.
    near.sandbox("sandbox_fault", {"fault": "key_used_elsewhere", "ahead": 5})
    later = _sign(near, alice, "bob.test", NEAR)
    with pytest.raises(NearRpcError) as excinfo:
        near.send_tx(signed_tx=later.signed_bytes)
    assert excinfo.value.invalid_tx == {
        "InvalidNonce": {"tx_nonce": later.nonce, "ak_nonce": later.nonce + 5}
    }


def test_fault_key_used_elsewhere_is_journaled_before_the_refusal(tmp_path: Path) -> None:
    """The nonce taken elsewhere is a committed change: it survives a crash right after."""
    state_path = tmp_path / "state.json"
    chain = LocalNet(state_path=state_path, polling_timeout=POLLING_TIMEOUT)
    alice = keys.key_generate(account_id="alice.test")
    chain.rpc(
        "sandbox_create_account",
        {"account_id": "alice.test", "public_key": alice.public_key, "amount": str(NEAR)},
    )
    view = {
        "request_type": "view_access_key",
        "finality": "final",
        "account_id": "alice.test",
        "public_key": alice.public_key,
    }
    nonce = chain.rpc("query", view)["nonce"] + 1
    signed = keys.transfer_sign(
        key=alice, receiver_id="alice.test", amount=1, nonce=nonce, block_hash=chain.head_hash
    )
    chain.rpc("sandbox_fault", {"fault": "key_used_elsewhere", "ahead": 2})
    reply = chain.handle("send_tx", {"signed_tx_base64": signed.base64()})
    assert reply.payload is not None
    assert "InvalidNonce" in reply.payload["error"]["data"]["TxExecutionError"]["InvalidTxError"]
    chain.state.abandon()  # crash: no final snapshot

    revived = LocalNet(state_path=state_path)
    try:
        assert revived.rpc("query", view)["nonce"] == nonce + 2
    finally:
        revived.close()


def test_fault_drop_request_before_apply(near: NearClient, alice: keys.NearKey) -> None:
    near.sandbox("sandbox_fault", {"fault": "drop_request_before_apply"})
    signed = _sign(near, alice, "bob.test", NEAR)
    with pytest.raises(NearTransportError) as excinfo:
        near.send_tx(signed_tx=signed.signed_bytes)
    assert excinfo.value.status is None  # no HTTP answer at all
    assert near.tx_lookup(tx_hash=signed.tx_hash, sender_account_id="alice.test") is None
    assert int(near.view_account(account_id="bob.test")["amount"]) == 0  # nothing applied
    near.send_tx(signed_tx=signed.signed_bytes)  # the same bytes again land, once
    assert int(near.view_account(account_id="bob.test")["amount"]) == NEAR
    assert len(near.sandbox("sandbox_transfers", {})) == 1


def test_fault_lost_broadcast(near: NearClient, alice: keys.NearKey) -> None:
    near.sandbox("sandbox_fault", {"fault": "lost_broadcast", "count": 3})
    signed = _sign(near, alice, "bob.test", NEAR)
    # Fire and forget: answered as usual, never included.
    assert near.send_tx(signed_tx=signed.signed_bytes, wait_until="NONE") == {
        "final_execution_status": "NONE"
    }
    assert near.broadcast_tx_async(signed_tx=signed.signed_bytes) == signed.tx_hash
    # A waiting send: accepted, polled for, never seen: TIMEOUT_ERROR.
    error, elapsed = _timed(lambda: near.send_tx(signed_tx=signed.signed_bytes, wait_until="FINAL"))
    assert isinstance(error, NearRpcError)
    assert error.is_timeout
    assert elapsed >= POLLING_TIMEOUT
    assert near.tx_lookup(tx_hash=signed.tx_hash, sender_account_id="alice.test") is None
    assert int(near.view_account(account_id="bob.test")["amount"]) == 0
    # The fault is used up: the same bytes get a new chance and land.
    result = near.send_tx(signed_tx=signed.signed_bytes, wait_until="FINAL")
    assert result["transaction"]["hash"] == signed.tx_hash
    assert int(near.view_account(account_id="bob.test")["amount"]) == NEAR


def test_fault_lost_broadcast_still_refuses_an_invalid_transaction(
    near: NearClient, alice: keys.NearKey, long_polling: float
) -> None:
    used = _sign(near, alice, "bob.test", 1)
    near.send_tx(signed_tx=used.signed_bytes)
    near.sandbox("sandbox_fault", {"fault": "lost_broadcast"})
    stale = _sign(near, alice, "bob.test", 2, nonce=used.nonce)
    error, elapsed = _timed(lambda: near.send_tx(signed_tx=stale.signed_bytes))
    assert isinstance(error, NearRpcError)
    assert error.invalid_tx_kind == "InvalidNonce"
    assert elapsed < long_polling / 2


def test_fault_shard_not_tracked(near: NearClient, alice: keys.NearKey) -> None:
    signed = _sign(near, alice, "bob.test", 1)
    near.send_tx(signed_tx=signed.signed_bytes)
    near.sandbox("sandbox_fault", {"fault": "shard_not_tracked", "count": 2})
    params = {"tx_hash": signed.tx_hash, "sender_account_id": "alice.test"}
    assert near.call("tx", {**params, "wait_until": "NONE"}) == {"final_execution_status": "NONE"}
    with pytest.raises(NearRpcError) as excinfo:
        near.call("tx", {**params, "wait_until": "FINAL"})
    assert excinfo.value.is_timeout
    found = near.tx_lookup(**params)  # the fault is used up: the node knows it
    assert found is not None
    assert found.is_final


def test_fault_shard_not_tracked_lookup_is_not_known_here(
    near: NearClient, alice: keys.NearKey
) -> None:
    near.sandbox("sandbox_fault", {"fault": "shard_not_tracked"})
    found = near.tx_lookup(tx_hash=UNSEEN, sender_account_id="alice.test")
    assert found == TxStatus(final_execution_status="NONE", result=None)
    assert found.outcome is None
    assert not found.is_final


@pytest.mark.parametrize(
    ("fault", "method"),
    [("lost_broadcast", "tx"), ("key_used_elsewhere", "query"), ("shard_not_tracked", "send_tx")],
)
def test_faults_only_where_they_mean_something(near: NearClient, fault: str, method: str) -> None:
    with pytest.raises(NearRpcError) as excinfo:
        near.sandbox("sandbox_fault", {"fault": fault, "method": method})
    assert excinfo.value.is_parse_error

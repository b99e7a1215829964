"""Payouts reach the chain exactly once, whatever fails between the steps."""

from collections import Counter

import pytest
from django.utils import timezone

from payouts.models import NearAccount, Payout, SigningKey
from payouts.money import near_to_yocto
from payouts.near.keys import key_generate, transfer_sign
from payouts.selectors import earnings_summary, ledger_trial_balance
from payouts.services.accounts import near_account_link
from payouts.services.ledger import IN_FLIGHT_KEY
from payouts.services.payouts import (
    PayoutOutcomeUnknownError,
    payout_request,
    payout_send,
    payouts_reconcile,
    signing,
)
from tests.conftest import PLATFORM_ACCOUNT, api_client_for, near_account_prove, nep413_proof
from tests.factories import UserFactory, earnings_give

pytestmark = pytest.mark.django_db

ONE = near_to_yocto("1")


@pytest.fixture
def earner(db):
    """A contributor with 3 NEAR of earnings and a proven implicit account (not yet on chain)."""
    user = UserFactory()
    near_account_prove(user, key_generate())
    earnings_give(user, 3 * ONE)
    return user


def _chain_transfers_to(chain, receiver_id: str) -> list[dict]:
    return [
        t
        for t in chain.client.sandbox("sandbox_transfers", {})
        if t["receiver_id"] == receiver_id and t["succeeded"]
    ]


def _assert_paid_once(chain, payout: Payout) -> None:
    payout.refresh_from_db()
    assert payout.status == Payout.Status.CONFIRMED, payout.last_error
    transfers = _chain_transfers_to(chain, payout.receiver_id)
    assert [int(t["amount"]) for t in transfers] == [payout.amount]
    assert transfers[0]["tx_hash"] == payout.tx_hash
    assert chain.balance(payout.receiver_id) == payout.amount
    balances = ledger_trial_balance()
    assert balances.get(IN_FLIGHT_KEY, 0) == 0
    assert sum(balances.values()) == 0


def test_withdrawal_is_paid_on_chain(
    chain, earner, django_capture_on_commit_callbacks, settings
) -> None:
    settings.AUTO_PAYOUT_NEAR = ""  # what is left stays: this is about the withdrawal
    api = api_client_for(earner)
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("/api/me/payouts", {"amount": "2"}, format="json")
    assert response.status_code == 201, response.content
    payout = Payout.objects.get()
    _assert_paid_once(chain, payout)
    me = api.get("/api/me/").json()
    assert me["balance"] == "1"
    assert me["paid"] == "2"
    listed = api.get("/api/me/payouts").json()
    assert listed[0]["status"] == "confirmed"
    assert listed[0]["tx_hash"] == payout.tx_hash
    assert payout.gas_burnt > 0
    assert [e.to_status for e in payout.events.all()] == [
        "pending",
        "signed",
        "submitted",
        "confirmed",
    ]


def test_payout_over_the_balance_is_refused_and_writes_nothing(chain, earner) -> None:
    response = api_client_for(earner).post("/api/me/payouts", {"amount": "3.1"}, format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "insufficient_funds"
    assert not Payout.objects.exists()
    assert earnings_summary(user=earner).balance == 3 * ONE


def test_payout_below_minimum_and_without_account(chain, earner, settings) -> None:
    settings.MIN_PAYOUT_NEAR = "0.5"
    api = api_client_for(earner)
    response = api.post("/api/me/payouts", {"amount": "0.1"}, format="json")
    assert response.json()["error"]["code"] == "payout_below_minimum"
    stranger = api_client_for(UserFactory())
    response = stranger.post("/api/me/payouts", {"amount": "1"}, format="json")
    assert response.json()["error"]["code"] == "near_account_missing"
    assert not Payout.objects.exists()


@pytest.mark.parametrize("account_id", ["Alice.near", "a", "bob..near", "-x.near", "x" * 65, "a b"])
def test_invalid_near_account_ids_are_refused(account_id: str, earner) -> None:
    body = nep413_proof(key_generate(), account_id=account_id)
    before = NearAccount.objects.get(user=earner).account_id
    response = api_client_for(earner).post("/api/me/near-account", body, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "near_account_invalid"
    # From the database: earner.near_account may be Django's cached object from before.
    assert NearAccount.objects.get(user=earner).account_id == before != account_id


def test_crash_after_signing_before_broadcast_is_sent_once(chain, earner) -> None:
    """Killed after the signed bytes were committed: reconciliation sends those bytes."""
    payout = payout_request(user=earner, amount=ONE)  # on_commit not run: the task never ran
    payout = signing.payout_sign(payout)  # the worker died right after this commit
    assert payout.status == Payout.Status.SIGNED
    signed_hash = payout.tx_hash
    assert _chain_transfers_to(chain, payout.receiver_id) == []

    payouts_reconcile(older_than_seconds=0)
    payouts_reconcile(older_than_seconds=0)  # and again: nothing more happens
    _assert_paid_once(chain, payout)
    assert payout.tx_hash == signed_hash
    assert payout.signatures == 1


def test_response_lost_after_the_chain_applied_it(chain, earner) -> None:
    payout = payout_request(user=earner, amount=ONE)
    chain.client.sandbox("sandbox_fault", {"fault": "drop_response_after_apply"})
    with pytest.raises(PayoutOutcomeUnknownError):
        payout_send(payout_id=payout.pk)
    payout.refresh_from_db()
    assert payout.status == Payout.Status.SUBMITTED
    assert len(_chain_transfers_to(chain, payout.receiver_id)) == 1  # it did land

    payout_send(payout_id=payout.pk)  # the task's retry: same bytes again
    _assert_paid_once(chain, payout)
    assert payout.signatures == 1


@pytest.mark.parametrize("fault", ["timeout_before_apply", "http_500"])
def test_transient_node_failures_are_retried_with_the_same_bytes(chain, earner, fault) -> None:
    payout = payout_request(user=earner, amount=ONE)
    chain.client.sandbox("sandbox_fault", {"fault": fault, "count": 2})
    for _ in range(2):
        with pytest.raises(PayoutOutcomeUnknownError):
            payout_send(payout_id=payout.pk)
    first_hash = Payout.objects.get(pk=payout.pk).tx_hash
    payout_send(payout_id=payout.pk)
    _assert_paid_once(chain, payout)
    assert payout.tx_hash == first_hash
    assert payout.attempts == 3


def test_transfer_to_a_missing_named_account_fails_and_refunds(chain, earner) -> None:
    # An account proven earlier and deleted since (a link can only be proven while it exists).
    near_account_link(user=earner, account_id="nobody-here.localnet")
    NearAccount.objects.filter(user=earner).update(verified_at=timezone.now())
    payout = payout_request(user=earner, amount=ONE)
    payout = payout_send(payout_id=payout.pk)
    assert payout.status == Payout.Status.FAILED
    assert "nobody-here.localnet does not exist" in payout.failure_reason
    assert earnings_summary(user=earner).balance == 3 * ONE
    shown = api_client_for(earner).get("/api/me/payouts").json()[0]
    assert shown["status"] == "failed"
    assert "does not exist" in shown["failure_reason"]
    assert sum(ledger_trial_balance().values()) == 0


def test_nonce_used_behind_our_back_is_resynced_and_resigned(chain, earner) -> None:
    """Another sender used the platform key: InvalidNonce, resync, sign once more."""
    first = payout_send(payout_id=payout_request(user=earner, amount=ONE).pk)
    assert first.status == Payout.Status.CONFIRMED
    # Someone else sends with the same key, far ahead of our allocator.
    key = chain.platform_key
    access = chain.client.view_access_key(account_id=key.account_id, public_key=key.public_key)
    block = chain.client.latest_block()["header"]["hash"]
    outsider = transfer_sign(
        key=key,
        receiver_id=PLATFORM_ACCOUNT,
        amount=1,
        nonce=int(access["nonce"]) + 50,
        block_hash=block,
    )
    chain.client.send_tx(signed_tx=outsider.signed_bytes)

    second = payout_send(payout_id=payout_request(user=earner, amount=ONE).pk)
    assert second.status == Payout.Status.CONFIRMED
    assert second.signatures == 2
    assert second.nonce > int(access["nonce"]) + 50
    assert SigningKey.objects.get().nonce == second.nonce
    amounts = Counter(int(t["amount"]) for t in _chain_transfers_to(chain, second.receiver_id))
    assert amounts == {ONE: 2}


def test_expired_unsent_transaction_is_signed_anew_once(chain, earner, settings) -> None:
    payout = payout_request(user=earner, amount=ONE)
    payout = signing.payout_sign(payout)
    old_hash = payout.tx_hash
    chain.client.sandbox(
        "sandbox_fast_forward", {"delta_height": settings.NEAR_TX_VALIDITY_BLOCKS + 10}
    )
    payouts_reconcile(older_than_seconds=0)
    payout.refresh_from_db()
    assert payout.tx_hash != old_hash
    assert payout.signatures == 2
    _assert_paid_once(chain, payout)
    assert "dead" in " ".join(e.detail for e in payout.events.all())


def test_not_enough_balance_keeps_the_same_transaction(chain, earner) -> None:
    payout = payout_request(user=earner, amount=ONE)
    chain.client.sandbox("sandbox_fault", {"fault": "not_enough_balance"})
    with pytest.raises(PayoutOutcomeUnknownError):
        payout_send(payout_id=payout.pk)
    payout.refresh_from_db()
    first_hash = payout.tx_hash
    assert payout.status == Payout.Status.SUBMITTED
    payout_send(payout_id=payout.pk)
    _assert_paid_once(chain, payout)
    assert payout.tx_hash == first_hash


def test_payout_is_confirmed_only_once_final(chain, earner) -> None:
    """Held non-final: the FINAL send times out, reconciliation waits (no re-broadcast, no
    new signature) and books it once blocks make it final."""
    chain.client.sandbox("sandbox_set_finality", {"blocks": 2, "produce_empty_blocks": False})
    payout = payout_request(user=earner, amount=ONE)
    with pytest.raises(PayoutOutcomeUnknownError, match="TIMEOUT_ERROR"):
        payout_send(payout_id=payout.pk)
    payout.refresh_from_db()
    assert payout.status == Payout.Status.SUBMITTED
    assert len(_chain_transfers_to(chain, payout.receiver_id)) == 1  # on chain, not final
    assert payouts_reconcile(older_than_seconds=0) == {"submitted": 1}  # known, not final
    payout.refresh_from_db()
    assert payout.attempts == 1  # waited: not sent again
    assert "not final" in payout.last_error
    chain.client.sandbox("sandbox_fast_forward", {"delta_height": 2})
    assert payouts_reconcile(older_than_seconds=0) == {"confirmed": 1}
    _assert_paid_once(chain, payout)
    assert payout.signatures == 1


def test_payout_send_waits_for_finality_while_blocks_come(chain, earner) -> None:
    """Under a finality lag the FINAL send waits while the chain produces blocks, and the
    payout is confirmed by the send itself."""
    chain.client.sandbox("sandbox_set_finality", {"blocks": 3})
    payout = payout_send(payout_id=payout_request(user=earner, amount=ONE).pk)
    assert payout.status == Payout.Status.CONFIRMED
    _assert_paid_once(chain, payout)
    [transfer] = _chain_transfers_to(chain, payout.receiver_id)
    head = chain.client.latest_block(finality="optimistic")["header"]["height"]
    assert head >= transfer["block_height"] + 3


# --- transactions that never landed: reconciliation proves them dead or sends them again ---


def _chain_knows(chain, tx_hash: str) -> bool:
    return chain.client.tx_lookup(tx_hash=tx_hash, sender_account_id=PLATFORM_ACCOUNT) is not None


def test_key_used_out_of_band_is_refused_proven_dead_and_signed_anew(chain, earner) -> None:
    """Someone else's transaction used our key's nonce: the send is refused with a genuine
    InvalidNonce, the key's nonce on chain proves ours can never land, and reconciliation
    signs once more with a fresh nonce."""
    payout = signing.payout_sign(payout_request(user=earner, amount=ONE))  # then the worker died
    first_hash, first_nonce = payout.tx_hash, payout.nonce
    chain.client.sandbox("sandbox_fault", {"fault": "key_used_elsewhere"})

    assert payouts_reconcile(older_than_seconds=0) == {"confirmed": 1}
    _assert_paid_once(chain, payout)
    assert payout.signatures == 2
    assert payout.tx_hash != first_hash
    assert payout.nonce > first_nonce
    assert not _chain_knows(chain, first_hash)
    details = " ".join(e.detail for e in payout.events.all())
    assert f"transaction {first_hash} dead: nonce {first_nonce} used by another" in details


def test_failure_before_the_node_is_sent_again_with_the_same_bytes(chain, earner) -> None:
    """The connection was cut before the node saw the request: nothing landed, the block
    hash is still valid, so reconciliation re-broadcasts the same transaction."""
    payout = payout_request(user=earner, amount=ONE)
    chain.client.sandbox("sandbox_fault", {"fault": "drop_request_before_apply"})
    with pytest.raises(PayoutOutcomeUnknownError):
        payout_send(payout_id=payout.pk)
    payout.refresh_from_db()
    assert payout.status == Payout.Status.SUBMITTED
    first_hash = payout.tx_hash
    assert not _chain_knows(chain, first_hash)

    assert payouts_reconcile(older_than_seconds=0) == {"confirmed": 1}
    _assert_paid_once(chain, payout)
    assert payout.tx_hash == first_hash
    assert (payout.signatures, payout.attempts) == (1, 2)


def test_lost_broadcast_is_sent_again_with_the_same_bytes_while_valid(chain, earner) -> None:
    """Accepted by the node and never included: the send times out, and every round of
    reconciliation re-broadcasts the same bytes (never a new signature) until they land."""
    payout = payout_request(user=earner, amount=ONE)
    chain.client.sandbox("sandbox_fault", {"fault": "lost_broadcast", "count": 3})
    with pytest.raises(PayoutOutcomeUnknownError, match="TIMEOUT_ERROR"):
        payout_send(payout_id=payout.pk)
    payout.refresh_from_db()
    first_hash = payout.tx_hash
    for _ in range(2):  # lost again, twice
        assert payouts_reconcile(older_than_seconds=0) == {"unknown": 1}
        payout.refresh_from_db()
        assert (payout.status, payout.tx_hash, payout.signatures) == ("submitted", first_hash, 1)
        assert not _chain_knows(chain, first_hash)

    assert payouts_reconcile(older_than_seconds=0) == {"confirmed": 1}
    _assert_paid_once(chain, payout)
    assert payout.tx_hash == first_hash
    assert (payout.signatures, payout.attempts) == (1, 4)


def test_lost_broadcast_is_signed_anew_only_once_its_block_hash_expired(
    chain, earner, settings
) -> None:
    payout = payout_request(user=earner, amount=ONE)
    chain.client.sandbox("sandbox_fault", {"fault": "lost_broadcast"})
    with pytest.raises(PayoutOutcomeUnknownError):
        payout_send(payout_id=payout.pk)
    payout.refresh_from_db()
    first_hash = payout.tx_hash
    # Nearly expired: still includable, so the same bytes go again (and are lost again).
    chain.client.sandbox("sandbox_fault", {"fault": "lost_broadcast"})
    chain.client.sandbox(
        "sandbox_fast_forward", {"delta_height": settings.NEAR_TX_VALIDITY_BLOCKS - 5}
    )
    assert payouts_reconcile(older_than_seconds=0) == {"unknown": 1}
    payout.refresh_from_db()
    assert (payout.tx_hash, payout.signatures) == (first_hash, 1)

    chain.client.sandbox("sandbox_fast_forward", {"delta_height": 10})
    assert payouts_reconcile(older_than_seconds=0) == {"confirmed": 1}
    _assert_paid_once(chain, payout)
    assert payout.signatures == 2
    assert payout.tx_hash != first_hash
    assert not _chain_knows(chain, first_hash)
    assert f"transaction {first_hash} dead: block hash expired" in " ".join(
        e.detail for e in payout.events.all()
    )


def test_a_node_without_the_outcome_is_waited_for_not_resent(chain, earner) -> None:
    """A lookup answered without an outcome (a node not tracking the shard) proves
    nothing: the payout waits, with neither a new signature nor a re-broadcast."""
    payout = signing.payout_sign(payout_request(user=earner, amount=ONE))
    chain.client.sandbox("sandbox_fault", {"fault": "shard_not_tracked", "count": 2})
    for _ in range(2):
        assert payouts_reconcile(older_than_seconds=0) == {"signed": 1}
    payout.refresh_from_db()
    assert (payout.attempts, payout.signatures) == (0, 1)
    assert "no outcome" in payout.last_error
    assert payouts_reconcile(older_than_seconds=0) == {"confirmed": 1}
    _assert_paid_once(chain, payout)


HISTORY = 1000  # blocks the node keeps in these tests (sandbox_set_history)


@pytest.fixture
def forgetful_node(chain, settings):
    """A node that garbage-collects transactions older than HISTORY blocks, and settings
    that say so, as a non-archival mainnet node (NEAR_TX_HISTORY_BLOCKS)."""
    chain.client.sandbox("sandbox_set_history", {"blocks": HISTORY})
    settings.NEAR_TX_HISTORY_BLOCKS = HISTORY
    return chain


def test_a_landed_payout_the_node_forgot_is_never_signed_again(
    forgetful_node, earner, settings
) -> None:
    """The transfer landed but the answer was lost; by the time reconciliation asks, the
    node has garbage-collected it and answers "unknown". That no longer proves anything:
    the payout stays open for an operator, and the contributor is paid once."""
    chain = forgetful_node
    payout = payout_request(user=earner, amount=ONE)
    chain.client.sandbox("sandbox_fault", {"fault": "drop_response_after_apply"})
    with pytest.raises(PayoutOutcomeUnknownError):
        payout_send(payout_id=payout.pk)
    payout.refresh_from_db()
    landed_hash = payout.tx_hash
    assert _chain_transfers_to(chain, payout.receiver_id), "the transfer did land"
    chain.client.sandbox(
        "sandbox_fast_forward",
        {"delta_height": settings.NEAR_TX_VALIDITY_BLOCKS + HISTORY + 10},
    )
    assert not _chain_knows(chain, landed_hash), "the node forgot it"

    for _ in range(2):
        assert payouts_reconcile(older_than_seconds=0) == {"submitted": 1}
    payout.refresh_from_db()
    assert (payout.tx_hash, payout.signatures) == (landed_hash, 1)
    assert "archival node" in payout.last_error
    assert [t["tx_hash"] for t in _chain_transfers_to(chain, payout.receiver_id)] == [landed_hash]


def test_a_payout_that_never_landed_is_signed_anew_beyond_the_history(
    forgetful_node, earner, settings
) -> None:
    """Lost, never included, and older than the node's history: the key's nonce on chain
    is still below the transaction's, so it provably never landed (and, expired, never
    will): it is signed anew and paid once."""
    chain = forgetful_node
    payout = payout_request(user=earner, amount=ONE)
    chain.client.sandbox("sandbox_fault", {"fault": "lost_broadcast"})
    with pytest.raises(PayoutOutcomeUnknownError):
        payout_send(payout_id=payout.pk)
    payout.refresh_from_db()
    first_hash = payout.tx_hash
    chain.client.sandbox(
        "sandbox_fast_forward",
        {"delta_height": settings.NEAR_TX_VALIDITY_BLOCKS + HISTORY + 10},
    )
    assert payouts_reconcile(older_than_seconds=0) == {"confirmed": 1}
    _assert_paid_once(chain, payout)
    assert payout.signatures == 2
    assert payout.tx_hash != first_hash


def test_the_local_node_forgets_as_told(chain, earner) -> None:
    """sandbox_set_history: a transaction more than N blocks below the head is unknown."""
    payout = payout_send(payout_id=payout_request(user=earner, amount=ONE).pk)
    assert _chain_knows(chain, payout.tx_hash)
    chain.client.sandbox("sandbox_set_history", {"blocks": 5})
    chain.client.sandbox("sandbox_fast_forward", {"delta_height": 6})
    assert not _chain_knows(chain, payout.tx_hash)
    chain.client.sandbox("sandbox_set_history", {"blocks": None})
    assert _chain_knows(chain, payout.tx_hash)

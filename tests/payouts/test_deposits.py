"""Deposits are checked on the (local) chain and credited to escrow once per hash."""

import time

import base58
import pytest

from payouts.models import Deposit, Journal
from payouts.money import near_to_yocto
from payouts.selectors import escrow_balance
from tests.conftest import PLATFORM_ACCOUNT, api_client_for, near_account_prove
from tests.factories import ProjectFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def funded(chain, requester):
    """A requester with a NEAR account on chain, proven and linked, and a draft project."""
    key = chain.account_create(amount_near="50", account_id="alice.localnet")
    near_account_prove(requester, key)
    project = ProjectFactory(owner=requester, status="draft")
    return key, project


def _deposit(api, project, tx_hash):
    return api.post(
        f"/api/projects/{project.public_id}/deposits/", {"tx_hash": tx_hash}, format="json"
    )


def test_deposit_is_verified_and_credited_once(chain, funded, requester_api) -> None:
    key, project = funded
    tx_hash = chain.transfer(key=key, receiver_id=PLATFORM_ACCOUNT, amount=near_to_yocto("2.5"))
    response = _deposit(requester_api, project, tx_hash)
    assert response.status_code == 201, response.content
    assert response.json()["amount"] == "2.5"
    assert response.json()["sender_account_id"] == "alice.localnet"
    assert escrow_balance(reference=project.escrow_reference) == near_to_yocto("2.5")

    again = _deposit(requester_api, project, tx_hash)
    assert again.status_code == 400
    assert again.json()["error"]["code"] == "deposit_already_used"
    assert escrow_balance(reference=project.escrow_reference) == near_to_yocto("2.5")
    assert Deposit.objects.count() == 1
    assert Journal.objects.filter(kind="deposit").count() == 1


def test_unknown_hash_is_400_at_once(chain, funded, requester_api) -> None:
    """A hash the chain never saw is asked about without waiting: 400 deposit_unknown, not
    a 503 after the node's polling timeout."""
    _, project = funded
    chain.server.chain.polling_timeout = 4.0  # a waiting look-up would take this long
    started = time.monotonic()
    response = _deposit(requester_api, project, base58.b58encode(bytes(range(32))).decode())
    assert time.monotonic() - started < 2.0
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "deposit_unknown"
    assert not Deposit.objects.exists()


@pytest.mark.parametrize(
    ("sender", "code"),
    [
        ("Mallory.localnet", "deposit_sender_invalid"),
        ("a", "deposit_sender_invalid"),
        ("bob..localnet", "deposit_sender_invalid"),
        ("a b", "deposit_sender_invalid"),
        ("x" * 65, "invalid"),  # past the serializer's max_length
    ],
)
def test_malformed_sender_is_400_before_asking_the_chain(
    chain, funded, requester_api, sender, code
) -> None:
    _, project = funded
    chain.client.sandbox("sandbox_fault", {"fault": "http_500", "method": "tx"})
    response = requester_api.post(
        f"/api/projects/{project.public_id}/deposits/",
        {"tx_hash": base58.b58encode(bytes(range(32))).decode(), "sender_account_id": sender},
        format="json",
    )
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == code
    assert chain.client.sandbox("sandbox_clear_faults", {}) == {"cleared": 1}  # never asked


def test_malformed_sender_in_the_service_has_its_own_code(chain, funded) -> None:
    from payouts.errors import DepositError
    from payouts.services.deposits import deposit_credit

    _, project = funded
    with pytest.raises(DepositError) as excinfo:
        deposit_credit(
            user=project.owner,
            escrow_reference=project.escrow_reference,
            tx_hash=base58.b58encode(bytes(range(32))).decode(),
            sender_account_id="Alice.localnet",
        )
    assert excinfo.value.code == "deposit_sender_invalid"


def test_a_node_refusing_the_question_is_not_an_outage(
    chain, funded, requester_api, monkeypatch
) -> None:
    """A request-validation answer (PARSE_ERROR) is about the question: 400, never 503."""
    from payouts.near.client import NearClient, NearRpcError

    def refuse(self, *, tx_hash, sender_account_id):
        raise NearRpcError.from_payload(
            {
                "name": "REQUEST_VALIDATION_ERROR",
                "cause": {"name": "PARSE_ERROR", "info": {"error_message": "bad"}},
                "code": -32700,
                "message": "Parse error",
                "data": "bad",
            },
            method="tx",
            http_status=400,
        )

    monkeypatch.setattr(NearClient, "tx_lookup", refuse)
    _, project = funded
    response = _deposit(requester_api, project, base58.b58encode(bytes(range(32))).decode())
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "deposit_invalid"


def test_node_timeout_is_503(chain, funded, requester_api) -> None:
    key, project = funded
    tx_hash = chain.transfer(key=key, receiver_id=PLATFORM_ACCOUNT, amount=near_to_yocto("1"))
    chain.client.sandbox(
        "sandbox_fault", {"fault": "timeout_before_apply", "method": "tx", "delay": 0}
    )
    response = _deposit(requester_api, project, tx_hash)
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "chain_unavailable"
    assert not Deposit.objects.exists()
    assert _deposit(requester_api, project, tx_hash).status_code == 201


def test_a_node_without_the_outcome_yet_is_deposit_unknown_and_stores_nothing(
    chain, funded, requester_api
) -> None:
    key, project = funded
    tx_hash = chain.transfer(key=key, receiver_id=PLATFORM_ACCOUNT, amount=near_to_yocto("1"))
    chain.client.sandbox("sandbox_fault", {"fault": "shard_not_tracked"})
    response = _deposit(requester_api, project, tx_hash)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "deposit_unknown"
    assert "try again" in response.json()["error"]["message"]
    assert not Deposit.objects.exists()
    assert _deposit(requester_api, project, tx_hash).status_code == 201  # asked again: found


def test_malformed_hash(chain, funded, requester_api) -> None:
    _, project = funded
    response = _deposit(requester_api, project, "not-a-hash")
    assert response.json()["error"]["code"] == "deposit_hash_invalid"


def test_transfer_to_another_receiver(chain, funded, requester_api) -> None:
    key, project = funded
    chain.account_create(account_id="bob.localnet")
    tx_hash = chain.transfer(key=key, receiver_id="bob.localnet", amount=near_to_yocto("1"))
    response = _deposit(requester_api, project, tx_hash)
    assert response.json()["error"]["code"] == "deposit_wrong_receiver"
    assert escrow_balance(reference=project.escrow_reference) == 0


def test_transfer_from_another_account(chain, funded, requester_api) -> None:
    """A node that tracks the sender's shard finds a transaction by its hash alone (the
    sender only routes the question): another account's transfer is found and refused."""
    _, project = funded
    mallory = chain.account_create(account_id="mallory.localnet")
    tx_hash = chain.transfer(key=mallory, receiver_id=PLATFORM_ACCOUNT, amount=near_to_yocto("1"))
    assert _deposit(requester_api, project, tx_hash).json()["error"]["code"] == (
        "deposit_wrong_sender"
    )
    response = requester_api.post(
        f"/api/projects/{project.public_id}/deposits/",
        {"tx_hash": tx_hash, "sender_account_id": "mallory.localnet"},
        format="json",
    )
    assert response.json()["error"]["code"] == "deposit_wrong_sender"
    assert escrow_balance(reference=project.escrow_reference) == 0
    assert not Deposit.objects.exists()


def test_failed_transaction(chain, funded, requester_api) -> None:
    key, project = funded
    tx_hash = chain.transfer(key=key, receiver_id="nobody-here.localnet", amount=near_to_yocto("1"))
    response = _deposit(requester_api, project, tx_hash)
    assert response.json()["error"]["code"] == "deposit_failed"
    assert escrow_balance(reference=project.escrow_reference) == 0


def test_deposit_needs_a_linked_account(chain) -> None:
    user = UserFactory()
    project = ProjectFactory(owner=user, status="draft")
    response = _deposit(api_client_for(user), project, base58.b58encode(bytes(32)).decode())
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "near_account_missing"


def test_chain_down_is_503_and_writes_nothing(funded, requester_api, chain) -> None:
    key, project = funded
    tx_hash = chain.transfer(key=key, receiver_id=PLATFORM_ACCOUNT, amount=near_to_yocto("1"))
    chain.client.sandbox("sandbox_fault", {"fault": "http_500", "count": 1, "method": "tx"})
    response = _deposit(requester_api, project, tx_hash)
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "chain_unavailable"
    assert not Deposit.objects.exists()
    assert _deposit(requester_api, project, tx_hash).status_code == 201  # a retry works


def test_deposit_waits_for_finality_then_is_credited_once(chain, funded, requester_api) -> None:
    """Not yet final: stored pending (202); the periodic recheck credits it once final."""
    from payouts.services.deposits import deposits_recheck

    key, project = funded
    # Finality 3 blocks behind the head, and no blocks unless something happens.
    chain.client.sandbox("sandbox_set_finality", {"blocks": 3, "produce_empty_blocks": False})
    tx_hash = chain.transfer(
        key=key,
        receiver_id=PLATFORM_ACCOUNT,
        amount=near_to_yocto("4"),
        wait_until="EXECUTED_OPTIMISTIC",
    )
    response = _deposit(requester_api, project, tx_hash)
    assert response.status_code == 202, response.content
    assert response.json()["status"] == "pending"
    assert escrow_balance(reference=project.escrow_reference) == 0
    assert deposits_recheck() == {"pending": 1}  # still not final: nothing moves
    assert escrow_balance(reference=project.escrow_reference) == 0

    chain.client.sandbox("sandbox_fast_forward", {"delta_height": 3})
    assert deposits_recheck() == {"credited": 1}
    assert deposits_recheck() == {}
    assert escrow_balance(reference=project.escrow_reference) == near_to_yocto("4")
    deposit = Deposit.objects.get()
    assert deposit.status == "credited"
    assert deposit.journal is not None
    again = _deposit(requester_api, project, tx_hash)
    assert again.json()["error"]["code"] == "deposit_already_used"
    assert Journal.objects.filter(kind="deposit").count() == 1


def test_pending_deposit_is_not_credited_twice_by_concurrent_rechecks(chain, funded) -> None:
    from payouts.services.deposits import deposit_recheck

    key, project = funded
    chain.client.sandbox("sandbox_set_finality", {"blocks": 1, "produce_empty_blocks": False})
    tx_hash = chain.transfer(
        key=key,
        receiver_id=PLATFORM_ACCOUNT,
        amount=near_to_yocto("1"),
        wait_until="EXECUTED_OPTIMISTIC",
    )
    api = api_client_for(project.owner)
    assert _deposit(api, project, tx_hash).status_code == 202
    chain.client.sandbox("sandbox_fast_forward", {"delta_height": 1})
    deposit = Deposit.objects.get()
    for _ in range(3):
        deposit_recheck(deposit_id=deposit.pk)
    assert escrow_balance(reference=project.escrow_reference) == near_to_yocto("1")

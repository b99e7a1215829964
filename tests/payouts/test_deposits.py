"""Deposits are checked on the (local) chain and credited to escrow once per hash."""

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


def test_unknown_hash(chain, funded, requester_api) -> None:
    _, project = funded
    response = _deposit(requester_api, project, base58.b58encode(bytes(range(32))).decode())
    assert response.json()["error"]["code"] == "deposit_unknown"


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
    _, project = funded
    mallory = chain.account_create(account_id="mallory.localnet")
    tx_hash = chain.transfer(key=mallory, receiver_id=PLATFORM_ACCOUNT, amount=near_to_yocto("1"))
    # NEAR looks a transaction up by hash and sender: unnamed, it is not found as ours.
    assert _deposit(requester_api, project, tx_hash).json()["error"]["code"] == "deposit_unknown"
    response = requester_api.post(
        f"/api/projects/{project.public_id}/deposits/",
        {"tx_hash": tx_hash, "sender_account_id": "mallory.localnet"},
        format="json",
    )
    assert response.json()["error"]["code"] == "deposit_wrong_sender"
    assert escrow_balance(reference=project.escrow_reference) == 0


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
    chain.client.sandbox("sandbox_set_finality", {"blocks": 3})
    tx_hash = chain.transfer(key=key, receiver_id=PLATFORM_ACCOUNT, amount=near_to_yocto("4"))
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
    chain.client.sandbox("sandbox_set_finality", {"blocks": 1})
    tx_hash = chain.transfer(key=key, receiver_id=PLATFORM_ACCOUNT, amount=near_to_yocto("1"))
    api = api_client_for(project.owner)
    assert _deposit(api, project, tx_hash).status_code == 202
    chain.client.sandbox("sandbox_fast_forward", {"delta_height": 1})
    deposit = Deposit.objects.get()
    for _ in range(3):
        deposit_recheck(deposit_id=deposit.pk)
    assert escrow_balance(reference=project.escrow_reference) == near_to_yocto("1")

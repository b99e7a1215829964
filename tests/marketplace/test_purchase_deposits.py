"""Buying a dataset version with a NEAR deposit, checked on the local chain: paid at
once when final, settled by the periodic sweep when not, excess and short deposits
returned to the buyer's balance."""

import base58
import pytest

from marketplace.models import Purchase
from marketplace.services.purchases import purchase_settle, purchases_settle
from payouts.models import Deposit, Journal
from payouts.money import near_to_yocto
from payouts.selectors import earnings_summary, escrow_balance, ledger_trial_balance
from tests.conftest import PLATFORM_ACCOUNT, api_client_for, near_account_prove
from tests.factories import UserFactory, dataset_version_ready, earnings_give

pytestmark = pytest.mark.django_db

TOTAL = near_to_yocto("2.2")  # a 2 NEAR price and its 10 % fee


@pytest.fixture
def buyer(chain):
    user = UserFactory(username="buyer")
    key = chain.account_create(amount_near="50", account_id="buyer.localnet")
    near_account_prove(user, key)
    return user, key


@pytest.fixture
def version():
    contributor = UserFactory(username="contrib")
    return dataset_version_ready(price=near_to_yocto("2"), shares={contributor: 4})


def _url(version) -> str:
    return f"/api/datasets/{version.dataset.public_id}/versions/{version.number}/purchases"


def _buy(user, version, tx_hash: str, key: str | None = None):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return api_client_for(user).post(
        _url(version), {"method": "deposit", "tx_hash": tx_hash}, format="json", **headers
    )


def _escrow_empty(purchase: Purchase) -> None:
    assert escrow_balance(reference=purchase.escrow_reference) == 0
    assert escrow_balance(reference=purchase.royalty_reference) == 0
    assert sum(ledger_trial_balance().values()) == 0


def test_a_final_deposit_pays_at_once_and_the_excess_goes_to_the_balance(
    chain, buyer, version
) -> None:
    user, key = buyer
    tx_hash = chain.transfer(key=key, receiver_id=PLATFORM_ACCOUNT, amount=near_to_yocto("3"))
    response = _buy(user, version, tx_hash, key="d1")
    assert response.status_code == 201, response.content
    assert response.json()["status"] == "completed"
    assert response.json()["deposit"] == {"tx_hash": tx_hash, "amount": "3", "status": "credited"}
    purchase = Purchase.objects.get()
    assert purchase.method == "deposit"
    assert earnings_summary(user=user).balance == near_to_yocto("3") - TOTAL
    assert earnings_summary(user=version.dataset.owner).balance == near_to_yocto("1.6")
    assert earnings_summary(user=UserFactory(username="contrib")).balance == near_to_yocto("0.4")
    _escrow_empty(purchase)

    again = _buy(user, version, tx_hash, key="d1")
    assert again.status_code == 200
    assert again["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == str(purchase.public_id)
    assert Deposit.objects.count() == 1
    assert Journal.objects.filter(kind=Journal.Kind.DATASET_SALE).count() == 1


def test_a_short_deposit_fails_the_purchase_and_goes_to_the_balance(chain, buyer, version) -> None:
    user, key = buyer
    tx_hash = chain.transfer(key=key, receiver_id=PLATFORM_ACCOUNT, amount=near_to_yocto("2"))
    response = _buy(user, version, tx_hash)
    assert response.status_code == 409, response.content
    error = response.json()["error"]
    assert error["code"] == "insufficient_funds"
    purchase = Purchase.objects.get()
    assert error["details"] == {"purchase": str(purchase.public_id)}
    assert purchase.status == Purchase.Status.FAILED
    assert purchase.journal is None
    assert earnings_summary(user=user).balance == near_to_yocto("2")
    assert earnings_summary(user=version.dataset.owner).balance == 0
    _escrow_empty(purchase)
    # A failed purchase does not count as owning the version: buy it again.
    earnings_give(user, near_to_yocto("0.2"))
    assert (
        api_client_for(user).post(_url(version), {"method": "balance"}, format="json").status_code
        == 201
    )
    assert earnings_summary(user=user).balance == 0


def test_a_deposit_not_final_yet_is_settled_by_the_sweep(chain, buyer, version) -> None:
    user, key = buyer
    chain.client.sandbox("sandbox_set_finality", {"blocks": 3, "produce_empty_blocks": False})
    tx_hash = chain.transfer(
        key=key,
        receiver_id=PLATFORM_ACCOUNT,
        amount=near_to_yocto("2.5"),
        wait_until="EXECUTED_OPTIMISTIC",
    )
    response = _buy(user, version, tx_hash, key="slow")
    assert response.status_code == 202, response.content
    assert response.json()["status"] == "awaiting_payment"
    purchase_id = response.json()["id"]
    purchase = Purchase.objects.get()
    api = api_client_for(user)
    # Owning nothing yet, but a second purchase is refused while this one waits.
    refused = api.post(_url(version), {"method": "balance"}, format="json")
    assert refused.json()["error"]["code"] == "dataset_already_owned"
    download = api.get(f"/api/datasets/{version.dataset.public_id}/versions/1/files/jsonl")
    assert download.status_code == 403

    assert purchases_settle() == {"awaiting_payment": 1}  # not final: nothing moves
    assert escrow_balance(reference=purchase.escrow_reference) == 0
    chain.client.sandbox("sandbox_fast_forward", {"delta_height": 3})
    assert purchases_settle() == {"completed": 1}
    assert purchases_settle() == {}
    detail = api.get(f"/api/purchases/{purchase_id}/")
    assert detail.json()["status"] == "completed"
    assert earnings_summary(user=user).balance == near_to_yocto("0.3")
    _escrow_empty(purchase)
    assert (
        api.get(f"/api/datasets/{version.dataset.public_id}/versions/1/files/jsonl").status_code
        == 200
    )
    replay = _buy(user, version, tx_hash, key="slow")
    assert (replay.status_code, replay.json()["status"]) == (200, "completed")


def test_a_short_deposit_settled_later_fails_and_is_released(chain, buyer, version) -> None:
    user, key = buyer
    chain.client.sandbox("sandbox_set_finality", {"blocks": 2, "produce_empty_blocks": False})
    tx_hash = chain.transfer(
        key=key,
        receiver_id=PLATFORM_ACCOUNT,
        amount=near_to_yocto("1"),
        wait_until="EXECUTED_OPTIMISTIC",
    )
    assert _buy(user, version, tx_hash).status_code == 202
    chain.client.sandbox("sandbox_fast_forward", {"delta_height": 2})
    assert purchases_settle() == {"failed": 1}
    purchase = Purchase.objects.get()
    assert purchase.failure_code == "insufficient_funds"
    assert earnings_summary(user=user).balance == near_to_yocto("1")
    _escrow_empty(purchase)


def test_a_deposit_that_failed_fails_the_purchase(chain, buyer, version) -> None:
    user, key = buyer
    chain.client.sandbox("sandbox_set_finality", {"blocks": 2, "produce_empty_blocks": False})
    tx_hash = chain.transfer(
        key=key, receiver_id=PLATFORM_ACCOUNT, amount=TOTAL, wait_until="EXECUTED_OPTIMISTIC"
    )
    assert _buy(user, version, tx_hash).status_code == 202
    purchase = Purchase.objects.get()
    # As deposit_recheck leaves a deposit the chain reports failed.
    Deposit.objects.filter(pk=purchase.deposit_id).update(
        status=Deposit.Status.FAILED, failure_reason="The transaction failed on chain."
    )
    assert purchase_settle(purchase_id=purchase.pk).status == Purchase.Status.FAILED
    purchase.refresh_from_db()
    assert purchase.failure_code == "deposit_failed"
    assert earnings_summary(user=user).balance == 0
    assert sum(ledger_trial_balance().values()) == 0
    assert purchase_settle(purchase_id=purchase.pk).status == Purchase.Status.FAILED  # repeat


def test_a_refused_deposit_writes_nothing(chain, buyer, version) -> None:
    user, _ = buyer
    before = ledger_trial_balance()
    response = _buy(user, version, base58.b58encode(bytes(range(32))).decode(), key="x")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "deposit_unknown"
    assert not Purchase.objects.exists()
    assert not Deposit.objects.exists()
    assert ledger_trial_balance() == before


def test_a_deposit_from_someone_else_is_refused(chain, buyer, version) -> None:
    user, _ = buyer
    other = chain.account_create(amount_near="10", account_id="mallory.localnet")
    tx_hash = chain.transfer(key=other, receiver_id=PLATFORM_ACCOUNT, amount=TOTAL)
    response = _buy(user, version, tx_hash)
    assert response.json()["error"]["code"] == "deposit_wrong_sender"
    assert not Purchase.objects.exists()
    assert not Deposit.objects.exists()

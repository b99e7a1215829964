"""A dataset bought over the API with a NEAR deposit on the local chain: the seller's
price and the contributors' royalties are paid out automatically, and the chain's
balances equal the ledger's. A retry with the same Idempotency-Key charges once."""

import pytest

from marketplace.models import Purchase
from payouts.models import Journal, Payout
from payouts.money import near_to_yocto, yocto_to_near
from payouts.near.keys import key_generate
from payouts.selectors import ledger_trial_balance
from payouts.services.ledger import IN_FLIGHT_KEY, PLATFORM_FEES_KEY
from payouts.services.payouts import payouts_reconcile
from tests.conftest import PLATFORM_ACCOUNT, PLATFORM_CAPITAL, api_client_for, near_account_prove
from tests.factories import ProjectFactory, UserFactory, dataset_version_ready

pytestmark = pytest.mark.django_db(transaction=True)  # payouts go out after each commit


def test_a_purchase_pays_seller_and_contributors_on_chain(chain) -> None:
    people = {}
    for name in ("seller", "ann", "bob", "cy"):
        people[name] = UserFactory(username=name)
        near_account_prove(people[name], key_generate())  # implicit accounts: new on chain
    buyer = UserFactory(username="buyer")
    wallet = chain.account_create(amount_near="20", account_id="buyer.localnet")
    near_account_prove(buyer, wallet)
    version = dataset_version_ready(
        project=ProjectFactory(owner=people["seller"], status="completed"),
        price=near_to_yocto("3"),
        royalty_bps=3000,  # 0.9 NEAR shared 5:3:1
        shares={people["ann"]: 5, people["bob"]: 3, people["cy"]: 1},
    )
    tx_hash = chain.transfer(key=wallet, receiver_id=PLATFORM_ACCOUNT, amount=near_to_yocto("3.3"))
    api = api_client_for(buyer)
    url = f"/api/datasets/{version.dataset.public_id}/versions/1/purchases"
    body = {"method": "deposit", "tx_hash": tx_hash}
    first = api.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="buy-1")
    assert first.status_code == 201, first.content
    again = api.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="buy-1")
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert Purchase.objects.count() == 1
    assert Journal.objects.filter(kind=Journal.Kind.DATASET_SALE).count() == 1

    # The automatic payouts ran after the commit (eager tasks); move any still open on,
    # as beat's reconcile would.
    for _ in range(20):
        if not Payout.objects.filter(status__in=Payout.OPEN_STATUSES).exists():
            break
        payouts_reconcile(older_than_seconds=0)
    payouts = {p.user.username: p for p in Payout.objects.select_related("user")}
    assert set(payouts) == {"seller", "ann", "bob", "cy"}
    assert {p.status for p in payouts.values()} == {Payout.Status.CONFIRMED}
    assert payouts["seller"].amount == near_to_yocto("2.1")  # 3 - 0.9
    assert payouts["ann"].amount == near_to_yocto("0.5")
    assert payouts["bob"].amount == near_to_yocto("0.3")
    assert payouts["cy"].amount == near_to_yocto("0.1")
    for name, payout in payouts.items():
        assert chain.balance(payout.receiver_id) == payout.amount, name
        me = api_client_for(people[name]).get("/api/me/").json()
        assert me["balance"] == "0"
        assert me["earned"] == "0"  # no task pay: sales and royalties only
        assert me["paid"] == yocto_to_near(payout.amount)
    assert api_client_for(people["ann"]).get("/api/me/").json()["royalties"]["total"] == "0.5"

    balances = ledger_trial_balance()
    assert sum(balances.values()) == 0
    assert balances.get(IN_FLIGHT_KEY, 0) == 0
    assert balances[f"escrow:purchase:{first.json()['id']}"] == 0
    assert balances[f"escrow:royalties:{first.json()['id']}"] == 0
    held = sum(
        v
        for k, v in balances.items()
        if k.startswith(("escrow:", "earnings:")) or k == PLATFORM_FEES_KEY
    )
    assert chain.balance(PLATFORM_ACCOUNT) == PLATFORM_CAPITAL + held

    # The buyer downloads; a contributor (not a buyer) does not.
    files = f"/api/datasets/{version.dataset.public_id}/versions/1/files/parquet"
    assert api.get(files).status_code == 200
    assert api_client_for(people["ann"]).get(files).status_code == 403

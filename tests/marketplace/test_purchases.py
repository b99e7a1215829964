"""Buying a dataset version from the balance: the sale and its royalties go through the
ledger once, exactly, and refusals write nothing."""

import logging
import threading
import uuid

import pytest
from django.db import connection

from marketplace.errors import DatasetNotForSaleError
from marketplace.models import DatasetVersion, Purchase
from marketplace.services import purchases as purchases_module
from marketplace.services.purchases import purchase_create
from payouts.models import Journal, JournalLine
from payouts.money import near_to_yocto
from payouts.selectors import earnings_summary, ledger_trial_balance
from payouts.services.ledger import PLATFORM_FEES_KEY
from tests.conftest import api_client_for
from tests.factories import UserFactory, dataset_version_ready, earnings_give

pytestmark = pytest.mark.django_db

PRICE = near_to_yocto("2")  # fee 10 % (DATASET_FEE_BPS): the buyer pays 2.2 NEAR


@pytest.fixture
def people():
    return {name: UserFactory(username=name) for name in ("buyer", "ann", "bob", "cy")}


@pytest.fixture
def version(people):
    # 20 % of 2 NEAR = 0.4 NEAR shared 3:2:1 among ann, bob, cy.
    return dataset_version_ready(
        price=PRICE,
        royalty_bps=2000,
        shares={people["ann"]: 3, people["bob"]: 2, people["cy"]: 1},
    )


def _balance(user) -> int:
    return earnings_summary(user=user).balance


def _purchase_url(version: DatasetVersion) -> str:
    return f"/api/datasets/{version.dataset.public_id}/versions/{version.number}/purchases"


def _buy(api, version, key: str | None = None, body=None):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key is not None else {}
    return api.post(_purchase_url(version), body or {"method": "balance"}, format="json", **headers)


def _ledger_untouched(before: dict[str, int]) -> None:
    assert ledger_trial_balance() == before
    assert not Purchase.objects.exists()


def test_a_sale_moves_price_fee_and_royalties_through_the_ledger(people, version) -> None:
    buyer = people["buyer"]
    earnings_give(buyer, near_to_yocto("3"))
    fees_before = ledger_trial_balance().get(PLATFORM_FEES_KEY, 0)
    response = _buy(api_client_for(buyer), version, key="k1")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "completed"
    assert (body["price"], body["fee"], body["royalty"]) == ("2", "0.2", "0.4")
    assert body["price_yocto"] == str(PRICE)
    assert "Idempotent-Replayed" not in response

    purchase = Purchase.objects.get()
    assert purchase.journal is not None
    assert purchase.journal.kind == Journal.Kind.DATASET_SALE
    assert purchase.journal.idempotency_key == f"purchase:{purchase.public_id}"
    assert _balance(buyer) == near_to_yocto("0.8")  # 3 - 2.2
    assert _balance(version.dataset.owner) == near_to_yocto("1.6")  # price - royalty
    balances = ledger_trial_balance()
    assert balances[PLATFORM_FEES_KEY] - fees_before == near_to_yocto("0.2")
    # 0.4 NEAR in proportion 3:2:1: 0.2, 0.1333..., 0.0666...; sums exactly.
    shares = [_balance(people[n]) for n in ("ann", "bob", "cy")]
    assert sum(shares) == near_to_yocto("0.4")
    assert shares[0] == near_to_yocto("0.2")
    assert abs(shares[1] - near_to_yocto("0.4") * 2 / 6) <= 1
    assert abs(shares[2] - near_to_yocto("0.4") / 6) <= 1
    assert balances[f"escrow:royalties:{purchase.public_id}"] == 0  # the pool is emptied
    assert sum(balances.values()) == 0
    royalty = Journal.objects.get(kind=Journal.Kind.ROYALTY)
    assert royalty.idempotency_key == f"royalty:{purchase.public_id}"
    # Royalties are apart from task pay.
    assert earnings_summary(user=people["ann"]).earned == 0


def test_the_same_key_twice_charges_once(people, version) -> None:
    buyer = people["buyer"]
    earnings_give(buyer, near_to_yocto("5"))
    api = api_client_for(buyer)
    first = _buy(api, version, key="same")
    again = _buy(api, version, key="same")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert Purchase.objects.count() == 1
    assert Journal.objects.filter(kind=Journal.Kind.DATASET_SALE).count() == 1
    assert _balance(buyer) == near_to_yocto("2.8")


def test_the_same_key_for_another_request_is_422(people, version) -> None:
    buyer = people["buyer"]
    earnings_give(buyer, near_to_yocto("5"))
    other = dataset_version_ready(price=PRICE, royalty_bps=0)
    api = api_client_for(buyer)
    assert _buy(api, version, key="k").status_code == 201
    response = _buy(api, other, key="k")
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "idempotency_key_reused"
    assert Purchase.objects.count() == 1


def test_a_second_purchase_of_the_same_version_is_refused(people, version) -> None:
    buyer = people["buyer"]
    earnings_give(buyer, near_to_yocto("5"))
    api = api_client_for(buyer)
    assert _buy(api, version, key="a").status_code == 201
    before = ledger_trial_balance()
    response = _buy(api, version, key="b")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "dataset_already_owned"
    assert _buy(api, version).json()["error"]["code"] == "dataset_already_owned"
    assert ledger_trial_balance() == before
    assert Purchase.objects.count() == 1


def test_insufficient_funds_writes_nothing(people, version) -> None:
    buyer = people["buyer"]
    earnings_give(buyer, near_to_yocto("2.1999"))
    before = ledger_trial_balance()
    response = _buy(api_client_for(buyer), version, key="poor")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "insufficient_funds"
    _ledger_untouched(before)
    # The refusal is not remembered: with the money there, the same key buys.
    earnings_give(buyer, near_to_yocto("1"))
    assert _buy(api_client_for(buyer), version, key="poor").status_code == 201


def test_the_owner_cannot_buy_their_own_dataset(version) -> None:
    owner = version.dataset.owner
    earnings_give(owner, near_to_yocto("5"))
    before = ledger_trial_balance()
    response = _buy(api_client_for(owner), version)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "dataset_own_purchase"
    _ledger_untouched(before)


@pytest.mark.parametrize(
    "change",
    [
        {"is_on_sale": False},
        {"status": DatasetVersion.Status.BUILDING},
        {"status": DatasetVersion.Status.FAILED},
        "unlisted",
    ],
)
def test_only_a_ready_version_on_sale_of_a_listed_dataset_is_sold(people, version, change) -> None:
    buyer = people["buyer"]
    earnings_give(buyer, near_to_yocto("5"))
    if change == "unlisted":
        version.dataset.is_listed = False
        version.dataset.save()
    else:
        DatasetVersion.objects.filter(pk=version.pk).update(**change)
    before = ledger_trial_balance()
    with pytest.raises(DatasetNotForSaleError):
        purchase_create(user=buyer, version=version, method="balance")
    _ledger_untouched(before)


def test_no_shares_the_royalty_goes_to_the_seller(people) -> None:
    version = dataset_version_ready(price=PRICE, royalty_bps=5000)
    buyer = people["buyer"]
    earnings_give(buyer, near_to_yocto("3"))
    purchase, created = purchase_create(user=buyer, version=version, method="balance")
    assert created
    assert purchase.status == Purchase.Status.COMPLETED
    assert _balance(version.dataset.owner) == PRICE
    assert sum(ledger_trial_balance().values()) == 0


def test_a_zero_royalty_posts_no_royalty_journal(people) -> None:
    version = dataset_version_ready(price=PRICE, royalty_bps=0, shares={people["ann"]: 1})
    earnings_give(people["buyer"], near_to_yocto("3"))
    purchase_create(user=people["buyer"], version=version, method="balance")
    assert not Journal.objects.filter(kind=Journal.Kind.ROYALTY).exists()
    assert _balance(version.dataset.owner) == PRICE
    assert _balance(people["ann"]) == 0


def test_a_contributor_who_buys_gets_their_own_share(people, version) -> None:
    ann = people["ann"]
    earnings_give(ann, near_to_yocto("3"))
    purchase_create(user=ann, version=version, method="balance")
    assert _balance(ann) == near_to_yocto("3") - near_to_yocto("2.2") + near_to_yocto("0.2")


def test_auto_payouts_are_enqueued_after_commit_for_everyone_credited(
    people, version, monkeypatch, django_capture_on_commit_callbacks
) -> None:
    sent = []
    monkeypatch.setattr(
        purchases_module.payout_auto_task, "apply_async", lambda args: sent.append(args[0])
    )
    earnings_give(people["buyer"], near_to_yocto("3"))
    with django_capture_on_commit_callbacks(execute=True):
        purchase_create(user=people["buyer"], version=version, method="balance")
    expected = sorted([version.dataset.owner_id, *(people[n].pk for n in ("ann", "bob", "cy"))])
    assert sorted(sent) == expected


@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicates_on_two_connections_charge_once(monkeypatch, caplog) -> None:
    """The second request passes the key look-up while the first's purchase is
    uncommitted; it waits on the unique index (PostgreSQL) or the write lock (SQLite)
    and, once the first commits, answers the first's purchase."""
    monkeypatch.setattr(purchases_module, "enqueue_on_commit", lambda task, *args: None)
    buyer = UserFactory(username="buyer")
    version = dataset_version_ready(price=PRICE, shares={UserFactory(username="c"): 1})
    earnings_give(buyer, near_to_yocto("5"))
    inside, release = threading.Event(), threading.Event()
    pay = purchases_module._purchase_pay

    def pay_then_pause(purchase, **kwargs):
        pay(purchase, **kwargs)
        if threading.current_thread().name == "first":
            inside.set()
            release.wait(30)

    monkeypatch.setattr(purchases_module, "_purchase_pay", pay_then_pause)
    results: dict[str, object] = {}

    def buy(name: str, key: str) -> None:
        try:
            results[name] = purchase_create(
                user=buyer, version=version, method="balance", idempotency_key=key
            )
        except Exception as exc:  # reported below
            results[name] = exc
        finally:
            connection.close()

    first = threading.Thread(target=buy, args=("first", "k"), name="first")
    second = threading.Thread(target=buy, args=("second", "k"), name="second")
    with caplog.at_level(logging.INFO, logger=purchases_module.__name__):
        first.start()
        assert inside.wait(30)
        second.start()
        second.join(1.5)
        assert second.is_alive(), results  # held behind the first's uncommitted purchase
        release.set()
        first.join(30)
        second.join(30)
    (purchase_a, created_a), (purchase_b, created_b) = results["first"], results["second"]
    assert (created_a, created_b) == (True, False)
    assert purchase_a.pk == purchase_b.pk
    assert Purchase.objects.count() == 1
    assert Journal.objects.filter(kind=Journal.Kind.DATASET_SALE).count() == 1
    assert _balance(buyer) == near_to_yocto("2.8")
    assert "raced" in caplog.text


@pytest.mark.django_db(transaction=True)
def test_concurrent_purchases_with_two_keys_buy_once(monkeypatch) -> None:
    """Two keys, the same version, at the same time: one purchase, the other
    dataset_already_owned, charged once (the partial unique constraint)."""
    monkeypatch.setattr(purchases_module, "enqueue_on_commit", lambda task, *args: None)
    buyer = UserFactory(username="buyer")
    version = dataset_version_ready(price=PRICE)
    earnings_give(buyer, near_to_yocto("5"))
    inside, release = threading.Event(), threading.Event()
    pay = purchases_module._purchase_pay

    def pay_then_pause(purchase, **kwargs):
        pay(purchase, **kwargs)
        if threading.current_thread().name == "first":
            inside.set()
            release.wait(30)

    monkeypatch.setattr(purchases_module, "_purchase_pay", pay_then_pause)
    results: dict[str, object] = {}

    def buy(name: str) -> None:
        try:
            results[name] = purchase_create(
                user=buyer, version=version, method="balance", idempotency_key=str(uuid.uuid4())
            )
        except Exception as exc:  # reported below
            results[name] = exc
        finally:
            connection.close()

    first = threading.Thread(target=buy, args=("first",), name="first")
    second = threading.Thread(target=buy, args=("second",), name="second")
    first.start()
    assert inside.wait(30)
    second.start()
    second.join(1.5)
    release.set()
    first.join(30)
    second.join(30)
    assert results["first"][1] is True  # type: ignore[index]
    assert getattr(results["second"], "code", None) == "dataset_already_owned", results
    assert Purchase.objects.count() == 1
    assert _balance(buyer) == near_to_yocto("2.8")
    assert JournalLine.objects.filter(journal__kind=Journal.Kind.DATASET_SALE).count() == 4

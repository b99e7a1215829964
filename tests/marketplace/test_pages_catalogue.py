"""The dataset pages: the catalogue (search, filters, ordering, strict paging), a
dataset's page (datasheet, figures, samples, versions; downloads for the owner and
buyers only; the buy panel for others), buying from the balance through the page form
(the ledger moves once, whatever the submits), the purchase check, and "My datasets"."""

import html
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from marketplace.models import DatasetVersion, Purchase
from payouts.models import Deposit, Journal
from payouts.money import near_to_yocto
from payouts.selectors import earnings_summary, ledger_trial_balance
from payouts.services.ledger import PLATFORM_FEES_KEY, escrow_account
from tests.factories import ProjectFactory, UserFactory, dataset_version_ready, earnings_give

pytestmark = pytest.mark.django_db

PRICE = near_to_yocto("2")  # + 10 % fee: 2.2 NEAR


@pytest.fixture
def people():
    return {name: UserFactory(username=name) for name in ("seller", "buyer", "ann", "bob")}


@pytest.fixture
def version(people):
    version = dataset_version_ready(
        project=ProjectFactory(owner=people["seller"], status="completed"),
        title="Pets <b>labelled</b>",
        summary="Short texts about pets.",
        price=PRICE,
        royalty_bps=2000,  # 0.4 NEAR, 3:1 to ann and bob
        shares={people["ann"]: 3, people["bob"]: 1},
        items=5,
    )
    DatasetVersion.objects.filter(pk=version.pk).update(
        motivation="Line one <script>\nline two",
        statistics={
            "agreement": {
                "overall": "0.8750",
                "per_label": [{"label": "cat", "answers": 4, "agreeing": "0.7500"}],
            },
            "label_distribution": [{"label": "cat", "items": 3, "share": "0.6000"}],
            "acceptance_rate": "0.9000",
            "mean_score": "0.8123",
            "mean_confidence": "0.9500",
            "contributors": 2,
            "model": {"name": "minilm", "version": "2", "sha256": "ab" * 32},
        },
        samples=[{"data": {"text": "</code><script>x</script>"}, "final_answer": "cat"}],
    )
    version.refresh_from_db()
    return version


def page_url(version) -> str:
    return f"/datasets/{version.dataset.public_id}/"


def buy_url(version) -> str:
    return f"/datasets/{version.dataset.public_id}/versions/{version.number}/buy/"


def text(response) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode())).split())


def form_key(page: str, method: str) -> str:
    return re.search(
        rf'name="idempotency_key" value="([^"]+)" id="{method}-idempotency_key"', page
    )[1]


def balance(user) -> int:
    return earnings_summary(user=user).balance


# --- The catalogue ------------------------------------------------------------------------


def test_the_catalogue_lists_datasets_on_sale_to_anyone(client, version) -> None:
    hidden = dataset_version_ready(title="Withdrawn", is_on_sale=False)
    response = client.get("/datasets/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Pets &lt;b&gt;labelled&lt;/b&gt;" in page  # escaped
    shown = text(response)
    for figure in ("Short texts about pets.", "87.5%", "0.8123", "CC-BY-4.0", "2.2 NEAR", "v1"):
        assert figure in shown, figure
    assert str(hidden.dataset.public_id) not in page
    assert 'href="/datasets/"' in page  # the nav link


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ("q=PETS", True),
        ("q=nothing+like+it", False),
        ("task_type=classification", True),
        ("licence=CC0-1.0", False),
        ("licence=CC-BY-4.0", True),
        ("min_items=5", True),
        ("min_items=6", False),
        ("max_items=4", False),
        ("max_price=2.2", True),
        ("max_price=2.19", False),
        ("ordering=-price&q=&licence=", True),  # blank filters are no filters
    ],
)
def test_filters_narrow_the_catalogue(client, version, query, found) -> None:
    response = client.get(f"/datasets/?{query}")
    assert response.status_code == 200
    assert (str(version.dataset.public_id) in response.content.decode()) is found


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("max_price=1e309", "invalid"),
        ("max_price=-1", "invalid"),
        ("min_items=-1", "min_value"),
        ("min_items=99999999999999999999", "max_value"),
        ("licence=GPL", "invalid_choice"),
        ("ordering=random", "invalid_choice"),
        ("q=a%00b", "null_characters_not_allowed"),
        ("page=0", "page_invalid"),
        ("page=abc", "page_invalid"),
        ("page=99999999999", "page_invalid"),
        ("page=2", "page_not_found"),
    ],
)
def test_bad_filters_and_pages_are_refused_with_their_code(client, version, query, code) -> None:
    response = client.get(f"/datasets/?{query}")
    assert 400 <= response.status_code < 500
    assert f"[{code}]" in text(response)


def test_paging_keeps_the_filters(client, settings, monkeypatch) -> None:
    from marketplace import views_datasets

    monkeypatch.setattr(views_datasets, "CATALOGUE_PER_PAGE", 2)
    for n in range(3):
        dataset_version_ready(title=f"Set {n}")
    first = client.get("/datasets/?q=set&ordering=newest").content.decode()
    assert first.count("data-dataset=") == 2
    assert 'href="?q=set&amp;ordering=newest&amp;page=2"' in first
    second = client.get("/datasets/?q=set&ordering=newest&page=2").content.decode()
    assert second.count("data-dataset=") == 1


def test_the_catalogue_costs_the_same_queries_whatever_its_size(client) -> None:
    dataset_version_ready()
    with CaptureQueriesContext(connection) as few:
        client.get("/datasets/")
    for _ in range(6):
        dataset_version_ready()
    with CaptureQueriesContext(connection) as many:
        client.get("/datasets/")
    assert len(many) == len(few) <= 6


# --- A dataset's page ---------------------------------------------------------------------


def test_the_dataset_page_shows_the_datasheet_and_figures_escaped(client, version) -> None:
    response = client.get(page_url(version))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Line one &lt;script&gt;<br>line two" in page
    assert "<script>x</script>" not in page
    assert "&lt;/code&gt;&lt;script&gt;x&lt;/script&gt;" in page
    shown = text(response)
    for figure in ("87.5%", "75.0%", "60.0%", "90.0%", "95.0%", "minilm", "ab" * 32):
        assert figure in shown, figure
    assert version.manifest_sha256 in shown
    assert "Sign in to buy" in shown
    assert "/files/" not in page
    assert "/manifest" not in page


def test_a_version_is_chosen_with_version(client, version) -> None:
    second = dataset_version_ready(project=version.dataset.project, price=near_to_yocto("5"))
    assert "5.5 NEAR" in text(client.get(page_url(version)))  # the newest by default
    assert "2.2 NEAR" in text(client.get(f"{page_url(version)}?version=1"))
    assert second.number == 2
    for bad in ("3", "0", "x", "1e309", "99999999999999", "-1"):
        assert client.get(f"{page_url(version)}?version={bad}").status_code == 404


def test_an_unknown_or_unlisted_dataset_is_404(client, version) -> None:
    assert client.get("/datasets/00000000-0000-0000-0000-000000000000/").status_code == 404
    assert client.get("/datasets/not-a-uuid/").status_code == 404
    version.dataset.is_listed = False
    version.dataset.save()
    assert client.get(page_url(version)).status_code == 404


def test_a_non_buyer_gets_the_buy_panel_and_no_download_link(client, people, version) -> None:
    earnings_give(people["buyer"], near_to_yocto("1"))
    client.force_login(people["buyer"])
    response = client.get(page_url(version))
    page = response.content.decode()
    assert "/files/" not in page
    assert "/manifest" not in page
    shown = text(response)
    assert "Your balance: 1 NEAR" in shown
    assert "does not cover" in shown
    assert 'data-receiver="nearlabel.localnet"' in page or "data-receiver=" in page
    assert f'data-amount="{PRICE * 11 // 10}"' in page
    # and the API refuses the file itself
    files = f"/api/datasets/{version.dataset.public_id}/versions/1/files/jsonl"
    assert client.get(files).status_code == 403


def test_the_owner_gets_downloads_and_the_verify_block(client, people, version) -> None:
    client.force_login(people["seller"])
    page = client.get(page_url(version)).content.decode()
    base = f"/api/datasets/{version.dataset.public_id}/versions/1"
    for link in ("/files/jsonl", "/files/csv", "/files/parquet", "/manifest"):
        assert f'href="{base}{link}"' in page
    assert "manage.py dataset_verify" in page
    assert "/api/datasets/verify" in page
    assert "Pay 2.2 NEAR" not in page


def test_the_dataset_page_costs_a_bounded_number_of_queries(client, people, version) -> None:
    client.force_login(people["buyer"])
    with CaptureQueriesContext(connection) as queries:
        assert client.get(page_url(version)).status_code == 200
    assert len(queries) <= 16


# --- Buying from the balance ---------------------------------------------------------------


def test_buying_from_the_balance_through_the_page_moves_the_ledger_once(
    client, people, version
) -> None:
    buyer = people["buyer"]
    earnings_give(buyer, near_to_yocto("3"))
    client.force_login(buyer)
    page = client.get(page_url(version)).content.decode()
    key = form_key(page, "balance")
    body = {"method": "balance", "idempotency_key": key}
    response = client.post(buy_url(version), body)
    assert response.status_code == 302
    assert response["Location"] == f"{page_url(version)}?version=1"
    # The same form again (a double click): the same purchase, charged once.
    again = client.post(buy_url(version), body, follow=True)
    assert "recorded already" in text(again)
    assert Purchase.objects.get().status == Purchase.Status.COMPLETED
    assert Journal.objects.filter(kind=Journal.Kind.DATASET_SALE).count() == 1
    assert balance(buyer) == near_to_yocto("0.8")
    assert balance(people["seller"]) == near_to_yocto("1.6")
    assert balance(people["ann"]) == near_to_yocto("0.3")
    assert balance(people["bob"]) == near_to_yocto("0.1")
    assert ledger_trial_balance()[PLATFORM_FEES_KEY] == near_to_yocto("0.2")
    # Now the page offers the files, and "My datasets" lists them.
    shown = client.get(page_url(version)).content.decode()
    assert "/files/parquet" in shown
    assert "Pay 2.2 NEAR" not in shown
    mine = client.get("/datasets/purchases/").content.decode()
    assert "Completed" in mine
    assert "/files/csv" in mine


def test_a_second_form_for_an_owned_version_is_refused_with_its_code(
    client, people, version
) -> None:
    earnings_give(people["buyer"], near_to_yocto("5"))
    client.force_login(people["buyer"])
    client.post(buy_url(version), {"method": "balance", "idempotency_key": "first"})
    before = ledger_trial_balance()
    response = client.post(
        buy_url(version), {"method": "balance", "idempotency_key": "second"}, follow=True
    )
    assert "[dataset_already_owned]" in text(response)
    assert "/files/" in response.content.decode()  # the buyer's page, with the files
    assert ledger_trial_balance() == before
    assert Purchase.objects.count() == 1


@pytest.mark.parametrize(
    ("who", "code"),
    [("buyer", "insufficient_funds"), ("seller", "dataset_own_purchase")],
)
def test_refusals_are_shown_with_their_code_and_write_nothing(
    client, people, version, who, code
) -> None:
    earnings_give(people["buyer"], near_to_yocto("1"))
    client.force_login(people[who])
    before = ledger_trial_balance()
    response = client.post(
        buy_url(version), {"method": "balance", "idempotency_key": "k1"}, follow=True
    )
    assert response.status_code == 200
    assert f"[{code}]" in text(response)
    assert ledger_trial_balance() == before
    assert not Purchase.objects.exists()


def test_a_deposit_form_with_a_bad_hash_is_refused_with_its_code(client, people, version) -> None:
    client.force_login(people["buyer"])
    response = client.post(
        buy_url(version),
        {"method": "deposit", "tx_hash": "not base58 0OIl", "idempotency_key": "k"},
    )
    assert response.status_code == 200
    assert re.search(r"\[(invalid|deposit_hash_invalid)\]", text(response))
    assert not Purchase.objects.exists()
    assert not Deposit.objects.exists()


def test_anonymous_buying_goes_to_the_sign_in(client, version) -> None:
    response = client.post(buy_url(version), {"method": "balance", "idempotency_key": "k"})
    assert response.status_code == 302
    assert "/signin/" in response["Location"]
    assert not Purchase.objects.exists()


# --- A purchase waiting for its deposit -----------------------------------------------------


def awaiting_purchase(buyer, version) -> Purchase:
    purchase = Purchase(
        version=version,
        buyer=buyer,
        method=Purchase.Method.DEPOSIT,
        status=Purchase.Status.AWAITING_PAYMENT,
        price=version.price,
        fee=version.fee,
        royalty=version.royalty,
    )
    purchase.deposit = Deposit.objects.create(
        tx_hash="8" * 44,
        sender_account_id="buyer.localnet",
        amount=version.total_price,
        escrow=escrow_account(reference=purchase.escrow_reference),
        created_by=buyer,
    )
    purchase.save()
    return purchase


def test_a_waiting_purchase_polls_and_refreshes_once_decided(
    client, people, version, monkeypatch
) -> None:
    from marketplace import views_datasets

    purchase = awaiting_purchase(people["buyer"], version)
    client.force_login(people["buyer"])
    page = client.get(page_url(version)).content.decode()
    check = f"/datasets/purchases/{purchase.public_id}/check/"
    assert f'hx-post="{check}"' in page
    assert "Pay 2.2 NEAR" not in page
    monkeypatch.setattr(views_datasets, "deposit_recheck", lambda deposit_id: None)
    still = client.post(check, HTTP_HX_REQUEST="true")
    assert still.status_code == 200
    assert f'hx-post="{check}"' in still.content.decode()

    def failed(deposit_id):
        Deposit.objects.filter(pk=deposit_id).update(status="failed", failure_reason="reverted")

    monkeypatch.setattr(views_datasets, "deposit_recheck", failed)
    done = client.post(check, HTTP_HX_REQUEST="true")
    assert done["HX-Refresh"] == "true"
    purchase.refresh_from_db()
    assert (purchase.status, purchase.failure_code) == ("failed", "deposit_failed")
    assert "[deposit_failed]" in text(client.get(page_url(version)))


def test_someone_elses_purchase_check_is_404_and_get_is_405(client, people, version) -> None:
    purchase = awaiting_purchase(people["buyer"], version)
    check = f"/datasets/purchases/{purchase.public_id}/check/"
    client.force_login(people["ann"])
    assert client.post(check).status_code == 404
    client.force_login(people["buyer"])
    assert client.get(check).status_code == 405
    purchase.refresh_from_db()
    assert purchase.status == Purchase.Status.AWAITING_PAYMENT


# --- My datasets ----------------------------------------------------------------------------


def test_my_datasets_needs_a_sign_in_and_lists_only_mine(client, people, version) -> None:
    assert client.get("/datasets/purchases/").status_code == 302
    awaiting_purchase(people["buyer"], version)
    client.force_login(people["buyer"])
    page = client.get("/datasets/purchases/").content.decode()
    assert 'data-purchase-status="awaiting_payment"' in page
    assert "/files/" not in page
    client.force_login(people["ann"])
    assert "You have bought no dataset yet." in client.get("/datasets/purchases/").content.decode()
    for bad in ("0", "x", "2", "99999999999"):
        assert client.get(f"/datasets/purchases/?page={bad}").status_code in (400, 404)

"""Buying a dataset in a real browser. A seller's completed project is published as a
dataset (through the services: the files, the manifest signed with the local chain's
platform key); a buyer signs in, finds it with the catalogue's search, reads its
datasheet, buys it (from their balance; in the second test with a NEAR transfer signed
in the page and credited on the local chain), and downloads every file and the signed
manifest, which verifies against the chain. The contributors see their royalties apart
from task pay on their earnings page, and the royalty payouts are confirmed on chain,
the chain's balances equal to the ledger's. No page logs an error, opens a dialog,
reaches beyond the app and the chain, or has a serious accessibility violation."""

import json
from pathlib import Path
from unittest import mock

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import expect

from labeling.services.projects import project_close
from marketplace.models import DatasetVersion, Purchase
from marketplace.services.datasets import dataset_publish
from marketplace.services.manifests import manifest_verify
from marketplace.storage import store_open
from payouts.models import Journal, Payout
from payouts.money import near_to_yocto, yocto_to_near
from payouts.near.keys import key_generate
from payouts.selectors import earnings_summary, ledger_trial_balance
from payouts.services.payouts import payouts_reconcile
from tests.browser.conftest import axe_violations, screenshot
from tests.conftest import PLATFORM_ACCOUNT, near_account_prove
from tests.factories import UserFactory, earnings_give
from tests.labeling.dashboard_data import dashboard_project

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

STORAGE_KEY = "nearlabel.browserAccount"
PRICE = near_to_yocto("3")  # + 10 % fee: 3.3 NEAR; 20 % royalty: 0.6 NEAR, 0.2 each
# Every answer agrees, so every answer is accepted and closing completes the project.
ANSWERS = [("cat", "cat", "cat"), ("dog", "dog", "dog"), ("bird", "bird", "bird")] * 2


def assert_clean(page) -> None:
    assert page.watched.console_errors == []
    assert page.watched.dialogs == []
    assert page.watched.outside_requests == []
    assert axe_violations(page) == []


def sign_in(page, live_server, user) -> None:
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    page.context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": live_server.url}])


def published_dataset() -> DatasetVersion:
    """A completed project of alice, bob and carol's answers, sold by its owner."""
    with mock.patch("config.enqueue._send"):  # task pay stays in the balances for now
        project = dashboard_project(title="Pets", answers=ANSWERS)
        project_close(project=project)
    project.refresh_from_db()
    assert project.status == "completed"
    near_account_prove(project.owner, key_generate())
    for contributor in ("alice", "bob", "carol"):
        near_account_prove(
            UserFactory._meta.model.objects.get(username=contributor), key_generate()
        )
    version = dataset_publish(  # the build runs on commit (eager Celery)
        user=project.owner,
        project=project,
        title="Pets, labelled",
        summary="Short texts about pets, each labelled by three people.",
        licence="CC-BY-4.0",
        price=PRICE,
        royalty_bps=2000,
        motivation="To train a pet classifier.\nAnd to test <b>escaping</b>.",
        composition="Six short texts.",
        collection_process="Three contributors answered every item.",
    )
    version.refresh_from_db()
    assert version.status == DatasetVersion.Status.READY, version.error_message
    return version


def find_and_read(page, version) -> None:
    page.goto("/")
    page.get_by_role("link", name="Datasets", exact=True).click()
    page.wait_for_url("**/datasets/")
    page.get_by_role("searchbox").fill("pets")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url("**/datasets/?q=pets*")
    expect(page.locator("#catalogue-count")).to_have_text("1 dataset")
    assert_clean(page)
    screenshot(page, "datasets-catalogue")
    page.get_by_role("link", name="Pets, labelled").click()
    page.wait_for_url(f"**/datasets/{version.dataset.public_id}/")
    expect(page.locator('[data-datasheet="motivation"]')).to_contain_text(
        "And to test <b>escaping</b>."
    )
    expect(page.locator("#figures")).to_contain_text("Acceptance rate")
    expect(page.locator("#total-price")).to_have_text("3.3 NEAR")
    assert page.locator("[data-download]").count() == 0
    assert_clean(page)


def downloads_match_the_store(page, version) -> None:
    """Every file saved from the page is the stored one; the manifest verifies."""
    expect(page.locator("#downloads")).to_be_visible()
    files = {}
    for dataset_file in version.files.all():
        with page.expect_download() as download:
            page.locator(f'[data-download="{dataset_file.format}"]').click()
        data = Path(download.value.path()).read_bytes()
        with store_open(dataset_file.file_name) as stored:
            assert data == stored.read(), dataset_file.format
        files[download.value.suggested_filename] = Path(download.value.path())
    with page.expect_download() as download:
        page.locator('[data-download="manifest"]').click()
    document = Path(download.value.path()).read_bytes()
    handles = {name: path.open("rb") for name, path in files.items()}
    try:
        report = manifest_verify(
            document=document, files=handles, expected_account_id=PLATFORM_ACCOUNT, client=None
        )
    finally:
        for handle in handles.values():
            handle.close()
    assert report.ok, report.to_dict()
    assert json.loads(document)["signature"]["manifest_sha256"] == version.manifest_sha256


def royalties_paid_on_chain(new_page, live_server, live_chain, version, purchase) -> None:
    """Each contributor's royalty shows apart from task pay on /me/; the payouts that
    followed the sale are confirmed, and the chain holds what the ledger paid."""
    for _ in range(20):
        if not Payout.objects.filter(status__in=Payout.OPEN_STATUSES).exists():
            break
        payouts_reconcile(older_than_seconds=0)
    shares = {
        s.contributor.username: s for s in version.royalty_shares.select_related("contributor")
    }
    assert set(shares) == {"alice", "bob", "carol"}
    royalty = purchase.royalty
    total_weight = sum(s.accepted_answers for s in shares.values())
    seen = new_page()
    for name, share in shares.items():
        user = share.contributor
        expected = royalty * share.accepted_answers // total_weight  # equal weights: exact
        sign_in(seen, live_server, user)
        seen.goto("/me/")
        expect(seen.locator("[data-royalties]")).to_have_text(f"{yocto_to_near(expected)} NEAR")
        expect(seen.locator("[data-royalty]").first).to_contain_text("Pets, labelled v1")
        assert_clean(seen)
        summary = earnings_summary(user=user)
        assert summary.earned > 0  # task pay, counted apart
        payouts = Payout.objects.filter(user=user)
        assert {p.status for p in payouts} == {Payout.Status.CONFIRMED}, name
        assert summary.balance == 0
        assert summary.paid == summary.earned + expected
        assert live_chain.balance(payouts[0].receiver_id) == summary.paid, name
        if name == "alice":
            screenshot(seen, "datasets-royalties")
    # The seller was paid the price less the royalty, on chain too.
    seller = version.dataset.owner
    (payout,) = Payout.objects.filter(user=seller)
    assert (payout.status, payout.amount) == (Payout.Status.CONFIRMED, PRICE - royalty)
    assert live_chain.balance(payout.receiver_id) == PRICE - royalty
    balances = ledger_trial_balance()
    assert sum(balances.values()) == 0
    assert balances[f"escrow:royalties:{purchase.public_id}"] == 0


def test_a_buyer_finds_reads_buys_from_the_balance_and_downloads(
    new_page, live_server, live_chain
) -> None:
    version = published_dataset()
    buyer = UserFactory(username="buyer")
    with mock.patch("config.enqueue._send"):
        earnings_give(buyer, near_to_yocto("4"))
    page = new_page()
    sign_in(page, live_server, buyer)
    find_and_read(page, version)
    expect(page.locator("#buyer-balance")).to_have_text("4")
    screenshot(page, "datasets-dataset")
    # Enter on the focused button: the page works from the keyboard.
    page.get_by_role("button", name="Pay 3.3 NEAR from my balance").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_text("the files are yours to download")).to_be_visible()
    assert_clean(page)
    screenshot(page, "datasets-bought")
    purchase = Purchase.objects.get()
    assert (purchase.status, purchase.method) == ("completed", "balance")
    assert Journal.objects.filter(kind=Journal.Kind.DATASET_SALE).count() == 1
    assert earnings_summary(user=buyer).balance == near_to_yocto("0.7")
    downloads_match_the_store(page, version)
    page.get_by_role("link", name="My datasets").click()
    expect(page.locator('[data-purchase-status="completed"]')).to_be_visible()
    assert_clean(page)
    royalties_paid_on_chain(new_page, live_server, live_chain, version, purchase)


def store_account(page, key) -> None:
    account = {
        "accountId": key.account_id,
        "publicKey": key.public_key,
        "secretKey": key.secret_key_reveal(),
    }
    page.evaluate(
        "([name, value]) => localStorage.setItem(name, value)", [STORAGE_KEY, json.dumps(account)]
    )


def test_a_buyer_pays_with_a_near_transfer_signed_in_the_page(
    new_page, live_server, live_chain
) -> None:
    version = published_dataset()
    buyer = UserFactory(username="buyer")
    wallet = live_chain.account_create(amount_near="10")
    near_account_prove(buyer, wallet)
    platform_before = live_chain.balance(PLATFORM_ACCOUNT)
    page = new_page()
    sign_in(page, live_server, buyer)
    page.goto("/")
    store_account(page, wallet)
    find_and_read(page, version)
    page.get_by_role("button", name="Send 3.3 NEAR with my browser wallet").click()
    expect(page.locator("#downloads")).to_be_visible(timeout=30_000)
    assert "send_tx" in page.watched.chain_requests
    assert_clean(page)
    purchase = Purchase.objects.select_related("deposit").get()
    assert (purchase.status, purchase.method) == ("completed", "deposit")
    assert purchase.deposit.sender_account_id == wallet.account_id
    assert purchase.deposit.amount == near_to_yocto("3.3")
    downloads_match_the_store(page, version)
    royalties_paid_on_chain(new_page, live_server, live_chain, version, purchase)
    # On chain: the buyer's 3.3 NEAR to the platform, and the platform's payouts, each
    # of its ledger amount (the platform's balance also paid the gas).
    transfers = live_chain.client.sandbox("sandbox_transfers", {})
    assert [
        (t["signer_id"], int(t["amount"]), t["succeeded"])
        for t in transfers
        if t["tx_hash"] == purchase.deposit.tx_hash
    ] == [(wallet.account_id, near_to_yocto("3.3"), True)]
    confirmed = Payout.objects.filter(status=Payout.Status.CONFIRMED)
    assert {
        t["tx_hash"]: int(t["amount"]) for t in transfers if t["signer_id"] == PLATFORM_ACCOUNT
    } == {p.tx_hash: p.amount for p in confirmed}
    assert live_chain.balance(PLATFORM_ACCOUNT) < platform_before + near_to_yocto("3.3") - sum(
        p.amount for p in confirmed
    )

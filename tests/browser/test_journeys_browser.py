"""The whole product in a real browser, as new people use it, with nothing set up
beforehand but a local chain: a requester signs up, makes a NEAR account in the browser,
creates a project, uploads items, funds it with the development faucet and a transfer
signed in the page, and publishes; two contributors make NEAR accounts in their own
browsers, sign in with them, label every item with the keyboard alone, see their
earnings, withdraw, and see the payouts confirmed on chain; the requester watches the
progress and exports the labels. No page logs an error, opens a dialog or fetches
from anywhere but the app and the chain."""

import json
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from labeling.models import Project, Submission
from payouts.models import Deposit, Payout
from payouts.money import near_to_yocto
from tests.browser.conftest import axe_violations, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "a long passphrase 4 the journey"
# The items, and the label a careful reader gives each (1: positive, 2: negative).
REVIEWS = {
    "Arrived quickly and works perfectly.": "1",
    "Broke after two days; nobody answered.": "2",
    "Best headphones I have owned.": "1",
    "The battery barely lasts an hour.": "2",
}
REWARD = "0.05"


def assert_clean(page) -> None:
    assert page.watched.console_errors == []
    assert page.watched.dialogs == []
    assert page.watched.outside_requests == []


def browser_account_create(page, *, button: str) -> str:
    """Make a NEAR key in this browser, confirm it was saved, and go on; its account id."""
    page.get_by_role("button", name="Create an account in this browser").click()
    expect(page.get_by_label("Your secret key")).to_be_visible()
    account_id = page.locator("[data-near-new-account-id]").inner_text()
    page.get_by_label("I saved my secret key").check()
    page.get_by_role("button", name=button).click()
    return account_id


def requester_sets_up_a_funded_project(page) -> Project:
    page.goto("/signup/?next=/account/")
    page.get_by_label("Email address").fill("grace@example.org")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password again").fill(PASSWORD)
    page.get_by_role("button", name="Create my account").click()
    page.wait_for_url("**/account/")
    account_id = browser_account_create(page, button="Continue and link the account")
    expect(page.locator("[data-linked-account]")).to_have_text(account_id)
    assert_clean(page)

    page.goto("/projects/new/")
    page.locator("#id_labels").fill("positive\nnegative")
    page.locator("#id_title").fill("Tone of reviews")
    page.locator("#id_instructions").fill("Is the review **positive** or **negative**?")
    page.locator("#id_reward_per_answer").fill(REWARD)
    page.locator("#id_answers_per_item").fill("2")
    page.locator("#instructions-preview strong", has_text="positive").wait_for()
    screenshot(page, "tour-project-new")
    page.get_by_role("button", name="Create the project and add items").click()
    page.wait_for_url("**/items/")
    jsonl = "".join(json.dumps({"data": {"text": text}}) + "\n" for text in REVIEWS)
    page.set_input_files(
        "#id_file",
        files=[{"name": "reviews.jsonl", "mimeType": "text/plain", "buffer": jsonl.encode()}],
    )
    page.get_by_role("button", name="Upload").click()
    expect(page.locator("#item-count")).to_have_text(str(len(REVIEWS)))
    assert_clean(page)

    page.get_by_role("link", name="Next: fund and publish").click()
    page.wait_for_url("**/fund/")
    # The development faucet funds the requester's own account on the local chain...
    page.get_by_role("button", name="Fund my account (development faucet)").click()
    page.wait_for_url("**/fund/")
    # ... and the browser's account sends the amount the page asks for, signed in the page.
    page.locator("[data-near-send]").click()
    expect(page.locator('[data-deposit-status="credited"]')).to_be_visible(timeout=30_000)
    expect(page.locator("#funding-verdict")).to_contain_text("Funded")
    assert_clean(page)
    assert axe_violations(page) == []
    screenshot(page, "tour-fund")
    page.get_by_role("button", name="Publish the project").click()
    page.wait_for_url(re.compile(r".*/projects/[0-9a-f-]{36}/$"))
    project = Project.objects.get()
    assert project.status == Project.Status.ACTIVE
    deposit = Deposit.objects.get()
    assert (deposit.status, deposit.sender_account_id) == ("credited", account_id)
    return project


def contributor_labels_everything(page, *, shots: str = "") -> str:
    page.goto("/signin/?next=/")
    if shots:
        screenshot(page, f"{shots}signin")
    account_id = browser_account_create(page, button="Continue and sign in")
    page.wait_for_url("**/")
    if shots:
        screenshot(page, f"{shots}home")
    page.get_by_role("link", name=re.compile("^Start labeling")).click()
    page.wait_for_url("**/work/**")
    if shots:
        screenshot(page, f"{shots}workbench")
    # The keyboard alone: a digit picks the label, Enter sends, the next item is there.
    for _ in REVIEWS:
        shown = page.locator("[data-item] .item-text")
        text = shown.inner_text().strip()
        page.keyboard.press(REVIEWS[text])
        page.keyboard.press("Enter")
        expect(page.locator("[data-item] .item-text", has_text=text)).to_have_count(0)
    expect(page.locator("[data-empty]")).to_be_visible()
    assert_clean(page)
    return account_id


def contributor_withdraws(page, live_chain, account_id: str, *, shots: str = "") -> None:
    page.goto("/me/")
    earned = near_to_yocto(REWARD) * len(REVIEWS)
    expect(page.get_by_label("Money")).to_contain_text(f"{len(REVIEWS)} answers accepted")
    page.get_by_role("button", name="Withdraw").click()
    # The payouts list polls until the transfer is final on chain.
    expect(page.locator("#payouts .badge-good")).to_be_visible(timeout=30_000)
    assert live_chain.balance(account_id) == earned
    payout = Payout.objects.get(receiver_id=account_id)
    assert (payout.status, payout.amount) == ("confirmed", earned)
    assert_clean(page)
    if shots:
        screenshot(page, f"{shots}earnings")


def test_a_project_from_sign_up_to_paid_contributors_and_its_export(
    new_page, live_chain, settings
) -> None:
    settings.AUTO_PAYOUT_NEAR = ""  # paid on request, so the withdraw button has work
    requester = new_page()
    project = requester_sets_up_a_funded_project(requester)

    # Ada on a computer, Lin on a phone.
    ada, lin = new_page(), new_page(viewport={"width": 390, "height": 844})
    accounts = [
        contributor_labels_everything(ada, shots="tour-"),
        contributor_labels_everything(lin, shots="tour-phone-"),
    ]
    assert Submission.objects.filter(status="accepted").count() == 2 * len(REVIEWS)

    requester.goto(f"/projects/{project.public_id}/")
    figures = requester.locator("#figures")
    expect(figures).to_contain_text("Items decided")
    assert re.search(r"Items decided\s+4", figures.inner_text())
    screenshot(requester, "tour-dashboard")
    requester.get_by_role("button", name="Export JSONL").click()  # a background export
    with requester.expect_download() as download:
        requester.locator("#exports").get_by_role("link", name="Download").click()
    lines = Path(download.value.path()).read_text().splitlines()
    rows = [json.loads(line) for line in lines]
    assert sorted(row["data"]["text"] for row in rows) == sorted(REVIEWS)
    assert {answer["contributor_near_account"] for row in rows for answer in row["answers"]} == set(
        accounts
    )
    assert_clean(requester)

    contributor_withdraws(ada, live_chain, accounts[0], shots="tour-")
    contributor_withdraws(lin, live_chain, accounts[1])

"""A requester in a real browser: creates a project through the wizard with the keyboard,
watches the instructions preview, uploads items (and a bad file), funds the project with
a real transfer on the local chain, sees the deposit credited as the page polls, and
publishes. Untrusted text stays inert; no page logs an error, opens a dialog, fetches
from elsewhere or fails axe-core."""

import json

import pytest
from django.conf import settings
from django.test import Client

from labeling.models import Item, Project
from payouts.models import Deposit
from tests.browser.conftest import axe_violations, screenshot
from tests.conftest import PLATFORM_ACCOUNT, near_account_prove
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

XSS_TITLE = 'Reviews <script>alert("title")</script>'
XSS_LABEL = "<img src=x onerror=alert('label')>"
XSS_INSTRUCTIONS = (
    "Read the **review**, then pick its tone.\n\n"
    "<script>alert('instructions')</script>\n\n"
    "<img src=x onerror=\"alert('img')\">\n\n"
    "[do not click](javascript:alert('link'))"
)
ITEMS = 20
GOOD_JSONL = "".join(
    json.dumps({"external_id": f"r{n}", "data": {"text": f"Review {n} <b>as text</b>"}}) + "\n"
    for n in range(ITEMS)
).encode()
BAD_JSONL = b'{"data": {"text": "fine"}}\n{"data": []}\n{"data": {"text": "fine"}}\nnot json\n'


def sign_in(page, live_server, user) -> None:
    """The session of a test client's sign-in, in the browser (the sign-in page is
    another part of the project's)."""
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    page.context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": live_server.url}])


def assert_clean(page) -> None:
    assert page.watched.dialogs == []
    assert page.watched.console_errors == []
    assert page.watched.outside_requests == []
    assert axe_violations(page) == []
    assert page.locator("img[src=x]").count() == 0


def assert_fits_a_phone(page) -> None:
    """Nothing sticks out of a 375-pixel-wide screen (wide tables scroll in their box)."""
    page.set_viewport_size({"width": 375, "height": 800})
    try:
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
    finally:
        page.set_viewport_size({"width": 1200, "height": 900})


def focused_id(page) -> str:
    return page.evaluate("document.activeElement.id")


def test_a_requester_creates_fills_funds_and_publishes_a_project(page, live_server, chain) -> None:
    user = UserFactory(username="rita")
    wallet = chain.account_create(amount_near="100", account_id="rita.localnet")
    near_account_prove(user, wallet)
    sign_in(page, live_server, user)

    # My projects: none yet, a button to start.
    page.goto("/projects/")
    assert page.get_by_text("You have no projects yet").is_visible()
    assert_clean(page)
    page.get_by_role("link", name="New project").click()
    page.wait_for_url("**/projects/new/")

    # The wizard, with the keyboard alone: the task type is chosen, Tab moves on.
    page.focus("#id_task_type_0")
    assert page.locator("#id_task_type_0").is_checked()
    page.keyboard.press("Tab")
    assert focused_id(page) == "id_labels"
    page.keyboard.type(f"{XSS_LABEL}\npositive\nnegative")
    page.keyboard.press("Tab")
    assert focused_id(page) == "id_title"
    page.keyboard.type(XSS_TITLE)
    page.keyboard.press("Tab")
    assert focused_id(page) == "id_instructions"
    page.keyboard.type(XSS_INSTRUCTIONS)
    # The live preview: markdown rendered by the server, scripts and handlers gone.
    preview = page.locator("#instructions-preview")
    preview.locator("strong", has_text="review").wait_for()
    assert preview.locator("script, img, a[href^=javascript]").count() == 0
    page.keyboard.press("Tab")
    assert focused_id(page) == "id_reward_per_answer"
    page.keyboard.type("0.05")
    page.keyboard.press("Tab")
    assert focused_id(page) == "id_answers_per_item"
    # The quality settings open from the keyboard.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.tagName") == "SUMMARY"
    page.keyboard.press("Enter")
    assert page.locator("details.advanced").get_attribute("open") is not None
    assert page.locator("#id_gold_rate").is_visible()
    assert_clean(page)
    assert_fits_a_phone(page)
    screenshot(page, "project-new")
    page.focus("#id_reward_per_answer")
    page.keyboard.press("Enter")  # submits the form
    page.wait_for_url("**/items/")

    project = Project.objects.get()
    assert project.title == XSS_TITLE
    assert project.label_config == {"labels": [XSS_LABEL, "positive", "negative"]}
    assert project.reward_per_answer == 5 * 10**22
    assert XSS_TITLE in page.locator("h1").inner_text()  # shown as text
    assert XSS_LABEL in page.locator("pre").first.inner_text()  # the label, in the sample

    # Upload: the progress bar fills, the count updates in place.
    page.set_input_files(
        "#id_file",
        files=[{"name": "items.jsonl", "mimeType": "application/x-ndjson", "buffer": GOOD_JSONL}],
    )
    page.get_by_role("button", name="Upload").click()
    page.locator("#upload-result .message-success").wait_for()
    assert page.locator("#upload-result").inner_text().strip() == f"{ITEMS} items added."
    assert page.locator("#item-count").inner_text() == str(ITEMS)
    assert page.locator("#upload-progress-wrap").is_visible()
    assert page.locator("#upload-progress").evaluate("bar => bar.value") == 100
    assert Item.objects.filter(project=project).count() == ITEMS

    # A bad file: every bad line with its reason, nothing added.
    page.set_input_files(
        "#id_file",
        files=[{"name": "bad.jsonl", "mimeType": "application/x-ndjson", "buffer": BAD_JSONL}],
    )
    page.get_by_role("button", name="Upload").click()
    errors = page.locator("#upload-result .upload-errors")
    errors.wait_for()
    assert "Nothing was added." in errors.inner_text()
    lines = errors.locator("tbody tr td.num").all_inner_texts()
    assert lines == ["2", "4"]
    assert page.locator("#item-count").inner_text() == str(ITEMS)
    assert Item.objects.filter(project=project).count() == ITEMS
    assert_clean(page)
    assert_fits_a_phone(page)
    screenshot(page, "upload")

    # Fund: the page says what to send and where; a real transfer of that amount, pasted.
    page.get_by_role("link", name="Next: fund and publish").click()
    page.wait_for_url("**/fund/")
    assert page.locator("#platform-account").inner_text() == PLATFORM_ACCOUNT
    amount = int(page.locator("[data-near-send]").get_attribute("data-amount"))
    assert amount == ITEMS * 3 * project.cost_per_answer
    assert_clean(page)
    # The chain takes two blocks to finalise: the deposit waits, and the page polls.
    chain.client.sandbox("sandbox_set_finality", {"blocks": 2, "produce_empty_blocks": False})
    tx_hash = chain.transfer(
        key=wallet, receiver_id=PLATFORM_ACCOUNT, amount=amount, wait_until="EXECUTED_OPTIMISTIC"
    )
    page.fill("#id_tx_hash", tx_hash)
    page.focus("#id_tx_hash")
    page.keyboard.press("Enter")
    page.locator('[data-deposit-status="pending"]').wait_for()
    assert "credited once the chain finalises it" in page.locator(".messages").inner_text()
    assert Deposit.objects.get().status == "pending"
    chain.client.sandbox("sandbox_fast_forward", {"delta_height": 2})
    # The page asks again by itself, and is drawn again once the deposit is credited.
    page.locator('[data-deposit-status="credited"]').wait_for(timeout=15_000)
    assert Deposit.objects.get().status == "credited"
    assert page.locator("#funding-verdict").inner_text().startswith("Funded")
    assert "3.3 NEAR credited to the project." in page.locator(".messages").inner_text()
    assert page.locator("[data-near-send]").count() == 0
    assert page.locator("#shortfall").inner_text() == "0 NEAR"
    assert_clean(page)
    assert_fits_a_phone(page)
    screenshot(page, "fund")

    # Publish: on to the project's page, open to contributors.
    with page.expect_navigation() as landed:
        page.get_by_role("button", name="Publish the project").click()
    assert landed.value.url.endswith(f"/projects/{project.public_id}/")
    project.refresh_from_db()
    assert project.status == Project.Status.ACTIVE
    assert landed.value.status == 200

    # My projects: the project, open and funded, its title inert.
    page.goto("/projects/")
    row = page.locator("table.projects tbody tr")
    assert row.count() == 1
    assert XSS_TITLE in row.inner_text()
    assert "Open" in row.inner_text()
    assert "funded" in row.inner_text()
    assert f"0 of {ITEMS}" in row.inner_text()
    assert_clean(page)
    assert_fits_a_phone(page)
    screenshot(page, "projects")

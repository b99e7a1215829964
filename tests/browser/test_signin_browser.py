"""Signing in, in a real browser: a new contributor makes a NEAR account in the browser,
saves its key, signs in and back in with it; a pasted key restores an account; the local
chain's development signer; email and password (sign-up, a wrong password, the rate
limit); API tokens; a wallet through NEAR Wallet Selector on testnet; and a NEAR transfer
signed in the page (data-near-send) that moves NEAR on the chain."""

import base64
import json
import urllib.error
import urllib.request
from urllib.parse import urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from playwright.sync_api import expect

from payouts.models import NearAccount
from payouts.money import near_to_yocto
from payouts.near.keys import key_generate
from payouts.near.nep413 import nep413_sign, nep413_verify
from tests.browser.conftest import axe_violations, screenshot
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

STORAGE_KEY = "nearlabel.browserAccount"
PASSWORD = "a long and unusual passphrase 7"
# The pages write a typographic apostrophe (U+2019).
SIGN_IN_WITH_IT = "Sign in with this browser\u2019s account"
SEND = "Send with this browser\u2019s NEAR account"


def assert_clean(page) -> None:
    assert page.watched.console_errors == []
    assert page.watched.dialogs == []
    assert page.watched.outside_requests == []


def stored_account(page) -> dict | None:
    return page.evaluate(f"() => JSON.parse(localStorage.getItem({STORAGE_KEY!r}))")


def store_account(page, key) -> None:
    account = {
        "accountId": key.account_id,
        "publicKey": key.public_key,
        "secretKey": key.secret_key_reveal(),
    }
    page.evaluate(
        "([name, value]) => localStorage.setItem(name, value)",
        [STORAGE_KEY, json.dumps(account)],
    )


def sign_in_as(page, live_server, user) -> None:
    """Give the browser a session of `user` (as after any sign-in)."""
    client = Client()
    client.force_login(user)
    cookie = client.cookies["sessionid"]
    page.context.add_cookies([{"name": "sessionid", "value": cookie.value, "url": live_server.url}])


# --- the browser account --------------------------------------------------------------------


def requests_sent(page) -> list[str]:
    """Every request the page makes from now on, as "URL body" lines."""
    sent: list[str] = []
    page.on("request", lambda request: sent.append(f"{request.url} {request.post_data or ''}"))
    return sent


def test_a_new_contributor_creates_an_account_in_the_browser_and_signs_in_and_back_in(
    page,
) -> None:
    sent = requests_sent(page)
    page.goto("/signin/?next=/account/")
    assert axe_violations(page) == []
    screenshot(page, "signin")
    page.get_by_role("button", name="Create an account in this browser").click()

    # the key, shown once, with a copy button and an "I saved it" step
    key_field = page.get_by_label("Your secret key")
    key_field.wait_for()
    secret_key = key_field.input_value()
    assert secret_key.startswith("ed25519:")
    account_id = page.locator("[data-near-new-account-id]").inner_text()
    assert len(account_id) == 64
    assert stored_account(page) is None  # kept only once the person says they saved it
    continue_button = page.get_by_role("button", name="Continue and sign in")
    assert continue_button.is_disabled()
    assert page.get_by_role("button", name="Copy the key").is_visible()
    assert axe_violations(page) == []
    page.get_by_label("I saved my secret key").check()
    assert continue_button.is_enabled()
    continue_button.click()

    page.wait_for_url("**/account/")
    assert page.locator("[data-linked-account]").inner_text() == account_id
    assert page.locator("[data-linked-verified]").is_visible()
    link = NearAccount.objects.select_related("user").get(account_id=account_id)
    assert link.verified_at is not None
    assert link.user.username == account_id
    assert stored_account(page)["secretKey"] == secret_key
    assert secret_key not in page.content()  # shown once: not on the account page
    expect(page.get_by_text("It is the account linked to you.")).to_be_visible()  # set by JS
    assert page.get_by_role("button", name="Link this browser\u2019s account").is_hidden()
    assert axe_violations(page) == []
    screenshot(page, "account")

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(lambda url: urlsplit(url).path == "/")  # home, signed out
    page.goto("/account/")
    page.wait_for_url("**/signin/?next=/account/")

    # back in with the key the browser kept: the same user
    assert page.locator("[data-near-account-id]").inner_text() == account_id
    page.get_by_role("button", name=SIGN_IN_WITH_IT).click()
    page.wait_for_url("**/account/")
    assert page.locator("[data-linked-account]").inner_text() == account_id
    assert get_user_model().objects.count() == 1
    # the secret key never left the browser; the signatures did
    assert any("/api/auth/near/verify" in line for line in sent)
    assert not any(secret_key.removeprefix("ed25519:") in line for line in sent)
    assert_clean(page)


def test_a_pasted_secret_key_restores_the_account_and_signs_in(page) -> None:
    key = key_generate()
    sent = requests_sent(page)
    page.goto("/signin/")
    page.get_by_text("I already have a key").click()
    page.get_by_label("Secret key", exact=True).fill("ed25519:not-a-key")
    page.get_by_role("button", name="Use this key").click()
    status = page.locator("[data-near-signin] [data-near-status]")
    expect(status).to_contain_text("not a NEAR secret key")
    assert stored_account(page) is None

    page.get_by_label("Secret key", exact=True).fill(key.secret_key_reveal())
    page.get_by_role("button", name="Use this key").click()
    page.wait_for_url(lambda url: "/signin/" not in url)
    assert stored_account(page)["accountId"] == key.account_id
    assert NearAccount.objects.get(account_id=key.account_id).verified_at is not None
    assert not any(key.secret_key_reveal()[8:] in line for line in sent)
    assert_clean(page)


def test_a_password_user_links_a_browser_account_on_the_account_page(page, live_server) -> None:
    user = UserFactory(username="requester@example.org")
    sign_in_as(page, live_server, user)
    page.goto("/account/")
    assert page.get_by_text("none linked yet").is_visible()
    page.get_by_role("button", name="Create an account in this browser").click()
    expect(page.get_by_label("Your secret key")).to_be_visible()  # once the key is made
    account_id = page.locator("[data-near-new-account-id]").inner_text()
    assert len(account_id) == 64
    page.get_by_label("I saved my secret key").check()
    page.get_by_role("button", name="Continue and link the account").click()
    expect(page.locator("[data-linked-account]")).to_have_text(account_id)  # after a reload
    link = NearAccount.objects.get(user=user)
    assert link.account_id == account_id
    assert link.verified_at is not None
    assert user.username == "requester@example.org"  # the same user, now with an account
    assert axe_violations(page) == []
    assert_clean(page)


def test_the_library_signs_in_the_browser_what_the_server_signs(page) -> None:
    """near-lib.js, run by chromium, gives the very signature payouts/near gives."""
    key = key_generate()
    nonce = bytes(range(7, 39))
    challenge = {
        "nonce": base64.b64encode(nonce).decode(),
        "recipient": "nearlabel.localhost",
        "message": "Sign in to Nearlabel",
    }
    page.goto("/signin/")
    body = page.evaluate(
        """async ([account, challenge]) => {
            const lib = await window.NearlabelWallet.lib();
            return lib.nep413Sign({account, challenge});
        }""",
        [
            {
                "accountId": key.account_id,
                "publicKey": key.public_key,
                "secretKey": key.secret_key_reveal(),
            },
            challenge,
        ],
    )
    signature = base64.b64decode(body["signature"])
    assert signature == nep413_sign(
        key=key, message=challenge["message"], nonce=nonce, recipient=challenge["recipient"]
    )
    assert nep413_verify(
        public_key=body["public_key"],
        signature=signature,
        message=challenge["message"],
        nonce=nonce,
        recipient=challenge["recipient"],
    )
    assert_clean(page)


# --- the development signer -----------------------------------------------------------------


def test_the_development_signer_signs_in_with_a_new_local_chain_account(page, live_chain) -> None:
    page.goto("/signin/?next=/account/")
    page.get_by_role("button", name="Sign in with a new development account").click()
    page.wait_for_url("**/account/")
    account_id = page.locator("[data-linked-account]").inner_text()
    assert account_id.startswith("dev-")
    assert account_id.endswith(".nearlabel.localnet")
    assert NearAccount.objects.get(account_id=account_id).verified_at is not None
    assert live_chain.balance(account_id) == near_to_yocto("10")
    assert_clean(page)


# --- email and password ---------------------------------------------------------------------


def test_sign_up_sign_in_a_wrong_password_and_the_rate_limit(page, settings) -> None:
    page.goto("/signup/?next=/account/")
    page.get_by_label("Email address").fill("ada@example.org")
    page.get_by_label("Password", exact=True).fill("password")
    page.get_by_label("Password again").fill("password")
    page.get_by_role("button", name="Create my account").click()
    assert "[signup_password_invalid]" in page.locator("form").inner_text()  # too common
    assert axe_violations(page) == []
    screenshot(page, "signup")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password again").fill(PASSWORD)
    page.get_by_role("button", name="Create my account").click()
    page.wait_for_url("**/account/")
    assert page.locator("[data-account-username]").inner_text() == "ada@example.org"
    page.get_by_role("button", name="Sign out").click()

    page.goto("/signin/?next=/account/")
    page.get_by_label("Email address").fill("ada@example.org")
    page.get_by_label("Password", exact=True).fill("not my password")
    page.locator("form[action='/signin/'] button[type=submit]").click()
    alert = page.get_by_role("alert")
    assert "No account has this email address (or username) and password" in alert.inner_text()
    assert "[auth_credentials_invalid]" in alert.inner_text()
    page.get_by_label("Email address").fill("ada@example.org")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.locator("form[action='/signin/'] button[type=submit]").click()
    page.wait_for_url("**/account/")
    page.get_by_role("button", name="Sign out").click()

    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "signin": "2/min"}
    page.goto("/signin/")
    for _ in range(3):
        page.get_by_label("Email address").fill("ada@example.org")
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        with page.expect_response(lambda r: r.url.endswith("/signin/")) as answer:
            page.locator("form[action='/signin/'] button[type=submit]").click()
        if answer.value.status == 302:
            page.get_by_role("button", name="Sign out").click()
            page.goto("/signin/")
    assert answer.value.status == 429
    alert = page.get_by_role("alert")
    assert "Too many sign-in attempts" in alert.inner_text()
    assert "[throttled]" in alert.inner_text()
    assert page.watched.dialogs == []
    assert page.watched.outside_requests == []


# --- API tokens -----------------------------------------------------------------------------


def _api_me(live_server, token: str) -> int:
    request = urllib.request.Request(  # noqa: S310  (the live server's http URL)
        live_server.url + "/api/me/", headers={"Authorization": f"Token {token}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            assert json.load(response)["username"] == "requester@example.org"
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_the_tokens_section_makes_a_token_that_works_once_shown_and_revokes_it(
    page, live_server
) -> None:
    sign_in_as(page, live_server, UserFactory(username="requester@example.org"))
    page.goto("/account/")
    assert page.locator("[data-token-state]").get_attribute("data-token-state") == "no"
    page.get_by_role("button", name="Create a token").click()
    token = page.locator("[data-new-token]").inner_text()
    assert len(token) == 40
    assert _api_me(live_server, token) == 200
    assert axe_violations(page) == []

    page.reload()  # shown once
    assert page.locator("[data-new-token]").count() == 0
    assert page.locator("[data-token-state]").get_attribute("data-token-state") == "yes"

    page.get_by_role("button", name="Replace the token").click()
    replaced = page.locator("[data-new-token]").inner_text()
    assert replaced != token
    assert _api_me(live_server, token) == 401
    page.get_by_role("button", name="Revoke the token").click()
    assert page.locator("[data-token-state]").get_attribute("data-token-state") == "no"
    assert _api_me(live_server, replaced) == 401
    assert_clean(page)


# --- a wallet, through NEAR Wallet Selector (testnet) ----------------------------------------


def test_connect_a_wallet_opens_the_wallet_selector_on_testnet(page, settings) -> None:
    """The selector's 2 MB load only on the click; its modal lists the three wallets and
    asks nothing of any other origin until one is chosen; closing it says so."""
    settings.NEAR_NETWORK_ID = "testnet"
    settings.NEAR_IS_LOCALNET = False
    page.goto("/signin/")
    loaded = []
    page.on("request", lambda request: loaded.append(request.url))
    assert page.get_by_role("button", name="Sign in with a new development account").count() == 0
    assert axe_violations(page) == []
    assert not any("near-selector" in url for url in loaded)

    page.get_by_role("button", name="Connect a wallet").click()
    modal = page.locator("#near-wallet-selector-modal .nws-modal-wrapper.open")
    modal.wait_for(state="visible", timeout=20_000)
    for wallet in ("MyNearWallet", "Here Wallet"):
        assert modal.get_by_text(wallet, exact=True).is_visible()
    assert any(url.endswith("/static/vendor/near/near-selector.js") for url in loaded)
    assert page.watched.console_errors == []
    assert page.watched.outside_requests == []  # none: the modal alone calls nobody
    assert page.watched.chain_requests == []

    modal.locator(".close-button").click()
    status = page.locator("[data-near-signin] [data-near-status]")
    expect(status).to_contain_text("The wallet selector was closed before a wallet signed.")
    assert_clean(page)


# --- data-near-send: a transfer signed in the page ---------------------------------------------


def _send_page(page, settings, *, receiver: str, amount: int) -> None:
    settings.ROOT_URLCONF = "tests.browser.near_send_urls"
    page.goto(f"/test/near-send/?receiver={receiver}&amount={amount}")


def _status(page):
    return page.locator("[data-near-send-box] [data-near-status]")


def test_a_transfer_signed_in_the_page_moves_near_on_the_chain(page, settings, live_chain) -> None:
    """The browser account pays the receiver; the hash goes into the form, which is sent."""
    sender = live_chain.account_create(amount_near="5")  # an implicit account, funded
    receiver = "nearlabel.localnet"
    before = live_chain.balance(receiver)
    amount = near_to_yocto("2")
    _send_page(page, settings, receiver=receiver, amount=amount)
    assert axe_violations(page) == []

    page.get_by_role("button", name=SEND).click()
    expect(_status(page)).to_contain_text("no NEAR account")  # none in this browser yet
    assert live_chain.balance(receiver) == before

    store_account(page, sender)
    page.get_by_role("button", name=SEND).click()
    page.wait_for_url("**/test/deposit/")
    tx_hash = page.locator("#got").inner_text()
    assert live_chain.balance(receiver) == before + amount
    assert live_chain.balance(sender.account_id) < near_to_yocto("3")  # 2 NEAR and the fee
    transfers = live_chain.client.sandbox("sandbox_transfers", {})
    assert [
        (t["tx_hash"], t["signer_id"], int(t["amount"]), t["succeeded"]) for t in transfers
    ] == [(tx_hash, sender.account_id, amount, True)]
    assert "send_tx" in page.watched.chain_requests
    assert {"query", "block"} <= set(page.watched.chain_requests)
    assert_clean(page)


def test_a_transfer_beyond_the_balance_is_refused_in_the_page(page, settings, live_chain) -> None:
    sender = live_chain.account_create(amount_near="1")
    _send_page(page, settings, receiver="nearlabel.localnet", amount=near_to_yocto("3"))
    store_account(page, sender)
    page.get_by_role("button", name=SEND).click()
    expect(_status(page)).to_contain_text("Not enough NEAR")
    assert page.locator("#id_tx_hash").input_value() == ""
    assert "send_tx" not in page.watched.chain_requests
    assert live_chain.client.sandbox("sandbox_transfers", {}) == []
    assert_clean(page)


def test_an_unreachable_rpc_is_said_so_in_the_page(page, settings, live_chain) -> None:
    sender = live_chain.account_create(amount_near="5")
    _send_page(page, settings, receiver="nearlabel.localnet", amount=near_to_yocto("1"))
    store_account(page, sender)
    live_chain.server.shutdown()
    page.get_by_role("button", name=SEND).click()
    expect(_status(page)).to_contain_text("The NEAR RPC did not answer")
    # the browser reports the refused connection itself; nothing else went wrong
    assert all("ERR_CONNECTION_REFUSED" in error for error in page.watched.console_errors)
    assert page.watched.outside_requests == []

"""The sign-in page and signing out: three NEAR ways (a wallet only where wallets reach),
email and password with a rate limit, CSRF, and `next` that never leaves the site."""

import re

import pytest
from django.contrib.auth import SESSION_KEY
from django.test import Client

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery"  # tests.factories.UserFactory's


def post_signin(client, username, password, **extra):
    return client.post(
        "/signin/", {"username": username, "password": password, **extra.pop("data", {})}, **extra
    )


def test_the_page_offers_near_three_ways_and_a_password(client) -> None:
    response = client.get("/signin/")
    page = response.content.decode()
    assert response.status_code == 200
    assert "Create an account in this browser" in page
    assert "I already have a key" in page
    assert "Connect a wallet" in page
    assert 'action="/signin/dev/"' in page  # the tests run on the local chain
    assert 'name="password"' in page
    assert '<script id="near-messages" type="application/json">' in page
    # no inline script: every <script> has a src, or is JSON data
    for tag in re.findall(r"<script[^>]*>", page):
        assert "src=" in tag or 'type="application/json"' in tag, tag
    assert not re.search(r"<[^>]+\son[a-z]+=", page)  # no inline handlers
    assert not re.search(r"<[^>]+\sstyle=", page)  # no inline styles


def test_on_the_local_chain_the_wallet_is_disabled_with_a_reason(client) -> None:
    page = client.get("/signin/").content.decode()
    button = re.search(r"<button[^>]*>\s*Connect a wallet", page).group(0)
    assert "disabled" in button
    assert "cannot\n    reach this local chain" in page or "cannot reach this local chain" in page
    assert "near-selector.js" not in page


def test_on_testnet_the_wallet_selector_is_offered_and_its_popups_may_answer(
    client, settings
) -> None:
    settings.NEAR_NETWORK_ID = "testnet"
    settings.NEAR_IS_LOCALNET = False
    response = client.get("/signin/")
    page = response.content.decode()
    button = re.search(r"<button[^>]*data-near-wallet-connect[^>]*>", page, re.S).group(0)
    assert "disabled" not in button
    assert "/static/vendor/near/near-selector.js" in button
    assert 'action="/signin/dev/"' not in page  # no development signer off the local chain
    assert response["Cross-Origin-Opener-Policy"] == "same-origin-allow-popups"


def test_on_the_local_chain_the_opener_policy_stays_strict(client) -> None:
    assert client.get("/signin/")["Cross-Origin-Opener-Policy"] == "same-origin"


def test_a_password_signs_in_and_goes_on_to_next(client) -> None:
    user = UserFactory(username="ada@example.org")
    response = post_signin(client, "ada@example.org", PASSWORD, data={"next": "/account/?tab=1"})
    assert response.status_code == 302
    assert response["Location"] == "/account/?tab=1"
    assert client.session[SESSION_KEY] == str(user.pk)


def test_a_wrong_password_is_refused_with_its_code(client) -> None:
    UserFactory(username="ada@example.org")
    response = post_signin(client, "ada@example.org", "wrong")
    page = response.content.decode()
    assert response.status_code == 200
    assert "No account has this email address (or username) and password" in page
    assert "[auth_credentials_invalid]" in page
    assert SESSION_KEY not in client.session


def test_an_inactive_user_cannot_sign_in(client) -> None:
    UserFactory(username="gone@example.org", is_active=False)
    response = post_signin(client, "gone@example.org", PASSWORD)
    assert SESSION_KEY not in client.session
    assert "[auth_credentials_invalid]" in response.content.decode()


@pytest.mark.parametrize(
    "unsafe",
    [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example",
        "javascript:alert(1)",
        "http://testserver.evil.example/",
        "https:///evil.example",
        " //evil.example/",
        "/\t/evil.example",
        "%2F%2Fevil.example",
        # Bare words redirect() would take for a view name (NoReverseMatch: a 500).
        "NaN",
        "-1",
        "account",
        "/a\x00b",
        "/\u202egro.elpmaxe",
    ],
)
def test_next_never_leaves_the_site(client, unsafe) -> None:
    UserFactory(username="ada@example.org")
    response = post_signin(client, "ada@example.org", PASSWORD, data={"next": unsafe})
    assert response.status_code == 302
    assert response["Location"] == "/"
    page = client.get("/signin/", {"next": unsafe})
    assert page.status_code == 302  # already signed in: on to the safe default
    assert page["Location"] == "/"


def test_next_is_kept_on_the_page_for_the_near_sign_in(client) -> None:
    page = client.get("/signin/?next=/work/abc/").content.decode()
    assert 'data-next="/work/abc/"' in page
    assert '<input type="hidden" name="next" value="/work/abc/">' in page
    page = client.get("/signin/?next=https://evil.example/").content.decode()
    assert "evil.example" not in page


def test_signing_in_is_rate_limited_per_client_ip(client, settings) -> None:
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "signin": "2/min"}
    UserFactory(username="ada@example.org")
    for _ in range(2):
        assert post_signin(client, "ada@example.org", "wrong").status_code == 200
    response = post_signin(client, "ada@example.org", PASSWORD)  # right, but one too many
    page = response.content.decode()
    assert response.status_code == 429
    assert "Too many sign-in attempts" in page
    assert "[throttled]" in page
    assert int(response["Retry-After"]) >= 1
    assert SESSION_KEY not in client.session


def test_signing_in_is_rate_limited_per_username_from_any_ip(client, settings) -> None:
    settings.THROTTLE_RATES = {
        **settings.THROTTLE_RATES,
        "signin": None,
        "signin_username": "2/hour",
    }
    UserFactory(username="ada@example.org")
    for n in range(2):
        response = post_signin(client, "ADA@example.org ", "wrong", REMOTE_ADDR=f"10.0.0.{n}")
        assert response.status_code == 200
    response = post_signin(client, "ada@example.org", PASSWORD, REMOTE_ADDR="10.0.0.9")
    assert response.status_code == 429
    # another username from the same address is not held back
    UserFactory(username="bob@example.org")
    assert (
        post_signin(client, "bob@example.org", PASSWORD, REMOTE_ADDR="10.0.0.9").status_code == 302
    )


def test_the_username_limit_counts_every_spelling_that_signs_in_as_that_user(
    client, settings
) -> None:
    """Fullwidth letters (NFKC-equal: the form signs in with them) and letter case or
    surrounding whitespace count against the same username's limit."""
    settings.THROTTLE_RATES = {
        **settings.THROTTLE_RATES,
        "signin": None,
        "signin_username": "2/hour",
    }
    UserFactory(username="ada@example.org")
    for n, spelling in enumerate(["ada@example.org", " ADA@EXAMPLE.ORG\t"]):
        response = post_signin(client, spelling, "wrong", REMOTE_ADDR=f"10.0.0.{n}")
        assert response.status_code == 200
    response = post_signin(client, "\uff41da@example.org", PASSWORD, REMOTE_ADDR="10.0.0.9")
    assert response.status_code == 429
    assert SESSION_KEY not in client.session


def test_signing_in_gives_a_new_session_key(client) -> None:
    """Session fixation: the key a visitor had before signing in is not the signed-in one."""
    UserFactory(username="ada@example.org")
    client.get("/signin/")
    session = client.session
    session["planted"] = "1"
    session.save()
    before = session.session_key
    assert post_signin(client, "ada@example.org", PASSWORD).status_code == 302
    assert client.session.session_key != before
    assert client.session[SESSION_KEY]


def test_csrf_is_enforced_on_the_password_form() -> None:
    UserFactory(username="ada@example.org")
    client = Client(enforce_csrf_checks=True)
    assert post_signin(client, "ada@example.org", PASSWORD).status_code == 403
    page = client.get("/signin/").content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    response = post_signin(client, "ada@example.org", PASSWORD, data={"csrfmiddlewaretoken": token})
    assert response.status_code == 302


def test_sign_out_is_post_only(client) -> None:
    user = UserFactory()
    client.force_login(user)
    assert client.get("/signout/").status_code == 405
    assert client.session[SESSION_KEY] == str(user.pk)
    response = client.post("/signout/", {"next": "https://evil.example/"})
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert SESSION_KEY not in client.session


def test_sign_out_needs_the_csrf_token() -> None:
    user = UserFactory()
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    assert client.post("/signout/").status_code == 403
    assert client.session[SESSION_KEY] == str(user.pk)

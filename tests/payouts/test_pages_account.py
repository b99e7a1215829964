"""The account page: who is signed in, the NEAR account linked (proven or not), linking
one, and the API token (made and shown once, replaced, revoked)."""

import re

import pytest
from django.test import Client
from rest_framework.authtoken.models import Token

from payouts.models import NearAccount
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def user():
    return UserFactory(username="ada@example.org")


@pytest.fixture
def signed_in(client, user):
    client.force_login(user)
    return client


def test_anonymous_visitors_are_sent_to_sign_in(client) -> None:
    response = client.get("/account/")
    assert response.status_code == 302
    assert response["Location"] == "/signin/?next=/account/"
    response = client.post("/account/token/", {"action": "create"})
    assert response["Location"].startswith("/signin/")
    assert Token.objects.count() == 0


def test_the_page_shows_the_user_and_offers_to_link_a_near_account(signed_in) -> None:
    page = signed_in.get("/account/").content.decode()
    assert "ada@example.org" in page
    assert "none linked yet" in page
    assert 'data-mode="link"' in page
    assert 'data-link-url="/api/me/near-account"' in page
    assert "Link a NEAR account first; the faucet funds it." in page


def test_a_proven_account_and_an_unproven_one_are_told_apart(signed_in, user) -> None:
    link = NearAccount.objects.create(user=user, account_id="ada.near")
    page = signed_in.get("/account/").content.decode()
    assert "ada.near" in page
    assert "not proven" in page
    link.verified_at = "2025-01-01T00:00:00Z"
    link.save()
    page = signed_in.get("/account/").content.decode()
    assert "data-linked-verified" in page
    assert 'action="/dev/faucet/"' in page  # the local chain's faucet, for a linked account


def test_untrusted_usernames_are_escaped(client) -> None:
    client.force_login(UserFactory(username="<b>x</b>@example.org"))
    page = client.get("/account/").content.decode()
    assert "<b>x</b>" not in page
    assert "&lt;b&gt;x&lt;/b&gt;@example.org" in page


def test_a_token_is_made_and_shown_once(signed_in, user) -> None:
    assert 'data-token-state="no"' in signed_in.get("/account/").content.decode()
    response = signed_in.post("/account/token/", {"action": "create"})
    assert response.status_code == 302
    assert response["Location"] == "/account/#api-token"
    page = signed_in.get("/account/").content.decode()
    key = Token.objects.get(user=user).key
    assert re.search(rf"data-new-token>{key}</code>", page)
    assert 'data-token-state="yes"' in page
    again = signed_in.get("/account/").content.decode()
    assert key not in again  # once
    assert 'data-token-state="yes"' in again


def test_a_new_token_replaces_the_old_one_and_works(signed_in, user) -> None:
    signed_in.post("/account/token/", {"action": "create"})
    old = Token.objects.get(user=user).key
    signed_in.post("/account/token/", {"action": "create"})
    new = Token.objects.get(user=user).key
    assert new != old
    api = Client()
    assert api.get("/api/me/", HTTP_AUTHORIZATION=f"Token {old}").status_code == 401
    response = api.get("/api/me/", HTTP_AUTHORIZATION=f"Token {new}")
    assert response.status_code == 200
    assert response.json()["username"] == "ada@example.org"


def test_revoking_stops_the_token(signed_in, user) -> None:
    signed_in.post("/account/token/", {"action": "create"})
    key = Token.objects.get(user=user).key
    signed_in.post("/account/token/", {"action": "revoke"})
    assert not Token.objects.filter(user=user).exists()
    assert Client().get("/api/me/", HTTP_AUTHORIZATION=f"Token {key}").status_code == 401
    page = signed_in.get("/account/").content.decode()
    assert "Your API token is revoked" in page
    signed_in.post("/account/token/", {"action": "revoke"})  # again: nothing to revoke
    assert "You had no API token." in signed_in.get("/account/").content.decode()


def test_an_unknown_action_changes_nothing(signed_in, user) -> None:
    signed_in.post("/account/token/", {"action": "create"})
    key = Token.objects.get(user=user).key
    signed_in.post("/account/token/", {"action": "steal"})
    assert Token.objects.get(user=user).key == key


def test_token_changes_are_post_only_and_need_the_csrf_token(user) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    assert client.get("/account/token/").status_code == 405
    assert client.post("/account/token/", {"action": "create"}).status_code == 403
    assert Token.objects.count() == 0


def test_one_users_token_is_not_anothers(client, user) -> None:
    other = UserFactory(username="bob@example.org")
    Token.objects.create(user=other)
    client.force_login(user)
    assert 'data-token-state="no"' in client.get("/account/").content.decode()
    client.post("/account/token/", {"action": "revoke"})
    assert Token.objects.filter(user=other).exists()

"""The local chain's development helpers: a one-click NEAR sign-in with a new chain
account, and a faucet for the linked account. 404 anywhere but on the local chain."""

import html

import pytest
from django.contrib.auth import SESSION_KEY
from django.test import Client

from payouts.models import NearAccount
from payouts.money import near_to_yocto
from payouts.near.keys import key_generate
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/signin/dev/", "/dev/faucet/"])
def test_off_the_local_chain_they_do_not_exist(client, settings, path) -> None:
    settings.NEAR_IS_LOCALNET = False
    assert client.post(path).status_code == 404
    client.force_login(UserFactory())
    assert client.post(path).status_code == 404


@pytest.mark.parametrize("path", ["/signin/dev/", "/dev/faucet/"])
def test_they_are_post_only(client, path) -> None:
    client.force_login(UserFactory())
    assert client.get(path).status_code == 405


def test_the_development_signer_signs_in_with_a_new_chain_account(client, chain) -> None:
    response = client.post("/signin/dev/", {"next": "/account/"})
    assert response.status_code == 302
    assert response["Location"] == "/account/"
    link = NearAccount.objects.select_related("user").get()
    assert link.account_id.startswith("dev-")
    assert link.account_id.endswith(".nearlabel.localnet")
    assert link.verified_at is not None
    assert link.user.username == link.account_id
    assert client.session[SESSION_KEY] == str(link.user.pk)
    assert chain.balance(link.account_id) == near_to_yocto("10")
    # its key was checked on the chain (a named account): it holds one full-access key
    keys = chain.client.call(
        "query",
        {
            "request_type": "view_access_key_list",
            "finality": "final",
            "account_id": link.account_id,
        },
    )["keys"]
    assert [k["access_key"]["permission"] for k in keys] == ["FullAccess"]


def test_each_press_is_a_new_account(client, chain) -> None:
    client.post("/signin/dev/")
    Client().post("/signin/dev/")
    assert NearAccount.objects.count() == 2


def test_the_development_signer_refuses_an_unsafe_next(client, chain) -> None:
    response = client.post("/signin/dev/", {"next": "https://evil.example/"})
    assert response["Location"] == "/"


def test_a_chain_that_does_not_answer_is_said_so(client, settings) -> None:
    settings.NEAR_RPC_URL = "http://127.0.0.1:9"  # nothing listens there
    response = client.post("/signin/dev/", {"next": "/account/"}, follow=True)
    page = response.content.decode()
    assert "[chain_unavailable]" in page
    assert NearAccount.objects.count() == 0
    assert SESSION_KEY not in client.session


def test_the_development_signer_needs_the_csrf_token(chain) -> None:
    client = Client(enforce_csrf_checks=True)
    assert client.post("/signin/dev/").status_code == 403
    assert NearAccount.objects.count() == 0


def test_the_faucet_needs_a_signed_in_user(client, chain) -> None:
    response = client.post("/dev/faucet/")
    assert response.status_code == 302
    assert response["Location"].startswith("/signin/?next=")


def test_the_faucet_needs_a_linked_account(client, chain) -> None:
    client.force_login(UserFactory())
    response = client.post("/dev/faucet/", follow=True)
    assert "[near_account_missing]" in response.content.decode()
    assert chain.client.sandbox("sandbox_transfers", {}) == []


def test_the_faucet_funds_the_linked_account_each_time(client, chain) -> None:
    user = UserFactory()
    key = key_generate()  # an implicit account, not on the chain yet
    NearAccount.objects.create(user=user, account_id=key.account_id)
    client.force_login(user)
    response = client.post("/dev/faucet/", {"next": "/projects/"})
    assert response.status_code == 302
    assert response["Location"] == "/projects/"
    assert chain.balance(key.account_id) == near_to_yocto("50")
    page = client.post("/dev/faucet/", follow=True).content.decode()  # back to the account
    assert "Sent 50 NEAR of the local chain to your account" in page
    assert chain.balance(key.account_id) == near_to_yocto("100")
    transfers = chain.client.sandbox("sandbox_transfers", {})
    assert [(t["receiver_id"], t["succeeded"]) for t in transfers] == [(key.account_id, True)] * 2


def test_the_faucet_says_when_the_linked_account_cannot_receive(client, chain) -> None:
    """A named account that is not on the chain (linked, never proven): the transfer fails."""
    user = UserFactory()
    NearAccount.objects.create(user=user, account_id="nobody.nearlabel.localnet")
    client.force_login(user)
    page = client.post("/dev/faucet/", follow=True).content.decode()
    assert "[dev_faucet_failed]" in page
    assert "Sent" not in page
    assert chain.balance("nobody.nearlabel.localnet") == 0


def test_the_faucet_answers_htmx_with_a_fragment(client, chain) -> None:
    user = UserFactory()
    key = chain.account_create(account_id="ada.nearlabel.localnet", amount_near="1")
    NearAccount.objects.create(user=user, account_id=key.account_id)
    client.force_login(user)
    response = client.post("/dev/faucet/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert response.content.decode().startswith('<p class="message message-success"')
    assert chain.balance("ada.nearlabel.localnet") == near_to_yocto("51")
    NearAccount.objects.filter(user=user).delete()
    refused = client.post("/dev/faucet/", HTTP_HX_REQUEST="true")
    assert refused.status_code == 409
    assert "near_account_missing" in refused.content.decode()


def test_the_development_refusals_are_translated(client, settings, monkeypatch) -> None:
    """The messages these pages show come through gettext (a stand-in catalogue here)."""
    from payouts.services import devchain

    monkeypatch.setattr(devchain, "gettext", lambda text: f"«{text}»")
    settings.NEAR_RPC_URL = "http://127.0.0.1:9"  # nothing listens there
    page = html.unescape(client.post("/signin/dev/", follow=True).content.decode())
    assert "«The local chain did not create the account.»" in page
    client.force_login(UserFactory())
    page = html.unescape(client.post("/dev/faucet/", follow=True).content.decode())
    assert "«Link a NEAR account first.»" in page

"""The fund page against the local chain: what to send and where, a real transfer
credited by its hash once (a repeated form is one deposit), every refusal shown with its
code, a pending deposit checked again until credited; and publishing from it."""

import html
import re

import pytest

from labeling.models import Project
from payouts.models import Deposit
from payouts.money import near_to_yocto
from payouts.selectors import escrow_balance
from tests.conftest import PLATFORM_ACCOUNT, near_account_prove
from tests.factories import ItemFactory, ProjectFactory, UserFactory, escrow_fund

pytestmark = pytest.mark.django_db

# 4 items x 3 answers x (0.05 reward + 10 % fee)
REQUIRED = 4 * 3 * near_to_yocto("0.055")


@pytest.fixture
def project(requester):
    project = ProjectFactory(owner=requester, status="draft")
    ItemFactory.create_batch(4, project=project)
    return project


@pytest.fixture
def wallet(chain, requester):
    """The requester's NEAR account on the local chain, linked and proven."""
    key = chain.account_create(amount_near="50", account_id="alice.localnet")
    near_account_prove(requester, key)
    return key


@pytest.fixture
def signed_in(client, requester):
    client.force_login(requester)
    return client


def fund_url(project) -> str:
    return f"/projects/{project.public_id}/fund/"


def form_key(page: str) -> str:
    return re.search(r'name="idempotency_key" value="([^"]+)"', page).group(1)


def deposit(client, project, tx_hash: str, key: str = "key-1", **extra):
    body = {"tx_hash": tx_hash, "idempotency_key": key, **extra}
    return client.post(fund_url(project), body)


def text(response) -> str:
    return html.unescape(response.content.decode())


def test_anonymous_is_sent_to_sign_in(client, project) -> None:
    for path in (fund_url(project), f"/projects/{project.public_id}/publish/"):
        response = client.post(path) if path.endswith("publish/") else client.get(path)
        assert response.status_code == 302
        assert response["Location"] == f"/signin/?next={path}"


def test_someone_elses_project_is_404_for_every_step(client, project) -> None:
    client.force_login(UserFactory())
    base = f"/projects/{project.public_id}"
    assert client.get(fund_url(project)).status_code == 404
    assert deposit(client, project, "x").status_code == 404
    assert client.post(f"{base}/fund/deposits/").status_code == 404
    assert client.post(f"{base}/publish/").status_code == 404
    project.refresh_from_db()
    assert project.status == Project.Status.DRAFT


def test_the_page_says_what_to_send_where_and_offers_the_wallet(
    chain, signed_in, project, settings
) -> None:
    page = signed_in.get(fund_url(project)).content.decode()
    assert '<code id="send-amount">0.66</code>' in page
    assert f'<code id="platform-account">{PLATFORM_ACCOUNT}</code>' in page
    assert 'data-copy="#platform-account"' in page
    button = re.search(r"<button[^>]*data-near-send[^>]*>", page).group(0)
    assert f'data-receiver="{PLATFORM_ACCOUNT}"' in button
    assert f'data-amount="{REQUIRED}"' in button
    assert 'data-tx-field="#id_tx_hash"' in button
    assert 'data-form="#deposit-form"' in button
    # near-wallet.js says what happens in the texts the page gives it, translated.
    for message in ("no-account", "balance", "rpc", "sending", "sent", "failed"):
        assert re.search(rf'data-msg-{message}="[^"]+"', button), message
    assert "data-near-lib=" in page
    assert "data-near-status" in page
    assert '<form id="deposit-form"' in page
    assert 'id="id_tx_hash"' in page
    assert "/static/js/near-wallet.js" in page
    assert len(form_key(page)) == 32
    assert form_key(page) != form_key(signed_in.get(fund_url(project)).content.decode())
    assert "Link your NEAR account first" in page
    assert 'id="escrow-balance">0 NEAR<' in page


def test_a_real_transfer_is_credited_by_its_hash(chain, signed_in, project, wallet) -> None:
    tx_hash = chain.transfer(key=wallet, receiver_id=PLATFORM_ACCOUNT, amount=REQUIRED)
    response = deposit(signed_in, project, tx_hash)
    assert response.status_code == 302
    assert response["Location"] == fund_url(project)
    credited = Deposit.objects.get()
    assert (credited.tx_hash, credited.status, credited.amount) == (tx_hash, "credited", REQUIRED)
    assert escrow_balance(reference=project.escrow_reference) == REQUIRED
    page = text(signed_in.get(fund_url(project)))
    assert "0.66 NEAR credited to the project." in page
    assert 'id="escrow-balance">0.66 NEAR<' in page
    assert "Funded" in page
    assert tx_hash in page
    assert "data-near-send" not in page  # nothing more to send


def test_the_same_form_sent_twice_is_one_deposit(chain, signed_in, project, wallet) -> None:
    tx_hash = chain.transfer(key=wallet, receiver_id=PLATFORM_ACCOUNT, amount=REQUIRED)
    key = form_key(signed_in.get(fund_url(project)).content.decode())
    assert deposit(signed_in, project, tx_hash, key).status_code == 302
    again = deposit(signed_in, project, tx_hash, key)
    assert again.status_code == 302
    assert Deposit.objects.count() == 1
    assert escrow_balance(reference=project.escrow_reference) == REQUIRED
    assert "recorded already" in text(signed_in.get(fund_url(project)))


def test_the_same_hash_under_another_form_is_already_used(chain, signed_in, project, wallet):
    tx_hash = chain.transfer(key=wallet, receiver_id=PLATFORM_ACCOUNT, amount=REQUIRED)
    deposit(signed_in, project, tx_hash, "key-a")
    response = deposit(signed_in, project, tx_hash, "key-b")
    assert response.status_code == 200
    assert "This transaction was already credited. [deposit_already_used]" in text(response)
    assert Deposit.objects.count() == 1


def test_a_transfer_to_another_account_is_refused(chain, signed_in, project, wallet) -> None:
    chain.account_create(account_id="bob.localnet")
    tx_hash = chain.transfer(key=wallet, receiver_id="bob.localnet", amount=REQUIRED)
    response = deposit(signed_in, project, tx_hash)
    assert "[deposit_wrong_receiver]" in text(response)
    assert tx_hash in text(response)  # the field keeps what was typed
    assert not Deposit.objects.exists()


def test_an_unknown_hash_is_refused(chain, signed_in, project, wallet) -> None:
    response = deposit(signed_in, project, "11111111111111111111111111111111")
    assert response.status_code == 200
    assert "The chain does not know this transaction. [deposit_unknown]" in text(response)
    assert not Deposit.objects.exists()


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"tx_hash": "not-base58!"}, "[deposit_hash_invalid]"),
        ({"tx_hash": ""}, "This field is required."),
        ({"tx_hash": "x" * 65}, "at most 64 characters"),
        ({"tx_hash": "1" * 32, "sender_account_id": "Not An Account"}, "[deposit_sender_invalid]"),
    ],
)
def test_malformed_input_is_refused_with_its_code(chain, signed_in, project, wallet, body, error):
    response = signed_in.post(fund_url(project), {"idempotency_key": "k", **body})
    assert response.status_code == 200
    assert error in text(response)
    assert not Deposit.objects.exists()


def test_a_deposit_without_a_linked_account_says_so(chain, signed_in, project) -> None:
    response = deposit(signed_in, project, "11111111111111111111111111111111")
    assert "[near_account_missing]" in text(response)


def test_a_tampered_key_is_replaced(chain, signed_in, project, wallet) -> None:
    response = deposit(signed_in, project, "1" * 32, key="has spaces")
    page = response.content.decode()
    assert "The form expired" in page
    assert form_key(page) != "has spaces"
    assert not Deposit.objects.exists()


def test_a_pending_deposit_is_polled_until_credited(chain, signed_in, project, wallet) -> None:
    chain.client.sandbox("sandbox_set_finality", {"blocks": 2, "produce_empty_blocks": False})
    tx_hash = chain.transfer(
        key=wallet, receiver_id=PLATFORM_ACCOUNT, amount=REQUIRED, wait_until="EXECUTED_OPTIMISTIC"
    )
    assert deposit(signed_in, project, tx_hash).status_code == 302
    assert Deposit.objects.get().status == "pending"
    page = text(signed_in.get(fund_url(project)))
    assert "credited once the chain finalises it" in page
    check = f"/projects/{project.public_id}/fund/deposits/"
    assert f'hx-post="{check}" hx-trigger="every 3s"' in page
    assert "Waiting for the chain" in page
    # Not final yet: still pending, still polling.
    fragment = signed_in.post(check, HTTP_HX_REQUEST="true").content.decode()
    assert 'hx-trigger="every 3s"' in fragment
    assert "<html" not in fragment
    chain.client.sandbox("sandbox_fast_forward", {"delta_height": 2})
    # Final now: credited, and the page is drawn again whole (what to send has changed).
    answer = signed_in.post(check, HTTP_HX_REQUEST="true")
    assert answer["HX-Refresh"] == "true"
    assert Deposit.objects.get().status == "credited"
    page = text(signed_in.get(fund_url(project)))
    assert "0.66 NEAR credited to the project." in page
    assert "hx-trigger" not in page  # polling stops
    assert 'data-deposit-status="credited"' in page
    assert 'id="escrow-balance">0.66 NEAR<' in page
    assert "Funded" in page
    assert "data-near-send" not in page
    # Asked again, nothing is pending: the state alone, nothing credited twice.
    fragment = text(signed_in.post(check, HTTP_HX_REQUEST="true"))
    assert 'data-deposit-status="credited"' in fragment
    assert escrow_balance(reference=project.escrow_reference) == REQUIRED


def test_check_again_without_javascript_redirects_back(chain, signed_in, project) -> None:
    response = signed_in.post(f"/projects/{project.public_id}/fund/deposits/")
    assert response.status_code == 302
    assert response["Location"] == fund_url(project)


# --- Publishing ------------------------------------------------------------------------


def publish(client, project):
    return client.post(f"/projects/{project.public_id}/publish/", {"next": fund_url(project)})


def test_publishing_without_items_is_refused_with_its_code(signed_in, requester) -> None:
    empty = ProjectFactory(owner=requester, status="draft")
    response = publish(signed_in, empty)
    assert response.status_code == 302
    assert response["Location"] == fund_url(empty)
    page = text(signed_in.get(response["Location"]))
    assert "Import items before publishing. [project_state_invalid]" in page
    empty.refresh_from_db()
    assert empty.status == Project.Status.DRAFT


def test_publishing_unfunded_is_refused_with_its_code(signed_in, project) -> None:
    response = publish(signed_in, project)
    page = text(signed_in.get(response["Location"]))
    assert "[project_not_funded]" in page
    project.refresh_from_db()
    assert project.status == Project.Status.DRAFT


def test_publishing_a_funded_project_opens_it_and_goes_to_its_page(signed_in, project) -> None:
    escrow_fund(project)
    response = publish(signed_in, project)
    assert response.status_code == 302
    assert response["Location"] == f"/projects/{project.public_id}/"
    project.refresh_from_db()
    assert project.status == Project.Status.ACTIVE


def test_a_refusal_never_redirects_off_site(signed_in, project) -> None:
    response = signed_in.post(
        f"/projects/{project.public_id}/publish/", {"next": "https://evil.example/"}
    )
    assert response["Location"] == fund_url(project)


def test_publish_is_post_only(signed_in, project) -> None:
    assert signed_in.get(f"/projects/{project.public_id}/publish/").status_code == 405


# --- The development faucet (another part's view, found by its URL name) ---------------


def _faucet(request):  # stands in for the real view, which another part of the project writes
    from django.http import HttpResponse

    return HttpResponse(status=204)


def _urls_with_a_faucet():
    from django.urls import path

    from config.urls import urlpatterns

    return [*urlpatterns, path("dev/faucet-stand-in/", _faucet, name="dev-faucet")]


urlpatterns = _urls_with_a_faucet()


@pytest.mark.urls(__name__)
def test_on_the_local_chain_the_faucet_button_posts_back_here(signed_in, project, settings):
    from django.urls import reverse

    settings.NEAR_IS_LOCALNET = True
    page = signed_in.get(fund_url(project)).content.decode()
    faucet = r'<form method="post" action="([^"]+)" class="faucet">(.*?)</form>'
    form = re.search(faucet, page, re.S)
    assert form.group(1) == reverse("dev-faucet")
    assert f'name="next" value="{fund_url(project)}"' in form.group(2)
    assert "csrfmiddlewaretoken" in form.group(2)
    settings.NEAR_IS_LOCALNET = False
    assert 'class="faucet"' not in signed_in.get(fund_url(project)).content.decode()


def test_without_items_the_page_asks_for_them_first(signed_in, requester) -> None:
    empty = ProjectFactory(owner=requester, status="draft")
    page = signed_in.get(fund_url(empty)).content.decode()
    assert f'<a href="/projects/{empty.public_id}/items/">Add items first</a>' in page
    assert "data-near-send" not in page

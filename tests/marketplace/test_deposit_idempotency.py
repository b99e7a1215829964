"""Deposits with an Idempotency-Key: a retry answers the first deposit, in its current
state; another request under the same key is refused and credits nothing."""

import threading

import pytest
from django.db import connection

from marketplace.services.funding import project_deposit
from payouts.models import Deposit, Journal
from payouts.money import near_to_yocto
from payouts.selectors import escrow_balance
from payouts.services import deposits as deposit_services
from payouts.services.deposits import deposits_recheck
from tests.conftest import PLATFORM_ACCOUNT, near_account_prove
from tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def funded(chain, requester):
    key = chain.account_create(amount_near="50", account_id="alice.localnet")
    near_account_prove(requester, key)
    return key, ProjectFactory(owner=requester, status="draft")


def _deposit(api, project, tx_hash: str, key: str | None):
    headers = {} if key is None else {"HTTP_IDEMPOTENCY_KEY": key}
    return api.post(
        f"/api/projects/{project.public_id}/deposits/",
        {"tx_hash": tx_hash},
        format="json",
        **headers,
    )


def test_same_key_same_deposit_answers_the_first_once(chain, funded, requester_api) -> None:
    wallet, project = funded
    tx_hash = chain.transfer(key=wallet, receiver_id=PLATFORM_ACCOUNT, amount=near_to_yocto("2"))
    first = _deposit(requester_api, project, tx_hash, "dep-1")
    assert first.status_code == 201, first.content
    assert "Idempotent-Replayed" not in first
    again = _deposit(requester_api, project, tx_hash, "dep-1")
    assert again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    # Without the key, the repeat is refused as before: the hash is credited once, ever.
    plain = _deposit(requester_api, project, tx_hash, None)
    assert plain.json()["error"]["code"] == "deposit_already_used"
    assert Deposit.objects.count() == 1
    assert Journal.objects.filter(kind="deposit").count() == 1
    assert escrow_balance(reference=project.escrow_reference) == near_to_yocto("2")


def test_same_key_another_deposit_is_422_and_credits_nothing(chain, funded, requester_api) -> None:
    wallet, project = funded
    first = chain.transfer(key=wallet, receiver_id=PLATFORM_ACCOUNT, amount=near_to_yocto("1"))
    second = chain.transfer(key=wallet, receiver_id=PLATFORM_ACCOUNT, amount=near_to_yocto("3"))
    assert _deposit(requester_api, project, first, "dep").status_code == 201
    response = _deposit(requester_api, project, second, "dep")
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "idempotency_key_reused"
    assert escrow_balance(reference=project.escrow_reference) == near_to_yocto("1")
    # Another project is another request too.
    other = ProjectFactory(owner=project.owner, status="draft")
    assert _deposit(requester_api, other, first, "dep").status_code == 422


def test_a_malformed_key_is_400(chain, funded, requester_api) -> None:
    wallet, project = funded
    tx_hash = chain.transfer(key=wallet, receiver_id=PLATFORM_ACCOUNT, amount=near_to_yocto("1"))
    response = _deposit(requester_api, project, tx_hash, "x" * 256)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "idempotency_key_invalid"
    assert not Deposit.objects.exists()


def test_a_replay_shows_the_deposit_as_it_is_now(chain, funded, requester_api) -> None:
    """Pending at first (202); replayed after the chain finalised it: credited (201)."""
    wallet, project = funded
    chain.client.sandbox("sandbox_set_finality", {"blocks": 2, "produce_empty_blocks": False})
    tx_hash = chain.transfer(
        key=wallet,
        receiver_id=PLATFORM_ACCOUNT,
        amount=near_to_yocto("4"),
        wait_until="EXECUTED_OPTIMISTIC",
    )
    first = _deposit(requester_api, project, tx_hash, "dep-4")
    assert first.status_code == 202
    assert _deposit(requester_api, project, tx_hash, "dep-4").status_code == 202
    chain.client.sandbox("sandbox_fast_forward", {"delta_height": 2})
    assert deposits_recheck() == {"credited": 1}
    again = _deposit(requester_api, project, tx_hash, "dep-4")
    assert again.status_code == 201
    assert again.json()["status"] == "credited"
    assert again.json()["id"] == first.json()["id"]
    assert escrow_balance(reference=project.escrow_reference) == near_to_yocto("4")


@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicates_make_one_deposit(chain, funded, monkeypatch) -> None:
    """Both requests pass the look-up and check the chain; the second's insert then
    fails the unique hash and key, and it answers the first's deposit."""
    wallet, project = funded
    tx_hash = chain.transfer(key=wallet, receiver_id=PLATFORM_ACCOUNT, amount=near_to_yocto("2"))
    both_checked = threading.Barrier(2, timeout=30)
    lookup = deposit_services._tx_lookup

    def lookup_then_wait(**kwargs):
        result = lookup(**kwargs)
        both_checked.wait()  # neither has written yet
        return result

    monkeypatch.setattr(deposit_services, "_tx_lookup", lookup_then_wait)
    results: dict[str, object] = {}

    def deposit(name: str) -> None:
        try:
            results[name] = project_deposit(
                project=project, user=project.owner, tx_hash=tx_hash, idempotency_key="dup"
            )
        except Exception as exc:  # reported below
            results[name] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=deposit, args=(n,)) for n in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    (first, created_a), (second, created_b) = results["a"], results["b"]
    assert first.pk == second.pk
    assert sorted([created_a, created_b]) == [False, True]
    assert Deposit.objects.count() == 1
    assert escrow_balance(reference=project.escrow_reference) == near_to_yocto("2")

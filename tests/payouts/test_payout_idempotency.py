"""Withdrawals with an Idempotency-Key: a client that retries after any error, with the
same key, never withdraws twice; another request under the same key is refused."""

import logging
import socket
import threading
import uuid
from collections.abc import Iterator

import pytest
from django.db import connection

from payouts.api import views as payout_views
from payouts.api.serializers import PayoutSerializer
from payouts.models import Payout
from payouts.money import near_to_yocto
from payouts.near.keys import key_generate
from payouts.selectors import earnings_summary, ledger_trial_balance
from payouts.services.payouts import payout_request_once, payouts_reconcile
from payouts.services.payouts import request as request_module
from tests.conftest import api_client_for, near_account_prove
from tests.factories import UserFactory, earnings_give
from tests.workers import tasks_sent_to

pytestmark = pytest.mark.django_db

ONE = near_to_yocto("1")
PAYOUTS = "/api/me/payouts"


@pytest.fixture
def earner(settings):
    """3 NEAR of earnings and a proven account; no automatic payouts."""
    settings.AUTO_PAYOUT_NEAR = ""
    user = UserFactory()
    near_account_prove(user, key_generate())
    earnings_give(user, 3 * ONE)
    return user


def _withdraw(api, amount: str, key: str | None):
    headers = {} if key is None else {"HTTP_IDEMPOTENCY_KEY": key}
    return api.post(PAYOUTS, {"amount": amount}, format="json", **headers)


def test_same_key_same_request_answers_the_same_payout_once(chain, earner) -> None:
    api = api_client_for(earner)
    key = str(uuid.uuid4())
    first = _withdraw(api, "1", key)
    assert first.status_code == 201, first.content
    assert "Idempotent-Replayed" not in first
    again = _withdraw(api, "1", key)
    assert again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert Payout.objects.count() == 1
    assert earnings_summary(user=earner).balance == 2 * ONE
    # A new key is a new withdrawal.
    assert _withdraw(api, "1", str(uuid.uuid4())).json()["id"] != first.json()["id"]
    assert Payout.objects.count() == 2


def test_same_key_another_request_is_422_and_moves_nothing(chain, earner) -> None:
    api = api_client_for(earner)
    _withdraw(api, "1", "withdraw-1")
    response = _withdraw(api, "2", "withdraw-1")
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "idempotency_key_reused"
    assert Payout.objects.count() == 1
    assert earnings_summary(user=earner).balance == 2 * ONE


@pytest.mark.parametrize("key", ["", "   ", "a b", "k" * 256, "clé", "tab\there"])
def test_a_malformed_key_is_400_and_moves_nothing(chain, earner, key: str) -> None:
    response = _withdraw(api_client_for(earner), "1", key)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "idempotency_key_invalid"
    assert not Payout.objects.exists()


def test_a_quoted_key_is_the_same_key(chain, earner) -> None:
    """The IETF draft sends the key as a structured-field string: "..."."""
    api = api_client_for(earner)
    first = _withdraw(api, "1", '"abc-123"')
    again = _withdraw(api, "1", "abc-123")
    assert again["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]


def test_a_replay_answers_the_original_even_where_a_new_request_would_be_refused(
    chain, earner, settings
) -> None:
    api = api_client_for(earner)
    first = _withdraw(api, "1", "k")
    settings.MIN_PAYOUT_NEAR = "2"  # a new request for 1 NEAR is now too small
    assert _withdraw(api, "1", None).json()["error"]["code"] == "payout_below_minimum"
    again = _withdraw(api, "1", "k")
    assert again.status_code == 201
    assert again.json()["id"] == first.json()["id"]


def test_keys_are_per_user(chain, earner) -> None:
    other = UserFactory()
    near_account_prove(other, key_generate())
    earnings_give(other, ONE)
    mine = _withdraw(api_client_for(earner), "1", "same-key")
    theirs = _withdraw(api_client_for(other), "1", "same-key")
    assert theirs.status_code == 201
    assert "Idempotent-Replayed" not in theirs
    assert theirs.json()["id"] != mine.json()["id"]
    assert Payout.objects.count() == 2


def test_a_refused_request_is_not_remembered(chain, earner) -> None:
    """Refusals write nothing, not even the key: sent again later, the request runs."""
    api = api_client_for(earner)
    refused = _withdraw(api, "5", "big")
    assert refused.json()["error"]["code"] == "insufficient_funds"
    earnings_give(earner, 2 * ONE)
    accepted = _withdraw(api, "5", "big")
    assert accepted.status_code == 201
    assert "Idempotent-Replayed" not in accepted


# --- A client that retries after any error ----------------------------------------------


@pytest.fixture
def dead_broker() -> Iterator[None]:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    url = f"redis://127.0.0.1:{probe.getsockname()[1]}/0"
    probe.close()
    with tasks_sent_to(url):
        yield


def _fail_first_call(monkeypatch, owner, name: str, exc: Exception) -> None:
    original = getattr(owner, name)
    calls = []

    def failing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise exc
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, failing)


# Each fault strikes the first attempt after its transaction committed.
FAULTS = ["response_lost", "error_500_after_commit", "timeout_after_commit", "broker_down"]


@pytest.mark.django_db(transaction=True)  # commits happen inside the request, as served
@pytest.mark.parametrize("fault", FAULTS)
def test_a_client_retrying_with_the_same_key_withdraws_once(
    chain, earner, fault: str, monkeypatch, request
) -> None:
    if fault == "error_500_after_commit":
        _fail_first_call(monkeypatch, PayoutSerializer, "to_representation", RuntimeError("bug"))
    elif fault == "timeout_after_commit":
        _fail_first_call(monkeypatch, payout_views, "mark_replayed", TimeoutError("gateway"))
    elif fault == "broker_down":
        request.getfixturevalue("dead_broker")
    api = api_client_for(earner)
    api.raise_request_exception = False  # a crash is a 500 to the client, as served
    key = str(uuid.uuid4())
    answers = []
    for attempt in range(4):  # retry until an answer arrives, same key every time
        response = _withdraw(api, "2", key)
        lost = attempt == 0 and fault in ("response_lost", "broker_down")
        if lost or response.status_code >= 500:
            continue
        answers.append(response)
        if len(answers) == 2:  # and once more after success, for good measure
            break
    assert [a.status_code for a in answers] == [201, 201]
    assert all(a["Idempotent-Replayed"] == "true" for a in answers)
    payout = Payout.objects.get()
    assert {a.json()["id"] for a in answers} == {str(payout.public_id)}
    assert earnings_summary(user=earner).balance == ONE  # debited once

    payouts_reconcile(older_than_seconds=0)  # sends it if its task never ran
    payout.refresh_from_db()
    assert payout.status == Payout.Status.CONFIRMED
    assert chain.balance(payout.receiver_id) == 2 * ONE
    assert sum(ledger_trial_balance().values()) == 0


@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicates_on_two_connections_make_one_payout(
    earner, monkeypatch, caplog
) -> None:
    """The second request passes the look-up while the first's payout is uncommitted;
    it then waits on the unique key (PostgreSQL) or the write lock (SQLite) and, once
    the first commits, answers the first's payout."""
    monkeypatch.setattr(request_module, "enqueue_on_commit", lambda task, *args: None)
    inside, release = threading.Event(), threading.Event()
    record = request_module.payout_event_record

    def record_then_pause(payout, **kwargs):
        record(payout, **kwargs)
        if threading.current_thread().name == "first":
            inside.set()
            release.wait(30)

    monkeypatch.setattr(request_module, "payout_event_record", record_then_pause)
    results: dict[str, object] = {}

    def withdraw(name: str) -> None:
        try:
            results[name] = payout_request_once(user=earner, amount=ONE, idempotency_key="k")
        except Exception as exc:  # reported below
            results[name] = exc
        finally:
            connection.close()

    first = threading.Thread(target=withdraw, args=("first",), name="first")
    second = threading.Thread(target=withdraw, args=("second",), name="second")
    with caplog.at_level(logging.INFO, logger=request_module.__name__):
        first.start()
        assert inside.wait(30)
        second.start()
        second.join(1.5)
        assert second.is_alive(), results  # held behind the first's uncommitted payout
        release.set()
        first.join(30)
        second.join(30)
    (payout_a, created_a), (payout_b, created_b) = results["first"], results["second"]
    assert (created_a, created_b) == (True, False)
    assert payout_a.pk == payout_b.pk
    assert Payout.objects.count() == 1
    assert earnings_summary(user=earner).balance == 2 * ONE
    assert "raced" in caplog.text

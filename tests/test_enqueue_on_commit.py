"""With the broker down, money and work are saved and answered as success; the sweeps
finish them. This process's real Celery app sends to a Redis port that nobody listens
on (or that never answers), not to a mock."""

import logging
import socket
import time
from collections.abc import Iterator

import pytest
from django.db import transaction

from config.celery import app as celery_app
from config.enqueue import enqueue_on_commit
from labeling.models import Item
from labeling.services.quality import items_resolve_stale
from payouts.models import Payout
from payouts.money import near_to_yocto
from payouts.near.keys import key_generate
from payouts.selectors import earnings_summary, ledger_trial_balance
from payouts.services.earnings import payouts_auto_sweep
from payouts.services.payouts import payouts_reconcile
from tests.conftest import api_client_for, near_account_prove
from tests.factories import UserFactory, earnings_give, project_with_items
from tests.workers import tasks_sent_to

pytestmark = pytest.mark.django_db(transaction=True)  # on_commit runs inside the request

ENQUEUE_FAILED = "could not enqueue"


@pytest.fixture
def dead_broker() -> Iterator[str]:
    """The broker's port refuses connections (Redis is down)."""
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    url = f"redis://127.0.0.1:{probe.getsockname()[1]}/0"
    probe.close()
    with tasks_sent_to(url):
        yield url


@pytest.fixture
def silent_broker() -> Iterator[str]:
    """The broker's port accepts connections and never answers (a stuck Redis or proxy)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)  # the kernel completes the handshakes; nobody reads
    url = f"redis://127.0.0.1:{listener.getsockname()[1]}/0"
    try:
        with tasks_sent_to(url):
            yield url
    finally:
        listener.close()


@pytest.fixture
def earner(settings):
    settings.AUTO_PAYOUT_NEAR = ""  # only the withdrawal under test moves money
    user = UserFactory()
    near_account_prove(user, key_generate())
    earnings_give(user, near_to_yocto("3"))
    return user


def _withdraw(user, amount: str = "2"):
    return api_client_for(user).post("/api/me/payouts", {"amount": amount}, format="json")


def test_withdrawal_with_the_broker_down_is_saved_and_the_sweep_sends_it(
    chain, earner, dead_broker, caplog
) -> None:
    with caplog.at_level(logging.ERROR, logger="config.enqueue"):
        response = _withdraw(earner)
    assert response.status_code == 201, response.content
    assert ENQUEUE_FAILED in caplog.text
    payout = Payout.objects.get()
    assert response.json()["id"] == str(payout.public_id)
    assert payout.status == Payout.Status.PENDING  # saved, debited, not sent
    assert earnings_summary(user=earner).balance == near_to_yocto("1")

    assert payouts_reconcile(older_than_seconds=0) == {"confirmed": 1}
    payout.refresh_from_db()
    assert payout.status == Payout.Status.CONFIRMED
    assert chain.balance(payout.receiver_id) == near_to_yocto("2")
    assert sum(ledger_trial_balance().values()) == 0


@pytest.mark.timeout(60)
def test_a_silent_broker_holds_the_withdrawal_for_seconds_not_forever(
    chain, earner, silent_broker, settings
) -> None:
    started = time.monotonic()
    response = _withdraw(earner)
    elapsed = time.monotonic() - started
    assert response.status_code == 201, response.content
    assert Payout.objects.get().status == Payout.Status.PENDING
    # One socket timeout, give or take the publish retries' 0.2 s pauses.
    assert elapsed < 2 * settings.BROKER_TIMEOUT + 1, elapsed


def test_completing_answer_with_the_broker_down_is_saved_and_the_sweeps_pay_it(
    chain, dead_broker, settings, caplog
) -> None:
    """The answer that completes an item is stored (201); the stale-item sweep resolves
    and credits it, the automatic-payout sweep withdraws it, reconciliation pays it."""
    settings.AUTO_PAYOUT_NEAR = "0.01"
    project = project_with_items(items=1, answers_per_item=1)
    contributor = UserFactory()
    near_account_prove(contributor, key_generate())
    api = api_client_for(contributor)
    assignment = api.get(f"/api/projects/{project.public_id}/next").json()
    with caplog.at_level(logging.ERROR, logger="config.enqueue"):
        response = api.post(
            f"/api/assignments/{assignment['id']}/submit",
            {"answer": {"label": "cat"}},
            format="json",
        )
    assert response.status_code == 201, response.content
    assert ENQUEUE_FAILED in caplog.text
    assert Item.objects.get().status == Item.Status.COMPLETE

    assert items_resolve_stale(older_than_seconds=0) == 1
    assert Item.objects.get().status == Item.Status.RESOLVED
    reward = project.reward_per_answer
    assert earnings_summary(user=contributor).balance == reward
    assert not Payout.objects.exists()  # its payout_auto_task was lost too

    assert payouts_auto_sweep(older_than_seconds=0) == 1
    assert payouts_auto_sweep(older_than_seconds=0) == 0  # once
    assert payouts_reconcile(older_than_seconds=0) == {"confirmed": 1}
    payout = Payout.objects.get()
    assert payout.amount == reward
    assert chain.balance(payout.receiver_id) == reward
    assert earnings_summary(user=contributor).balance == 0


def test_sent_after_commit_and_never_for_a_rolled_back_transaction() -> None:
    assert celery_app.conf.task_always_eager  # the embedded default: runs in process
    sent = []

    @celery_app.task(name="tests.enqueue.record")
    def record(value: int) -> None:
        sent.append(value)

    with transaction.atomic():
        enqueue_on_commit(record, 1)
        transaction.set_rollback(True)
    with transaction.atomic():
        enqueue_on_commit(record, 2)
        assert sent == []  # not before the commit
    assert sent == [2]

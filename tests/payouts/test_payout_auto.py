"""A balance that reaches the automatic threshold is paid out without being asked."""

import pytest
from django.utils import timezone

from payouts.models import NearAccount, Payout
from payouts.money import near_to_yocto
from payouts.near.keys import key_generate
from payouts.selectors import earnings_summary
from payouts.services.earnings import earning_credit, payout_auto, payouts_auto_sweep
from payouts.services.payouts import payout_send, payouts_reconcile
from tests.factories import ProjectFactory, UserFactory, escrow_fund

pytestmark = pytest.mark.django_db


@pytest.fixture
def project():
    project = ProjectFactory()
    escrow_fund(project, amount=near_to_yocto("10"))
    return project


def _credit(user, project, amount: str, n: int) -> None:
    earning_credit(
        reference=f"auto:{user.pk}:{n}",
        user_id=user.pk,
        escrow_reference=project.escrow_reference,
        reward=near_to_yocto(amount),
        fee=0,
    )


def _verified(user):
    return NearAccount.objects.create(
        user=user, account_id=key_generate().account_id, verified_at=timezone.now()
    )


def test_crossing_the_threshold_pays_the_whole_balance(
    chain, project, settings, django_capture_on_commit_callbacks
) -> None:
    settings.AUTO_PAYOUT_NEAR = "1"
    user = UserFactory()
    account = _verified(user)
    with django_capture_on_commit_callbacks(execute=True):
        _credit(user, project, "0.6", 1)
    assert not Payout.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        _credit(user, project, "0.6", 2)
    payout = Payout.objects.get()
    assert payout.amount == near_to_yocto("1.2")
    assert payout.status == Payout.Status.CONFIRMED
    assert chain.balance(account.account_id) == near_to_yocto("1.2")
    assert earnings_summary(user=user).balance == 0


def test_no_automatic_payout_to_an_unproven_account(
    chain, project, settings, django_capture_on_commit_callbacks
) -> None:
    settings.AUTO_PAYOUT_NEAR = "1"
    user = UserFactory()
    NearAccount.objects.create(user=user, account_id=key_generate().account_id)
    with django_capture_on_commit_callbacks(execute=True):
        _credit(user, project, "2", 1)
    assert not Payout.objects.exists()
    assert earnings_summary(user=user).balance == near_to_yocto("2")


def test_threshold_off(chain, project, settings, django_capture_on_commit_callbacks) -> None:
    settings.AUTO_PAYOUT_NEAR = ""
    user = UserFactory()
    _verified(user)
    with django_capture_on_commit_callbacks(execute=True):
        _credit(user, project, "5", 1)
    assert not Payout.objects.exists()


# --- The sweep: automatic payouts whose task was lost -----------------------------------
# Outside `django_capture_on_commit_callbacks` the on-commit task never runs: lost.


def test_sweep_makes_the_automatic_payout_whose_task_was_lost(chain, project, settings) -> None:
    settings.AUTO_PAYOUT_NEAR = "1"
    user = UserFactory()
    _verified(user)
    _credit(user, project, "1.5", 1)
    assert not Payout.objects.exists()
    assert payouts_auto_sweep(older_than_seconds=0) == 1
    payout = Payout.objects.get()
    assert payout.amount == near_to_yocto("1.5")
    assert payouts_auto_sweep(older_than_seconds=0) == 0  # once
    assert Payout.objects.count() == 1


def test_sweep_leaves_fresh_earnings_to_their_task_and_ignores_unproven_or_small(
    chain, project, settings
) -> None:
    settings.AUTO_PAYOUT_NEAR = "1"
    fresh, unproven, small = UserFactory(), UserFactory(), UserFactory()
    _verified(fresh)
    _verified(small)
    NearAccount.objects.create(user=unproven, account_id=key_generate().account_id)
    _credit(fresh, project, "2", 1)
    _credit(unproven, project, "2", 2)
    _credit(small, project, "0.5", 3)
    assert payouts_auto_sweep(older_than_seconds=30) == 0  # the task may still be coming
    assert payouts_auto_sweep(older_than_seconds=0) == 1
    assert Payout.objects.get().user == fresh


def test_sweep_does_not_retry_a_payout_that_failed_on_chain(chain, project, settings) -> None:
    """A payout to a missing named account fails and is refunded: the sweep does not
    send it again each round (each try burns gas); the next earning tries again."""
    settings.AUTO_PAYOUT_NEAR = "1"
    user = UserFactory()
    NearAccount.objects.create(user=user, account_id="ghost.localnet", verified_at=timezone.now())
    _credit(user, project, "1", 1)
    assert payouts_auto_sweep(older_than_seconds=0) == 1
    payouts_reconcile(older_than_seconds=0)
    assert Payout.objects.get().status == Payout.Status.FAILED
    assert earnings_summary(user=user).balance == near_to_yocto("1")  # refunded
    assert payouts_auto_sweep(older_than_seconds=0) == 0
    _credit(user, project, "0.1", 2)
    assert payouts_auto_sweep(older_than_seconds=0) == 1
    assert Payout.objects.count() == 2


def test_earnings_credited_while_a_payout_was_open_go_out_when_it_confirms(
    chain, project, settings, django_capture_on_commit_callbacks
) -> None:
    """The automatic payout of an earning finds the previous payout still open and does
    nothing; once that payout confirms, the rest goes out without waiting for the sweep."""
    settings.AUTO_PAYOUT_NEAR = "1"
    user = UserFactory()
    _verified(user)
    with django_capture_on_commit_callbacks(execute=False):
        _credit(user, project, "1", 1)  # its automatic payout task is lost
    first = payout_auto(user_id=user.pk)
    assert first is not None
    with django_capture_on_commit_callbacks(execute=True):
        _credit(user, project, "2", 2)  # finds `first` open: nothing more yet
    assert Payout.objects.count() == 1
    with django_capture_on_commit_callbacks(execute=True):
        payout_send(payout_id=first.pk)  # confirmed: the rest goes out after it
    payouts = list(Payout.objects.order_by("pk"))
    assert [p.amount for p in payouts] == [near_to_yocto("1"), near_to_yocto("2")]
    assert {p.status for p in payouts} == {Payout.Status.CONFIRMED}
    assert earnings_summary(user=user).balance == 0

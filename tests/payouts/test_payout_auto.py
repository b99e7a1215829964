"""A balance that reaches the automatic threshold is paid out without being asked."""

import pytest
from django.utils import timezone

from payouts.models import NearAccount, Payout
from payouts.money import near_to_yocto
from payouts.near.keys import key_generate
from payouts.selectors import earnings_summary
from payouts.services.earnings import earning_credit
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

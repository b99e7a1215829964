"""journal_post and earning_credit refuse movements that are not movements."""

import pytest

from payouts.models import Journal, LedgerAccount
from payouts.services.earnings import earning_credit
from payouts.services.ledger import journal_post, ledger_account_get_or_create, world_account
from tests.factories import ProjectFactory, UserFactory, escrow_fund

pytestmark = pytest.mark.django_db


def test_a_journal_of_zero_lines_is_refused_and_burns_no_key() -> None:
    other = ledger_account_get_or_create(key="t", kind=LedgerAccount.Kind.PLATFORM_FEES)
    with pytest.raises(ValueError, match="non-zero"):
        journal_post(
            kind=Journal.Kind.DEPOSIT,
            idempotency_key="zero",
            lines=[(world_account(), 0), (other, 0)],
        )
    assert not Journal.objects.filter(idempotency_key="zero").exists()


@pytest.mark.parametrize(("reward", "fee"), [(0, 0), (10, -10), (-5, 5)])
def test_an_earning_must_be_positive(reward: int, fee: int) -> None:
    project = ProjectFactory()
    escrow_fund(project, amount=100)
    with pytest.raises(ValueError, match="positive reward"):
        earning_credit(
            reference="bad",
            user_id=UserFactory().pk,
            escrow_reference=project.escrow_reference,
            reward=reward,
            fee=fee,
        )
    assert not Journal.objects.filter(idempotency_key="earning:bad").exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_first_posts_of_one_key_move_money_once() -> None:
    """Two connections post the same new key at once: one journal, no error."""
    import threading

    from django.db import connection

    world = world_account()
    fees = ledger_account_get_or_create(key="fees-t", kind=LedgerAccount.Kind.PLATFORM_FEES)
    start = threading.Barrier(2)
    results: list[object] = []

    def post() -> None:
        try:
            start.wait()
            results.append(
                journal_post(
                    kind=Journal.Kind.DEPOSIT,
                    idempotency_key="race",
                    lines=[(world, -5), (fees, 5)],
                )[1]
            )
        except Exception as exc:  # the assertion below reports it
            results.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=post) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(map(repr, results)) == ["False", "True"]
    assert Journal.objects.filter(idempotency_key="race").count() == 1

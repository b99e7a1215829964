"""The amount field must hold every value up to 10**33 exactly, on each database."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from payouts.fields import YoctoSum
from payouts.models import Journal, JournalLine, LedgerAccount, Payout
from payouts.services.ledger import ledger_account_get_or_create
from tests.factories import UserFactory

EXACT = [
    0,
    1,
    2**63 - 1,
    2**63,
    2**64 + 1,
    10**24 + 1,
    10**33 - 1,
    10**33,
    123456789012345678901234567890123,
]


def _line(amount: int) -> JournalLine:
    account = ledger_account_get_or_create(key="t", kind=LedgerAccount.Kind.WORLD)
    journal = Journal.objects.create(kind=Journal.Kind.DEPOSIT, idempotency_key=f"k{amount}")
    return JournalLine.objects.create(journal=journal, account=account, amount=amount)


@pytest.mark.django_db
@pytest.mark.parametrize("amount", EXACT + [-x for x in EXACT if x])
def test_amount_round_trips_exactly(amount: int) -> None:
    """Stored and read back (and summed by the database) without losing a digit."""
    line = _line(amount)
    assert JournalLine.objects.get(pk=line.pk).amount == amount
    total = JournalLine.objects.filter(pk=line.pk).aggregate(t=YoctoSum("amount"))["t"]
    assert total == amount
    assert type(total) is int


@pytest.mark.django_db
def test_sum_is_exact_beyond_float_precision() -> None:
    """10**33 + 1 + 1 sums exactly: a float SUM would lose the ones."""
    account = ledger_account_get_or_create(key="t", kind=LedgerAccount.Kind.WORLD)
    for index, amount in enumerate((10**33, 1, 1)):
        journal = Journal.objects.create(kind=Journal.Kind.DEPOSIT, idempotency_key=f"s{index}")
        JournalLine.objects.create(journal=journal, account=account, amount=amount)
    assert JournalLine.objects.aggregate(t=YoctoSum("amount"))["t"] == 10**33 + 2


@pytest.mark.django_db
@pytest.mark.parametrize("bad", ["-5", "12abc"])
def test_database_refuses_bad_amounts_written_behind_the_orm(bad: str) -> None:
    """The column's CHECK refuses a negative amount (or, on SQLite, a non-number)."""
    if bad == "12abc" and connection.vendor != "sqlite":
        pytest.skip("PostgreSQL's numeric type refuses text by itself")
    user = UserFactory()
    payout = Payout.objects.create(user=user, receiver_id="a.near", amount=5)
    value = bad if connection.vendor == "sqlite" else int(bad)
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE payouts_payout SET amount = %s WHERE id = %s", [value, payout.pk])
    assert Payout.objects.get(pk=payout.pk).amount == 5


@pytest.mark.django_db
def test_orm_refuses_negative_unsigned_amount() -> None:
    with pytest.raises(ValidationError):
        Payout.objects.create(user=UserFactory(), receiver_id="a.near", amount=-1)


class YoctoPropertyTests(TestCase):
    @settings(max_examples=60, deadline=None)
    @given(st.integers(min_value=-(10**33), max_value=10**33))
    def test_any_amount_round_trips(self, amount: int) -> None:
        """Any integer in ±10**33 survives a write and a read unchanged."""
        JournalLine.objects.all().delete()
        Journal.objects.all().delete()
        line = _line(amount)
        assert JournalLine.objects.get(pk=line.pk).amount == amount

"""The lock policy of payouts/locks.py, on PostgreSQL (SQLite has no row locks): a locked
ledger account never delays another transaction's journal lines that point at it."""

import pytest
from django.db import connection, transaction

from payouts.locks import ledger_accounts_lock
from payouts.models import Journal, JournalLine
from payouts.services.ledger import platform_fees_account, world_account
from tests.locking import HeldLock

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_a_locked_ledger_account_does_not_block_lines_that_reference_it() -> None:
    """FOR NO KEY UPDATE on the fee account (a debit being checked) lets another
    transaction insert a line crediting it at once; FOR UPDATE would make it wait."""
    if connection.vendor != "postgresql":
        pytest.skip("row locks exist on PostgreSQL only")
    fees, world = platform_fees_account(), world_account()
    holder = HeldLock(lambda: ledger_accounts_lock(accounts=[fees]))
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL lock_timeout = '500ms'")
            journal = Journal.objects.create(kind=Journal.Kind.NETWORK_FEE, idempotency_key="lock")
            JournalLine.objects.create(journal=journal, account=fees, amount=5)
            JournalLine.objects.create(journal=journal, account=world, amount=-5)
    finally:
        holder.release()
    assert JournalLine.objects.filter(account=fees).count() == 1

"""The lock policy of labeling/locks.py, on PostgreSQL (SQLite has no row locks):
locks take only the rows they mean, in a mode that does not block referencing inserts,
and the queue never waits while it holds one."""

from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from labeling.locks import item_lock
from labeling.models import Assignment, Item
from labeling.services import queue
from tests.factories import UserFactory, project_with_items
from tests.locking import HeldLock

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _postgres_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("row locks exist on PostgreSQL only")


def test_a_locked_item_does_not_block_inserts_that_reference_it() -> None:
    """FOR NO KEY UPDATE: another transaction may insert an assignment of the locked item
    at once (its foreign-key check needs only KEY SHARE). Under FOR UPDATE it would wait."""
    project = project_with_items(items=1)
    item = Item.objects.get(project=project)
    contributor = UserFactory()
    holder = HeldLock(lambda: item_lock(item_id=item.pk))
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL lock_timeout = '500ms'")
            Assignment.objects.create(
                project=project,
                item=item,
                contributor=contributor,
                expires_at=timezone.now() + timedelta(minutes=5),
            )
    finally:
        holder.release()
    assert Assignment.objects.filter(item=item).count() == 1


def test_the_claim_waits_for_locked_items_outside_its_transaction(monkeypatch) -> None:
    """While the only free item is locked by another transaction, the claim tries again
    after a pause; it holds no transaction (and so no lock) during that pause, and gets
    the item once the other transaction ends."""
    project = project_with_items(items=1)
    item = Item.objects.get(project=project)
    contributor = UserFactory()
    holder = HeldLock(lambda: item_lock(item_id=item.pk))
    pauses: list[bool] = []

    def sleep(seconds: float) -> None:
        pauses.append(connection.in_atomic_block)
        if len(pauses) == 3:
            holder.release()

    monkeypatch.setattr(queue.time, "sleep", sleep)
    try:
        assignment = queue.assignment_claim_next(project=project, contributor=contributor)
    finally:
        holder.release()
    assert pauses, "the claim never waited for the locked item"
    assert not any(pauses), "the claim paused inside its transaction"
    assert assignment is not None
    assert assignment.item_id == item.pk


def test_the_claim_gives_up_after_its_retries_while_every_item_stays_locked(monkeypatch) -> None:
    project = project_with_items(items=1)
    item = Item.objects.get(project=project)
    holder = HeldLock(lambda: item_lock(item_id=item.pk))
    monkeypatch.setattr(queue.time, "sleep", lambda seconds: None)
    try:
        assert queue.assignment_claim_next(project=project, contributor=UserFactory()) is None
    finally:
        holder.release()
    assert not Assignment.objects.exists()

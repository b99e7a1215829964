"""The labeling app's row locks, in one place: which rows, in which order, and how.

Order. A transaction that needs several of these rows takes them in this order:
project, item, assignment, submission; then, inside payouts' services, ledger
accounts (payouts/locks.py). Two transactions can then never wait on each other in a
cycle.

Which rows. Only the rows the transaction changes or whose state it must hold still:
the row itself, never the rows a join brings in (`of=("self",)` in the ORM, `OF i` in
SQL).

How. `FOR NO KEY UPDATE` (`select_for_update(no_key=True)`): nothing here changes a
primary key, and unlike `FOR UPDATE` it does not block another transaction inserting
a row that references the locked one (the foreign-key check takes `FOR KEY SHARE`),
so locking an item never delays an unrelated insert that points at it.

SQLite has no row locks: every write transaction is IMMEDIATE (config/settings.py),
so writers run one at a time; there the SQL below carries no lock clause and the ORM
helpers lock nothing.

Never sleep, wait for a network call or hand control to a client while holding one of
these locks: every lock is released by the end of a short transaction.
"""

from typing import Any

from django.db import connection

from labeling.models import Assignment, Item, Project, Submission


def row_lock_sql(*, of: str | None = None, skip_locked: bool = False) -> str:
    """The lock clause to append to a raw SELECT on this database ("" on SQLite)."""
    if not connection.features.has_select_for_update:
        return ""
    clause = " FOR NO KEY UPDATE"
    if of is not None:
        clause += f" OF {of}"
    if skip_locked:
        clause += " SKIP LOCKED"
    return clause


def project_lock(*, project_id: int) -> Project:
    """Lock and return a project (publishing, importing into it)."""
    return Project.objects.select_for_update(no_key=True, of=("self",)).get(pk=project_id)


def item_lock(*, item_id: int, with_project: bool = False) -> Item:
    """Lock and return an item; `with_project` reads its project in the same query
    without locking it."""
    items = Item.objects.select_for_update(no_key=True, of=("self",))
    if with_project:
        items = items.select_related("project")
    return items.get(pk=item_id)


def assignment_lock(*, assignment_id: int) -> Assignment:
    """Lock and return an assignment (after its item, if the item is locked too)."""
    return Assignment.objects.select_for_update(no_key=True, of=("self",)).get(pk=assignment_id)


def submissions_lock(**filters: Any) -> list[Submission]:
    """Lock and return the submissions matching `filters`, in id order, each with its
    assignment read (not locked)."""
    return list(
        Submission.objects.select_for_update(no_key=True, of=("self",))
        .filter(**filters)
        .select_related("assignment")
        .order_by("pk")
    )

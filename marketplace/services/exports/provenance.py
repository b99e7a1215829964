"""Which payout paid an accepted answer: FIFO over the contributor's earnings account.

The credits of `earnings:<user>` (its journal lines > 0, except the refunds of failed
payouts) are consumed in line-id order by the user's payouts in id order (failed ones
excluded, as their refund is). The payout whose cumulative debit first reaches the
cumulative credit up to and including an answer's earning line paid that answer; a
partial withdrawal leaves the rest of a credit to the next payout.

As cumulative credits grow with line ids, each payout k has a boundary B_k: the last
credit line whose cumulative sum is <= the payouts' cumulative debit D_k. Line l was
paid by the first payout with l <= B_k (a bisection). The locator holds one boundary
per payout of the project's contributors: memory O(payouts), not O(answers).
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass, field

from django.db import connection

from payouts.models import Journal, Payout

_CONFIRMED = Payout.Status.CONFIRMED.value


@dataclass
class PayoutLocator:
    # user id -> (boundaries B_k ascending, (tx_hash, status) of payout k)
    by_user: dict[int, tuple[list[int], list[tuple[str | None, str]]]] = field(default_factory=dict)

    def locate(self, user_id: int, line_id: int) -> tuple[str | None, str | None]:
        """(payout_tx_hash, payout_status) of the earning at ledger line `line_id`:
        (None, None) while no payout has consumed it."""
        entry = self.by_user.get(user_id)
        if entry is None:
            return None, None
        boundaries, payouts = entry
        k = bisect_left(boundaries, line_id)
        if k == len(boundaries):
            return None, None
        return payouts[k]

    def add(self, user_id: int, boundary: int, tx_hash: str | None, status: str) -> None:
        boundaries, payouts = self.by_user.setdefault(user_id, ([], []))
        boundaries.append(boundary)
        payouts.append((tx_hash if status == _CONFIRMED else None, status))


def payout_locator(*, project_id: int) -> PayoutLocator:
    """The payout boundaries of every contributor of the project who has a payout."""
    if connection.vendor == "postgresql":
        return _locator_postgres(project_id)
    return _locator_python(project_id)


_CONTRIBUTORS_WITH_PAYOUTS = (
    "SELECT DISTINCT a.contributor_id FROM labeling_assignment a"
    " WHERE a.project_id = %s AND a.status = 'submitted' AND EXISTS ("
    "  SELECT 1 FROM payouts_payout p WHERE p.user_id = a.contributor_id AND p.status <> 'failed')"
)
# PostgreSQL: the same (a superset: any assignment), walking the index on (project,
# contributor, item) one contributor at a time instead of reading every assignment.
_USERS_CTES_PG = (
    "c AS ("
    " SELECT MIN(contributor_id) AS id FROM labeling_assignment WHERE project_id = %s"
    " UNION ALL SELECT (SELECT MIN(contributor_id) FROM labeling_assignment"
    "  WHERE project_id = %s AND contributor_id > c.id) FROM c WHERE c.id IS NOT NULL),"
    " users AS (SELECT c.id AS contributor_id FROM c WHERE c.id IS NOT NULL AND EXISTS ("
    "  SELECT 1 FROM payouts_payout p WHERE p.user_id = c.id AND p.status <> 'failed'))"
)


def _locator_postgres(project_id: int) -> PayoutLocator:
    # Credits and debits merged by cumulative amount (a credit before a debit of the same
    # sum: it is fully paid by that debit); the running maximum of credit line ids at a
    # debit is its boundary.
    sql = f"""
    WITH RECURSIVE {_USERS_CTES_PG},
    accounts AS (
        SELECT la.id AS account_id, u.contributor_id AS user_id
        FROM users u JOIN payouts_ledgeraccount la ON la.key = 'earnings:' || u.contributor_id
    ),
    refunds AS (
        SELECT j.id FROM users u
        JOIN payouts_payout p ON p.user_id = u.contributor_id AND p.status = 'failed'
        JOIN payouts_journal j ON j.idempotency_key = 'payout:' || p.public_id::text || ':failed'
            AND j.kind = %s
    ),
    credits AS (
        SELECT ac.user_id, l.id AS line_id,
            SUM(l.amount) OVER (PARTITION BY ac.user_id ORDER BY l.id) AS cum
        FROM accounts ac JOIN payouts_journalline l ON l.account_id = ac.account_id
        WHERE l.amount > 0 AND l.journal_id NOT IN (SELECT id FROM refunds)
    ),
    debits AS (
        SELECT p.user_id, p.id AS payout_id, p.status, p.tx_hash,
            SUM(p.amount) OVER (PARTITION BY p.user_id ORDER BY p.id) AS cum
        FROM users u JOIN payouts_payout p ON p.user_id = u.contributor_id
        WHERE p.status <> 'failed'
    ),
    merged AS (
        SELECT user_id, cum, 0 AS ord, line_id, NULL::bigint AS payout_id,
            NULL::varchar AS status, NULL::varchar AS tx_hash FROM credits
        UNION ALL
        SELECT user_id, cum, 1, NULL, payout_id, status, tx_hash FROM debits
    ),
    marked AS (
        SELECT ord, user_id, payout_id, status, tx_hash,
            MAX(line_id) OVER (PARTITION BY user_id ORDER BY cum, ord, line_id, payout_id
                               ROWS UNBOUNDED PRECEDING) AS boundary
        FROM merged
    )
    SELECT user_id, COALESCE(boundary, 0), tx_hash, status FROM marked WHERE ord = 1
    ORDER BY user_id, payout_id
    """  # noqa: S608  (a fragment of this module, no input)
    locator = PayoutLocator()
    with connection.cursor() as cursor:
        cursor.execute(sql, [project_id, project_id, Journal.Kind.PAYOUT_FAILED.value])
        for user_id, boundary, tx_hash, status in cursor.fetchall():
            locator.add(user_id, boundary, tx_hash, status)
    return locator


def _locator_python(project_id: int) -> PayoutLocator:
    """The same, merged in Python (SQLite holds amounts as text: no exact SUM OVER)."""
    locator = PayoutLocator()
    with connection.cursor() as cursor:
        cursor.execute(_CONTRIBUTORS_WITH_PAYOUTS, [project_id])
        users = [row[0] for row in cursor.fetchall()]
        for user_id in users:
            cursor.execute(
                "SELECT id, amount, status, tx_hash, public_id FROM payouts_payout"
                " WHERE user_id = %s AND status <> 'failed' ORDER BY id",
                [user_id],
            )
            payouts = cursor.fetchall()
            debits, total = [], 0
            for _, amount, _, _, _ in payouts:
                total += int(amount)
                debits.append(total)
            cursor.execute(
                "SELECT l.id, l.amount FROM payouts_journalline l"
                " JOIN payouts_ledgeraccount la ON la.id = l.account_id"
                " JOIN payouts_journal j ON j.id = l.journal_id"
                " WHERE la.key = %s AND j.kind <> %s ORDER BY l.id",
                [f"earnings:{user_id}", Journal.Kind.PAYOUT_FAILED.value],
            )
            boundaries = [0] * len(debits)
            k, cum, last = 0, 0, 0
            for line_id, amount in iter(cursor.fetchone, None):
                value = int(amount)
                if value <= 0:
                    continue
                cum += value
                while k < len(debits) and cum > debits[k]:
                    boundaries[k] = last
                    k += 1
                last = line_id
            for rest in range(k, len(debits)):
                boundaries[rest] = last
            for boundary, (_, _, status, tx_hash, _) in zip(boundaries, payouts, strict=True):
                locator.add(user_id, boundary, tx_hash, status)
    return locator

"""The payouts app's row locks, in one place: which rows, in which order, and how.

Order. Inside one transaction: a payout or a deposit first, then the signing key (a
payout being signed), then ledger accounts in ascending id (`journal_post` takes them
last, after whatever its caller locked: items, assignments, payouts, deposits). A
sign-in challenge is locked alone, before the NEAR account it links. Two transactions
can then never wait on each other in a cycle.

Which rows. Only the row itself: `of=("self",)` whenever the query joins, so reading a
deposit's escrow account with it never locks that account.

How. `FOR NO KEY UPDATE` (`no_key=True`) where the transaction changes no key column:
ledger accounts (their balance is a sum of lines; the lock only serialises
read-modify-writes), signing keys (the nonce), challenges (`used_at`), a payout being
sent or booked, NEAR accounts. Unlike `FOR UPDATE` it does not block inserts that
reference the row, so locking the fee or escrow account never delays another
transaction's journal lines pointing at it. Plain `FOR UPDATE` where a unique column
changes: a payout being signed or reopened (`tx_hash`), a deposit being credited
(`journal`, one-to-one).

SQLite has no row locks: write transactions are IMMEDIATE (config/settings.py) and run
one at a time; these helpers then lock nothing.

Never hold one of these locks across a network call: the chain is asked before the
transaction that acts on its answer, which re-reads and re-checks the row.
"""

from collections.abc import Iterable

from config.users import User
from payouts.models import AuthChallenge, Deposit, LedgerAccount, NearAccount, Payout, SigningKey


def payout_lock(*, payout_id: int, changing_hash: bool = False) -> Payout:
    """Lock and return a payout; `changing_hash` when the transaction sets or clears its
    (unique) tx_hash, i.e. signs it or reopens it."""
    return Payout.objects.select_for_update(no_key=not changing_hash, of=("self",)).get(
        pk=payout_id
    )


def signing_key_lock(*, key_id: int) -> SigningKey:
    """Lock and return a signing key: its nonce allocator (after the payout, if any)."""
    return SigningKey.objects.select_for_update(no_key=True, of=("self",)).get(pk=key_id)


def deposit_lock(*, deposit_id: int) -> Deposit:
    """Lock and return a deposit about to be credited or failed, with its escrow account
    read (not locked: the ledger locks what it debits)."""
    return (
        Deposit.objects.select_for_update(of=("self",)).select_related("escrow").get(pk=deposit_id)
    )


def ledger_accounts_lock(*, accounts: Iterable[LedgerAccount]) -> None:
    """Lock the accounts in ascending id order, for a read-modify-write of their balances."""
    ids = sorted({account.pk for account in accounts})
    list(
        LedgerAccount.objects.select_for_update(no_key=True, of=("self",))
        .filter(pk__in=ids)
        .order_by("pk")
    )


def auth_challenge_lock(*, nonce: str) -> AuthChallenge | None:
    """Lock and return the sign-in challenge with this nonce, or None."""
    return (
        AuthChallenge.objects.select_for_update(no_key=True, of=("self",))
        .filter(nonce=nonce)
        .first()
    )


def near_account_lock_or_create(*, user: User, account_id: str) -> tuple[NearAccount, bool]:
    """Lock the user's NEAR account link, creating it with `account_id` if there is none:
    (link, created)."""
    return NearAccount.objects.select_for_update(no_key=True, of=("self",)).get_or_create(
        user=user, defaults={"account_id": account_id}
    )

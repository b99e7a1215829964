"""Reads of the payouts app shared by views, tasks and other apps."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, QuerySet
from django.utils import timezone
from rest_framework.authtoken.models import Token

from config.users import User
from payouts.fields import YoctoSum
from payouts.models import Deposit, Journal, JournalLine, LedgerAccount, NearAccount, Payout
from payouts.services.ledger import account_balance


@dataclass(frozen=True)
class EarningsSummary:
    balance: int  # yoctoNEAR available to withdraw
    earned: int  # yoctoNEAR credited for accepted answers, ever
    in_flight: int  # yoctoNEAR in payouts not yet confirmed or failed
    paid: int  # yoctoNEAR confirmed on chain


def earnings_summary(*, user: User) -> EarningsSummary:
    account = LedgerAccount.objects.filter(key=f"earnings:{user.pk}").first()
    balance = account_balance(account=account) if account else 0
    earned = (
        JournalLine.objects.filter(account=account, journal__kind=Journal.Kind.EARNING).aggregate(
            total=YoctoSum("amount")
        )["total"]
        if account
        else 0
    )
    payouts = Payout.objects.filter(user=user)
    in_flight = payouts.filter(status__in=Payout.OPEN_STATUSES).aggregate(t=YoctoSum("amount"))["t"]
    paid = payouts.filter(status=Payout.Status.CONFIRMED).aggregate(t=YoctoSum("amount"))["t"]
    return EarningsSummary(balance=balance, earned=earned, in_flight=in_flight, paid=paid)


@dataclass(frozen=True)
class RoyaltyLine:
    amount: int  # yoctoNEAR credited to the user
    credited_at: datetime
    source: str  # what was sold: the ROYALTY journal's memo ("<dataset title> v<n>")


@dataclass(frozen=True)
class RoyaltiesSummary:
    total: int  # yoctoNEAR of royalties credited, ever (apart from task pay)
    count: int  # how many royalty credits
    recent: list[RoyaltyLine]  # the newest first


def royalties_summary(*, user: User, limit: int = 10) -> RoyaltiesSummary:
    """The user's royalties: lines of ROYALTY journals on their earnings account (the
    marketplace posts one per sale, naming the dataset in its memo). Two queries."""
    lines = JournalLine.objects.filter(
        account__key=f"earnings:{user.pk}", journal__kind=Journal.Kind.ROYALTY, amount__gt=0
    )
    figures = lines.aggregate(total=YoctoSum("amount"), count=Count("pk"))
    recent = (
        [
            RoyaltyLine(amount=amount, credited_at=created_at, source=memo)
            for amount, created_at, memo in lines.order_by(
                "-journal__created_at", "-pk"
            ).values_list("amount", "journal__created_at", "journal__memo")[:limit]
        ]
        if figures["count"]
        else []
    )
    return RoyaltiesSummary(total=figures["total"] or 0, count=figures["count"], recent=recent)


def payouts_of_user(*, user: User) -> QuerySet[Payout]:
    return Payout.objects.filter(user=user).order_by("-created_at", "-pk")


def near_account_of(*, user: User) -> NearAccount | None:
    return NearAccount.objects.filter(user=user).first()


def auth_token_created_at(*, user: User) -> datetime | None:
    """When the user's API token was made; None when they have none. Never the key."""
    created: datetime | None = (
        Token.objects.filter(user=user).values_list("created", flat=True).first()
    )
    return created


def escrow_balance(*, reference: str) -> int:
    account = LedgerAccount.objects.filter(key=f"escrow:{reference}").first()
    return account_balance(account=account) if account else 0


def escrows_with_recent_deposits(*, within_seconds: int) -> list[str]:
    """References (`project:<uuid>`) of the escrows credited by a deposit lately."""
    since = timezone.now() - timedelta(seconds=within_seconds)
    keys = (
        JournalLine.objects.filter(
            journal__kind=Journal.Kind.DEPOSIT,
            journal__created_at__gte=since,
            account__kind=LedgerAccount.Kind.ESCROW,
        )
        .values_list("account__key", flat=True)
        .distinct()
    )
    return [key.removeprefix("escrow:") for key in keys]


def ledger_trial_balance() -> dict[str, int]:
    """Every ledger account's balance by key; the values sum to zero."""
    rows = (
        JournalLine.objects.values("account__key")
        .annotate(total=YoctoSum("amount"))
        .order_by("account__key")
    )
    return {row["account__key"]: row["total"] for row in rows}


def deposit_of_idempotency_key(*, user: User, key: str) -> Deposit | None:
    """The deposit the user's earlier request with this Idempotency-Key made, if any."""
    return Deposit.objects.filter(created_by=user, idempotency_key=key).first() if key else None


def payout_explorer_url(*, tx_hash: str | None) -> str | None:
    """The block explorer's page of a payout's transaction; None without a hash or an
    explorer (the local chain has none)."""
    if not tx_hash or not settings.NEAR_EXPLORER_TX_URL:
        return None
    return str(settings.NEAR_EXPLORER_TX_URL).rstrip("/") + "/" + tx_hash

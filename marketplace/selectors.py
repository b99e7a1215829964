"""Reads of the marketplace: a project's deposits, the dataset catalogue, who may
download a snapshot, a buyer's purchases and a contributor's royalties."""

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import CharField, Count, Exists, Func, OuterRef, Prefetch, Q, QuerySet
from django.utils.translation import gettext

from config.users import User
from labeling.models import Project
from marketplace.errors import (
    DatasetNotFoundError,
    DatasetVersionNotFoundError,
    PurchaseNotFoundError,
)
from marketplace.models import Dataset, DatasetFile, DatasetVersion, Purchase
from payouts.fields import YoctoSum
from payouts.models import Deposit, Journal, JournalLine


def project_deposits(*, project: Project, limit: int = 20) -> list[Deposit]:
    """The deposits credited (or waiting to be) to the project's escrow, newest first."""
    return list(
        Deposit.objects.filter(escrow__key=f"escrow:{project.escrow_reference}").order_by(
            "-created_at", "-pk"
        )[:limit]
    )


# --- The catalogue ----------------------------------------------------------------------


class YoctoKey(Func):
    """A non-negative YoctoField as 40 zero-padded digits: compares and sorts as the
    number on every backend (SQLite stores amounts as text, where "9" > "10")."""

    output_field = CharField()
    arity = 1
    template = "LPAD(CAST(%(expressions)s AS text), 40, '0')"

    def as_sqlite(self, compiler: Any, connection: Any, **extra_context: Any) -> Any:
        return self.as_sql(
            compiler, connection, template=f"substr('{'0' * 40}' || %(expressions)s, -40)"
        )


def yocto_key(amount: int) -> str:
    """The YoctoKey of an amount, to compare with."""
    return str(amount).zfill(40)


CATALOGUE_ORDERINGS: dict[str, tuple[Any, ...]] = {
    "newest": ("-ready_at", "-pk"),
    "price": (YoctoKey("price").asc(), "-pk"),  # cheapest first
    "-price": (YoctoKey("price").desc(), "-pk"),
    "size": ("-items_count", "-pk"),  # largest first
    "-size": ("items_count", "-pk"),
}


def _on_sale() -> Q:
    """A version a buyer can buy: ready, on sale, of a listed dataset."""
    return Q(status=DatasetVersion.Status.READY, is_on_sale=True, dataset__is_listed=True)


def catalogue_versions(
    *,
    q: str = "",
    task_type: str | None = None,
    licence: str | None = None,
    min_items: int | None = None,
    max_items: int | None = None,
    max_price: int | None = None,
    ordering: str = "newest",
) -> QuerySet[DatasetVersion]:
    """The catalogue: one row per listed dataset with a version on sale, that latest
    such version (with its dataset), filtered on its figures. `q` matches the title or
    summary, case-insensitively (LIKE with the pattern escaped, on every database);
    `max_price` is what the buyer pays (price + fee) in yoctoNEAR, at most. One query
    (and one to count)."""
    newer = DatasetVersion.objects.filter(
        _on_sale(), dataset=OuterRef("dataset"), number__gt=OuterRef("number")
    )
    versions = (
        DatasetVersion.objects.filter(_on_sale())
        .filter(~Exists(newer))
        .select_related("dataset")
        .order_by(*CATALOGUE_ORDERINGS[ordering])
    )
    if q:
        versions = versions.filter(
            Q(dataset__title__icontains=q) | Q(dataset__summary__icontains=q)
        )
    if task_type:
        versions = versions.filter(dataset__task_type=task_type)
    if licence:
        versions = versions.filter(licence=licence)
    if min_items is not None:
        versions = versions.filter(items_count__gte=min_items)
    if max_items is not None:
        versions = versions.filter(items_count__lte=max_items)
    if max_price is not None:
        # price + fee <= max_price, the fee rounded down as DatasetVersion.fee does:
        # price * (10000 + fee_bps) // 10000 <= max_price, that is price at most
        # ((max_price + 1) * 10000 - 1) // (10000 + fee_bps), per fee rate (one query for
        # the rates: SQLite cannot do this arithmetic on amounts exactly).
        rates = DatasetVersion.objects.filter(_on_sale()).values_list("fee_bps", flat=True)
        within = Q(pk__in=[])
        for fee_bps in sorted(set(rates)):
            ceiling = ((max_price + 1) * 10_000 - 1) // (10_000 + fee_bps)
            within |= Q(fee_bps=fee_bps, price_key__lte=yocto_key(ceiling))
        versions = versions.alias(price_key=YoctoKey("price")).filter(within)
    return versions


def dataset_get_visible(*, user: User | None, public_id: Any) -> Dataset:
    """A listed dataset, or an unlisted one its owner or a buyer asks for; else 404."""
    dataset = Dataset.objects.filter(public_id=public_id).first()
    if dataset is None or not (
        dataset.is_listed
        or (user is not None and (dataset.owner_id == user.pk or _bought_any(user, dataset)))
    ):
        raise DatasetNotFoundError(gettext("No such dataset."))
    return dataset


def _bought_any(user: User, dataset: Dataset) -> bool:
    return Purchase.objects.filter(
        buyer=user, version__dataset=dataset, status=Purchase.Status.COMPLETED
    ).exists()


def dataset_versions_visible(*, user: User | None, dataset: Dataset) -> list[DatasetVersion]:
    """The dataset's versions the user may see, newest first, with their files: the
    owner every one, others the ready ones. Two queries."""
    versions = DatasetVersion.objects.filter(dataset=dataset)
    if user is None or dataset.owner_id != user.pk:
        versions = versions.filter(status=DatasetVersion.Status.READY)
    files = Prefetch("files", queryset=DatasetFile.objects.order_by("format"))
    return list(versions.prefetch_related(files).order_by("-number"))


def dataset_version_get_visible(
    *, user: User | None, dataset: Dataset, number: int
) -> DatasetVersion:
    """One version of a visible dataset (ready unless the user owns it), or 404."""
    versions = DatasetVersion.objects.filter(dataset=dataset, number=number)
    if user is None or dataset.owner_id != user.pk:
        versions = versions.filter(status=DatasetVersion.Status.READY)
    files = Prefetch("files", queryset=DatasetFile.objects.order_by("format"))
    version = versions.prefetch_related(files).first()
    if version is None:
        raise DatasetVersionNotFoundError(gettext("No such version of this dataset."))
    version.dataset = dataset
    return version


def versions_bought(*, user: User | None, versions: Iterable[DatasetVersion]) -> set[int]:
    """Which of `versions` (by pk) the user bought (a completed purchase). One query."""
    if user is None:
        return set()
    return set(
        Purchase.objects.filter(
            buyer=user, version__in=list(versions), status=Purchase.Status.COMPLETED
        ).values_list("version_id", flat=True)
    )


def may_download(*, user: User | None, version: DatasetVersion) -> bool:
    """The owner of the dataset, and buyers with a completed purchase of this very
    version, may download its files and manifest once it is ready; nobody else."""
    if user is None or version.status != DatasetVersion.Status.READY:
        return False
    if version.dataset.owner_id == user.pk:
        return True
    return Purchase.objects.filter(
        buyer=user, version=version, status=Purchase.Status.COMPLETED
    ).exists()


# --- Purchases --------------------------------------------------------------------------


def purchases_of_buyer(*, user: User) -> QuerySet[Purchase]:
    """The user's purchases, newest first, with the version and dataset bought."""
    return (
        Purchase.objects.filter(buyer=user)
        .select_related("version__dataset", "deposit")
        .order_by("-created_at", "-pk")
    )


def purchase_get_of_buyer(*, user: User, public_id: Any) -> Purchase:
    purchase = purchases_of_buyer(user=user).filter(public_id=public_id).first()
    if purchase is None:
        raise PurchaseNotFoundError(gettext("No such purchase."))
    return purchase


# --- Royalties --------------------------------------------------------------------------


@dataclass(frozen=True)
class Royalty:
    amount: int  # yoctoNEAR credited to the contributor
    credited_at: datetime
    purchase_id: uuid.UUID | None
    dataset_id: uuid.UUID | None
    dataset_title: str
    version: int | None


@dataclass(frozen=True)
class Royalties:
    total: int  # yoctoNEAR, ever; apart from task pay
    count: int
    recent: list[Royalty]  # newest first


def royalties_of_user(*, user: User, limit: int = 20) -> Royalties:
    """The user's royalties: lines of ROYALTY journals (`royalty:<purchase uuid>`) on
    their earnings account, with the dataset each sale was of. Three queries whatever
    the number of lines (sum, lines, their purchases)."""
    lines = JournalLine.objects.filter(
        account__key=f"earnings:{user.pk}", journal__kind=Journal.Kind.ROYALTY, amount__gt=0
    )
    figures = lines.aggregate(total=YoctoSum("amount"), count=Count("pk"))
    if not figures["count"]:
        return Royalties(total=0, count=0, recent=[])
    rows = list(
        lines.order_by("-journal__created_at", "-pk").values_list(
            "amount", "journal__created_at", "journal__idempotency_key", "journal__memo"
        )[:limit]
    )
    purchase_ids = {_purchase_of_key(key) for _, _, key, _ in rows} - {None}
    purchases = {
        purchase.public_id: purchase
        for purchase in Purchase.objects.filter(public_id__in=purchase_ids).select_related(
            "version__dataset"
        )
    }
    recent = []
    for amount, credited_at, key, memo in rows:
        purchase = purchases.get(_purchase_of_key(key))  # type: ignore[arg-type]
        recent.append(
            Royalty(
                amount=amount,
                credited_at=credited_at,
                purchase_id=purchase.public_id if purchase else None,
                dataset_id=purchase.version.dataset.public_id if purchase else None,
                dataset_title=purchase.version.dataset.title if purchase else memo,
                version=purchase.version.number if purchase else None,
            )
        )
    return Royalties(total=figures["total"] or 0, count=figures["count"], recent=recent)


def _purchase_of_key(key: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(key.removeprefix("royalty:"))
    except ValueError:
        return None

"""Publishing a completed project as a dataset: an immutable, signed snapshot.

`dataset_publish` fixes, in one transaction, everything a version is sold on: its
terms (licence, price, fee, royalty share), the datasheet's words and figures, public
sample rows, and the contributors its royalties go to (RoyaltyShare, by accepted
answers). The files are written after commit, in the background
(`dataset_version_build`): JSONL, CSV and Parquet through the export engine, stored by
their sha256, then a manifest that pins them is signed with the platform's NEAR key.
Only then is the version `ready`, and only a ready version is on sale.

A completed project takes no more answers and moves no more money, so the snapshot is
what the project is; a version is never edited: a new one is a new snapshot.
"""

import logging
from collections import Counter
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Avg, Count, Max, Q
from django.utils import timezone
from django.utils.translation import gettext

from config.enqueue import enqueue_on_commit
from config.errors import NotFoundError
from config.users import User
from labeling.errors import ProjectStateError
from labeling.models import Item, Project, ProjectQuality, Submission
from labeling.selectors import project_confusion
from labeling.task_types import task_type_get
from marketplace.errors import DatasetPublishError
from marketplace.models import (
    Dataset,
    DatasetFile,
    DatasetVersion,
    ExportFormat,
    Licence,
    RoyaltyShare,
)
from marketplace.services.exports import export_write
from marketplace.services.manifests import ManifestFile, manifest_build, manifest_document
from marketplace.storage import store_writer

log = logging.getLogger(__name__)

SAMPLE_ROWS = 5
# The formats every version is written in, in build order.
SNAPSHOT_FORMATS = (ExportFormat.JSONL, ExportFormat.CSV, ExportFormat.PARQUET)
# A version still building after this long lost its worker: the sweep builds it again.
BUILD_STALE_AFTER = timedelta(minutes=15)
TEXT_MAX = 5000  # characters of each datasheet text
TITLE_MAX = 200
SUMMARY_MAX = 500
ROYALTY_BPS_MAX = 5000  # at most half of a price goes to the contributors
PRICE_MAX = 10**6 * 10**24  # a million NEAR: more is a typo


def _text(value: Any, *, field: str, limit: int, required: bool = False) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise DatasetPublishError(
            gettext("%(field)s must be text.") % {"field": field}, extra={"field": field}
        )
    value = value.strip()
    if "\x00" in value or any(0xD800 <= ord(ch) <= 0xDFFF for ch in value):
        raise DatasetPublishError(
            gettext("%(field)s holds characters that cannot be stored.") % {"field": field},
            extra={"field": field},
        )
    if required and not value:
        raise DatasetPublishError(
            gettext("%(field)s is required.") % {"field": field}, extra={"field": field}
        )
    if len(value) > limit:
        raise DatasetPublishError(
            gettext("%(field)s is longer than %(limit)s characters.")
            % {"field": field, "limit": limit},
            extra={"field": field, "limit": limit},
        )
    return value


def dataset_publish(
    *,
    user: User,
    project: Project,
    title: str,
    licence: str,
    price: int,
    royalty_bps: int,
    summary: str = "",
    motivation: str = "",
    composition: str = "",
    collection_process: str = "",
) -> DatasetVersion:
    """Publish the project's data as the next version of its dataset (the first version
    creates the dataset). The owner only, a completed project only. Returns the version,
    `building`; its files are written after commit (dataset_version_build_task).

    Refusals (dataset_publish_invalid, project_state_invalid) write nothing. Two
    concurrent publishes of the same project make two versions, numbered in turn (the
    dataset row is locked while numbering).
    """
    if project.owner_id != user.pk:
        # Not the owner's: the same answer as a project that does not exist.
        raise NotFoundError(gettext("No such project."), code="project_not_found")
    if project.status != Project.Status.COMPLETED:
        raise ProjectStateError(gettext("Only a completed project can be published as a dataset."))
    title = _text(title, field="title", limit=TITLE_MAX, required=True)
    summary = _text(summary, field="summary", limit=SUMMARY_MAX)
    texts = {
        name: _text(value, field=name, limit=TEXT_MAX)
        for name, value in (
            ("motivation", motivation),
            ("composition", composition),
            ("collection_process", collection_process),
        )
    }
    if licence not in Licence.values:
        raise DatasetPublishError(
            gettext("Unknown licence; choose one of the listed licences."),
            code="dataset_licence_unknown",
            extra={"licences": list(Licence.values)},
        )
    if isinstance(price, bool) or not isinstance(price, int) or not 0 < price <= PRICE_MAX:
        raise DatasetPublishError(
            gettext("The price must be more than 0 and at most a million NEAR."),
            extra={"field": "price"},
        )
    if (
        isinstance(royalty_bps, bool)
        or not isinstance(royalty_bps, int)
        or not 0 <= royalty_bps <= ROYALTY_BPS_MAX
    ):
        raise DatasetPublishError(
            gettext("The contributors' royalty is 0 to %(max)s %% of the price.")
            % {"max": ROYALTY_BPS_MAX // 100},
            extra={"field": "royalty_bps"},
        )
    shares = list(
        Submission.objects.filter(assignment__project=project, status=Submission.Status.ACCEPTED)
        .values("assignment__contributor_id")
        .annotate(n=Count("pk"))
        .order_by("assignment__contributor_id")
        .values_list("assignment__contributor_id", "n")
    )
    if not shares:
        raise DatasetPublishError(
            gettext("The project has no accepted answer: there is nothing to sell."),
            code="dataset_empty",
        )
    statistics = dataset_statistics(project=project)
    samples = dataset_samples(project=project)
    with transaction.atomic():
        dataset = Dataset.objects.select_for_update().filter(project=project).first()
        if dataset is None:
            try:
                with transaction.atomic():
                    dataset = Dataset.objects.create(
                        owner=user,
                        project=project,
                        title=title,
                        summary=summary,
                        task_type=project.task_type,
                    )
            except IntegrityError:  # a concurrent first publish made it
                dataset = Dataset.objects.select_for_update().get(project=project)
        else:
            dataset.title = title
            dataset.summary = summary
            dataset.is_listed = True
            dataset.save(update_fields=["title", "summary", "is_listed", "updated_at"])
        number = (dataset.versions.aggregate(n=Max("number"))["n"] or 0) + 1
        version = DatasetVersion.objects.create(
            dataset=dataset,
            number=number,
            licence=licence,
            price=price,
            fee_bps=settings.DATASET_FEE_BPS,
            royalty_bps=royalty_bps,
            statistics=statistics,
            samples=samples,
            items_count=statistics["items"],
            answers_count=statistics["answers"],
            contributors_count=len(shares),
            **texts,
        )
        RoyaltyShare.objects.bulk_create(
            RoyaltyShare(version=version, contributor_id=contributor_id, accepted_answers=n)
            for contributor_id, n in shares
        )
        from marketplace.tasks import dataset_version_build_task

        enqueue_on_commit(dataset_version_build_task, version.pk)
    log.info("dataset %s version %s published", dataset.public_id, number)
    return version


def _ratio(numerator: float, denominator: float) -> str | None:
    """A figure as a decimal string with 4 places (never a float in a manifest)."""
    if not denominator:
        return None
    return str(Decimal(numerator / denominator).quantize(Decimal("0.0001")))


def dataset_statistics(*, project: Project) -> dict[str, Any]:
    """The datasheet's figures: composition, labels, agreement, quality, the model.

    A handful of aggregates over the project's items and answers; figures are decimal
    strings (the manifest holds no floats)."""
    items = Item.objects.filter(project=project).aggregate(
        total=Count("pk"),
        gold=Count("pk", filter=Q(is_gold=True)),
        labelled=Count("pk", filter=Q(final_answer__isnull=False)),
    )
    answers = Submission.objects.filter(assignment__project=project).aggregate(
        total=Count("pk"),
        accepted=Count("pk", filter=Q(status=Submission.Status.ACCEPTED)),
        rejected=Count("pk", filter=Q(status=Submission.Status.REJECTED)),
        review=Count("pk", filter=Q(status=Submission.Status.REVIEW)),
        contributors=Count("assignment__contributor", distinct=True),
    )
    score = Submission.objects.filter(assignment__project=project).aggregate(mean=Avg("score"))[
        "mean"
    ]
    confidence = Item.objects.filter(project=project, confidence__isnull=False).aggregate(
        mean=Avg("confidence")
    )["mean"]
    task_type = task_type_get(project.task_type)
    labels = task_type.categories(project.label_config)
    distribution: list[dict[str, Any]] = []
    agreement: dict[str, Any] = {"overall": None, "per_label": []}
    if labels is not None:
        counts: Counter[int] = Counter()
        for final, n in (
            Item.objects.filter(project=project, is_gold=False, final_answer__isnull=False)
            .values("final_answer")
            .annotate(n=Count("pk"))
            .values_list("final_answer", "n")
        ):
            try:
                counts[task_type.answer_category(project.label_config, final)] += n
            except (KeyError, TypeError, ValueError):
                continue
        labelled = sum(counts.values())
        distribution = [
            {"label": label, "items": counts[i], "share": _ratio(counts[i], labelled)}
            for i, label in enumerate(labels)
        ]
        confusion = project_confusion(project=project)
        if confusion is not None:
            agreeing = sum(row.cells[i].count for i, row in enumerate(confusion.rows))
            total = sum(row.total for row in confusion.rows)
            agreement = {
                "overall": _ratio(agreeing, total),
                "per_label": [
                    {
                        "label": row.label,
                        "answers": row.total,
                        "agreeing": _ratio(row.cells[i].count, row.total),
                    }
                    for i, row in enumerate(confusion.rows)
                ],
            }
    quality = ProjectQuality.objects.filter(project=project).first()
    return {
        "task_type": project.task_type,
        "items": items["total"],
        "gold_items": items["gold"],
        "labelled_items": items["labelled"],
        "answers": answers["total"],
        "answers_accepted": answers["accepted"],
        "answers_rejected": answers["rejected"],
        "answers_in_review": answers["review"],
        "contributors": answers["contributors"],
        "answers_per_item": _ratio(answers["total"], items["total"]),
        "acceptance_rate": _ratio(answers["accepted"], answers["total"]),
        "mean_score": _ratio(score, 1) if score is not None else None,
        "mean_confidence": _ratio(confidence, 1) if confidence is not None else None,
        "label_distribution": distribution,
        "agreement": agreement,
        "model": (
            {
                "name": quality.model_name,
                "version": quality.model_version,
                "sha256": quality.model_sha256,
                "used": quality.prior_used,
            }
            if quality and quality.model_name
            else None
        ),
        "quality_fit_version": quality.fit_version if quality else 0,
    }


def dataset_samples(*, project: Project, rows: int = SAMPLE_ROWS) -> list[dict[str, Any]]:
    """A few labelled, non-gold items for the catalogue: their data, final answer and
    confidence, and how many answers they had. Who answered stays with the buyers."""
    items = (
        Item.objects.filter(project=project, is_gold=False, final_answer__isnull=False)
        .annotate(answers=Count("assignments__submission"))
        .order_by("pk")[:rows]
    )
    return [
        {
            "id": str(item.public_id),
            "data": item.data,
            "final_answer": item.final_answer,
            "confidence": _ratio(item.confidence, 1) if item.confidence is not None else None,
            "answers": item.answers,
        }
        for item in items
    ]


def dataset_version_build(*, version_id: int) -> DatasetVersion:
    """Write a building version's files and signed manifest, then mark it ready.

    Safe to run twice and to be killed anywhere: files are content-addressed (a rerun
    writes the same names), the DatasetFile rows and the ready state are written in one
    transaction under the version's lock, and a version that is not building is left
    alone. Any error marks the version failed (error code and message), with no file
    row written; it is not on sale then.
    """
    version = DatasetVersion.objects.select_related("dataset__project").get(pk=version_id)
    if version.status != DatasetVersion.Status.BUILDING:
        return version
    project = version.dataset.project
    total = version.items_count * len(SNAPSHOT_FORMATS)
    done_before = 0

    def progress(items_done: int, _items_total: int) -> None:
        DatasetVersion.objects.filter(pk=version.pk).update(items_done=done_before + items_done)

    try:
        files: list[tuple[str, Any, Any]] = []
        for fmt in SNAPSHOT_FORMATS:
            with store_writer(suffix=str(fmt)) as (out, result):
                stats = export_write(project=project, format=str(fmt), out=out, progress=progress)
            done_before += stats.items
            files.append((str(fmt), result[0], stats))
        manifest_files = [
            ManifestFile(
                format=fmt,
                name=dataset_file_name(version, fmt),
                sha256=stored.sha256,
                size=stored.size,
                items=stats.items,
                answers=stats.answers,
            )
            for fmt, stored, stats in files
        ]
        manifest = manifest_build(project=project, files=manifest_files, dataset_version=version)
        document, manifest_sha256 = manifest_document(manifest)
    except Exception as exc:
        log.exception("dataset version %s failed to build", version.pk)
        code = getattr(exc, "code", "") or "dataset_build_failed"
        DatasetVersion.objects.filter(pk=version.pk, status=DatasetVersion.Status.BUILDING).update(
            status=DatasetVersion.Status.FAILED,
            error_code=str(code)[:50],
            error_message=str(exc)[:500],
        )
        version.refresh_from_db()
        return version
    with transaction.atomic():
        version = DatasetVersion.objects.select_for_update().get(pk=version.pk)
        if version.status != DatasetVersion.Status.BUILDING:
            return version
        for file_format, stored, _ in files:
            DatasetFile.objects.create(
                version=version,
                format=file_format,
                file_name=stored.file_name,
                sha256=stored.sha256,
                size=stored.size,
            )
        version.manifest = document
        version.manifest_sha256 = manifest_sha256
        version.items_done = total
        version.status = DatasetVersion.Status.READY
        version.ready_at = timezone.now()
        version.save(
            update_fields=["manifest", "manifest_sha256", "items_done", "status", "ready_at"]
        )
    log.info("dataset version %s ready (%s)", version.pk, manifest_sha256)
    return version


def version_progress(version: DatasetVersion) -> int:
    """How far a version's build is, in percent: 100 once ready, at most 99 before."""
    if version.status == DatasetVersion.Status.READY:
        return 100
    total = version.items_count * len(SNAPSHOT_FORMATS)
    return min(99, version.items_done * 100 // total) if total else 0


def _file_stem(version: DatasetVersion) -> str:
    return f"nearlabel-{version.dataset.public_id}-v{version.number}"


def dataset_file_name(version: DatasetVersion, fmt: str) -> str:
    """The name a download of one of the version's files is offered under."""
    return f"{_file_stem(version)}.{fmt}"


def dataset_versions_build_stale() -> int:
    """Periodic: build again the versions whose build task was lost (still building
    after BUILD_STALE_AFTER). Returns how many were built (or failed)."""
    cutoff = timezone.now() - BUILD_STALE_AFTER
    ids = list(
        DatasetVersion.objects.filter(
            status=DatasetVersion.Status.BUILDING, created_at__lt=cutoff
        ).values_list("pk", flat=True)
    )
    for version_id in ids:
        dataset_version_build(version_id=version_id)
    return len(ids)


def dataset_listing_set(*, user: User, dataset: Dataset, listed: bool) -> Dataset:
    """List or unlist a dataset in the catalogue (owner only). Buyers keep their files."""
    if dataset.owner_id != user.pk:
        raise NotFoundError(gettext("No such dataset."), code="dataset_not_found")
    if dataset.is_listed != listed:
        dataset.is_listed = listed
        dataset.save(update_fields=["is_listed", "updated_at"])
    return dataset

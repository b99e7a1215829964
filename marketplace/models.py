"""The commerce around the work: exports, datasets, their snapshots, purchases.

Projects, items and answers belong to `labeling`; money to `payouts`, which holds it
under string references this app chooses (`purchase:<uuid>`, `royalties:<uuid>`).

A dataset is a catalogue entry of one completed project. What is sold is one of its
versions: an immutable snapshot (files, signed manifest, datasheet, licence, price,
royalty share and the contributors the royalty goes to) fixed when it was built.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from payouts.fields import YoctoField


class ExportFormat(models.TextChoices):
    JSONL = "jsonl", "JSON Lines"
    CSV = "csv", "CSV"
    PARQUET = "parquet", "Parquet"


class ExportJob(models.Model):
    """One export of a project in one format, written in the background to a file, with
    its signed manifest. The file is only served once `done`."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Ready")
        FAILED = "failed", _("Failed")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    project = models.ForeignKey(
        "labeling.Project", on_delete=models.CASCADE, related_name="export_jobs"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="export_jobs"
    )
    format = models.CharField(max_length=10, choices=ExportFormat.choices)
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.QUEUED, db_index=True
    )
    items_total = models.PositiveIntegerField(default=0)  # known once running
    items_done = models.PositiveIntegerField(default=0)  # progress, written every chunk
    # Name of the file under DATASET_STORAGE_DIR (marketplace.storage); "" until done.
    file_name = models.CharField(max_length=200, blank=True)
    file_sha256 = models.CharField(max_length=64, blank=True)
    file_bytes = models.PositiveBigIntegerField(null=True, blank=True)
    # The signed manifest document (JSON text), as downloaded.
    manifest = models.TextField(blank=True)
    error_code = models.CharField(max_length=50, blank=True)
    error_message = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["project", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.format} export of {self.project_id}: {self.status}"


class Licence(models.TextChoices):
    """Licences a dataset may carry: SPDX identifiers, plus the platform's own."""

    CC_BY_4_0 = "CC-BY-4.0", "Creative Commons Attribution 4.0"
    CC_BY_SA_4_0 = "CC-BY-SA-4.0", "Creative Commons Attribution-ShareAlike 4.0"
    CC_BY_NC_4_0 = "CC-BY-NC-4.0", "Creative Commons Attribution-NonCommercial 4.0"
    CC0_1_0 = "CC0-1.0", "Creative Commons Zero 1.0 (public domain)"
    CDLA_PERMISSIVE_2_0 = "CDLA-Permissive-2.0", "Community Data License Agreement Permissive 2.0"
    ODC_BY_1_0 = "ODC-By-1.0", "Open Data Commons Attribution 1.0"
    NEARLABEL_COMMERCIAL = "LicenseRef-Nearlabel-Commercial-1.0", "Nearlabel commercial licence"


class Dataset(models.Model):
    """A catalogue entry: one completed project's data, sold as immutable versions."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="datasets"
    )
    project = models.OneToOneField(
        "labeling.Project", on_delete=models.PROTECT, related_name="dataset"
    )
    title = models.CharField(max_length=200)
    summary = models.CharField(max_length=500, blank=True)
    task_type = models.CharField(max_length=30, db_index=True)  # the project's, for filters
    is_listed = models.BooleanField(default=True)  # unlisted: buyers keep their downloads
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.title


class DatasetVersion(models.Model):
    """An immutable snapshot of a dataset: nothing here changes once `ready`, except
    that a version may be withdrawn from sale (`is_on_sale`)."""

    class Status(models.TextChoices):
        BUILDING = "building", _("Building")
        READY = "ready", _("Ready")
        FAILED = "failed", _("Failed")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    dataset = models.ForeignKey(Dataset, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()  # 1, 2, ... per dataset
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.BUILDING, db_index=True
    )
    is_on_sale = models.BooleanField(default=True)
    # Terms, fixed with the snapshot.
    licence = models.CharField(max_length=60, choices=Licence.choices)
    price = YoctoField()  # yoctoNEAR, the seller's price; the buyer pays price + fee
    fee_bps = models.PositiveIntegerField()  # the platform fee on top, 1/100 %, fixed here
    royalty_bps = models.PositiveIntegerField()  # share of the price to the contributors
    # The datasheet (Gebru et al., "Datasheets for Datasets"): the requester's words...
    motivation = models.TextField(blank=True)
    composition = models.TextField(blank=True)
    collection_process = models.TextField(blank=True)
    # ...and the figures computed from the snapshot: label distribution, agreement,
    # quality, contributor count, the scoring model (marketplace.services.datasheets).
    statistics = models.JSONField(default=dict)
    samples = models.JSONField(default=list)  # a few records, public in the catalogue
    items_count = models.PositiveIntegerField(default=0)
    answers_count = models.PositiveIntegerField(default=0)
    contributors_count = models.PositiveIntegerField(default=0)
    # Build progress (items written), while building.
    items_done = models.PositiveIntegerField(default=0)
    # The signed manifest document (JSON text) and the sha256 the signature covers.
    manifest = models.TextField(blank=True)
    manifest_sha256 = models.CharField(max_length=64, blank=True)
    error_code = models.CharField(max_length=50, blank=True)
    error_message = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    ready_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["dataset", "number"], name="dataset_version_once"),
            models.CheckConstraint(
                condition=Q(royalty_bps__lte=10_000), name="dataset_version_royalty_range"
            ),
            models.CheckConstraint(
                condition=Q(fee_bps__lte=10_000), name="dataset_version_fee_range"
            ),
        ]
        indexes = [models.Index(fields=["status", "is_on_sale", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.dataset_id} v{self.number}"

    @property
    def fee(self) -> int:
        """yoctoNEAR fee on top of the price, rounded down."""
        return self.price * self.fee_bps // 10_000

    @property
    def royalty(self) -> int:
        """yoctoNEAR of the price shared among the contributors, rounded down."""
        return self.price * self.royalty_bps // 10_000

    @property
    def total_price(self) -> int:
        """What a buyer pays: price plus fee."""
        return self.price + self.fee


class DatasetFile(models.Model):
    """One file of a snapshot (a format of its records), content-addressed on disk."""

    version = models.ForeignKey(DatasetVersion, on_delete=models.PROTECT, related_name="files")
    format = models.CharField(max_length=10, choices=ExportFormat.choices)
    file_name = models.CharField(max_length=200)  # under DATASET_STORAGE_DIR
    sha256 = models.CharField(max_length=64)
    size = models.PositiveBigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["version", "format"], name="dataset_file_once"),
        ]

    def __str__(self) -> str:
        return f"{self.version_id} {self.format}"


class RoyaltyShare(models.Model):
    """A contributor's accepted answers in a snapshot: their weight in its royalties."""

    version = models.ForeignKey(
        DatasetVersion, on_delete=models.PROTECT, related_name="royalty_shares"
    )
    contributor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="royalty_shares"
    )
    accepted_answers = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["version", "contributor"], name="royalty_share_once"),
            models.CheckConstraint(
                condition=Q(accepted_answers__gt=0), name="royalty_share_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.contributor_id}: {self.accepted_answers} in {self.version_id}"


class Purchase(models.Model):
    """A buyer's purchase of one dataset version: paid once, from their balance or a
    NEAR deposit (credited to the escrow `purchase:<public_id>` first)."""

    class Status(models.TextChoices):
        AWAITING_PAYMENT = "awaiting_payment", _("Waiting for the deposit to be final")
        COMPLETED = "completed", _("Completed")
        FAILED = "failed", _("Failed")

    class Method(models.TextChoices):
        BALANCE = "balance", _("From the balance")
        DEPOSIT = "deposit", _("From a NEAR deposit")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    version = models.ForeignKey(DatasetVersion, on_delete=models.PROTECT, related_name="purchases")
    buyer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="purchases"
    )
    method = models.CharField(max_length=10, choices=Method.choices)
    status = models.CharField(max_length=20, choices=Status.choices, db_index=True)
    # The terms when bought (copied from the version): yoctoNEAR.
    price = YoctoField()
    fee = YoctoField()
    royalty = YoctoField()
    deposit = models.OneToOneField(
        "payouts.Deposit",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="purchase",
    )
    # The sale's journal (buyer -> seller, fee, royalty pool), set when completed.
    journal = models.OneToOneField(
        "payouts.Journal", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    failure_code = models.CharField(max_length=50, blank=True)
    failure_reason = models.CharField(max_length=500, blank=True)
    # The client's Idempotency-Key (config.idempotency), written with the row.
    idempotency_key = models.CharField(max_length=255, blank=True)  # "": none
    request_fingerprint = models.CharField(max_length=64, blank=True)  # sha256 hex
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["buyer", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="purchase_unique_buyer_idempotency_key",
            ),
            # A buyer owns a version once: a second purchase is refused, not charged.
            models.UniqueConstraint(
                fields=["buyer", "version"],
                condition=~Q(status="failed"),
                name="purchase_once_per_buyer_version",
            ),
            models.CheckConstraint(
                condition=Q(status="completed", journal__isnull=False)
                | (~Q(status="completed") & Q(journal__isnull=True)),
                name="purchase_journal_iff_completed",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.public_id} {self.status}"

    @property
    def escrow_reference(self) -> str:
        """Where a deposit for this purchase is credited before the sale takes it."""
        return f"purchase:{self.public_id}"

    @property
    def royalty_reference(self) -> str:
        """The pool the sale pays the royalty into and the contributors are paid from."""
        return f"royalties:{self.public_id}"

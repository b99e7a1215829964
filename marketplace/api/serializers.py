from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from config.serializers import RequestSerializer
from marketplace.models import DatasetVersion, Licence
from marketplace.selectors import CATALOGUE_ORDERINGS
from payouts.api.fields import NearAccountIdField, NearAmountField, PositiveNearAmountField


@extend_schema_field(
    {
        "type": "string",
        "pattern": "^[1-9A-HJ-NP-Za-km-z]{32,44}$",
        "description": "A NEAR transaction hash: base58 of 32 bytes.",
    }
)
class TxHashField(serializers.CharField):
    """Checked by the service (deposit_hash_invalid), so the code says what is wrong."""


class DepositCreateSerializer(RequestSerializer):
    tx_hash = TxHashField(max_length=64)
    sender_account_id = NearAccountIdField(
        required=False,
        help_text="Where to look the transaction up (NEAR finds it by hash and sender). "
        "Only transfers from your own linked account are credited.",
    )


class DepositSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    tx_hash = serializers.CharField()
    sender_account_id = serializers.CharField()
    amount = NearAmountField()
    status = serializers.CharField()
    failure_reason = serializers.CharField()
    created_at = serializers.DateTimeField()


class ImportResultSerializer(serializers.Serializer):
    created = serializers.IntegerField(help_text="How many items the import added.")


class DatasetPublishSerializer(RequestSerializer):
    """A new version of the project's dataset: its terms and its datasheet's words."""

    title = serializers.CharField(max_length=200)
    summary = serializers.CharField(max_length=500, required=False, allow_blank=True)
    licence = serializers.CharField(
        max_length=60, help_text="An SPDX identifier from the listed licences."
    )
    price = PositiveNearAmountField(help_text="The price in NEAR; buyers pay the fee on top.")
    royalty_bps = serializers.IntegerField(
        min_value=0,
        max_value=5000,
        help_text="Share of the price paid to the contributors, in basis points (1/100 %).",
    )
    motivation = serializers.CharField(max_length=5000, required=False, allow_blank=True)
    composition = serializers.CharField(max_length=5000, required=False, allow_blank=True)
    collection_process = serializers.CharField(max_length=5000, required=False, allow_blank=True)


class DatasetVersionStateSerializer(serializers.Serializer):
    """A version as its owner follows its build."""

    dataset = serializers.UUIDField(source="dataset.public_id")
    id = serializers.UUIDField(source="public_id")
    number = serializers.IntegerField()
    status = serializers.CharField()
    progress = serializers.SerializerMethodField()
    licence = serializers.CharField()
    price = NearAmountField()
    fee = NearAmountField()
    royalty_bps = serializers.IntegerField()
    items_count = serializers.IntegerField()
    answers_count = serializers.IntegerField()
    contributors_count = serializers.IntegerField()
    manifest_sha256 = serializers.CharField()
    error_code = serializers.CharField()
    created_at = serializers.DateTimeField()
    ready_at = serializers.DateTimeField(allow_null=True)

    def get_progress(self, version) -> int:  # percent, 0..100
        from marketplace.services.datasets import version_progress

        return version_progress(version)


class VerifyCheckSerializer(serializers.Serializer):
    name = serializers.CharField(
        help_text="manifest_sha256, signature, platform, or file:<the name you uploaded>."
    )
    ok = serializers.BooleanField()
    code = serializers.CharField(
        help_text="`ok`, or why not: manifest_hash_mismatch, signature_invalid, "
        "signer_unexpected, key_not_on_chain, key_not_full_access, "
        "platform_account_mismatch, file_hash_mismatch, file_not_in_manifest."
    )
    detail = serializers.CharField(allow_blank=True)


class VerifyReportSerializer(serializers.Serializer):
    ok = serializers.BooleanField(help_text="Every check holds.")
    manifest_sha256 = serializers.CharField(help_text="The sha256 of the canonical manifest.")
    account_id = serializers.CharField(help_text="The account that says it signed.")
    checks = VerifyCheckSerializer(many=True)
    files_not_given = serializers.ListField(
        child=serializers.CharField(),
        help_text="Files of the manifest that were not uploaded, hence not checked.",
    )
    subject = serializers.JSONField(
        help_text="What the manifest says it is about: `project` {id, title, task_type}, "
        "`dataset` {id, title, version, licence} (null for a project export) and "
        "`generated_at`. A valid manifest proves only what it names: check these."
    )


# --- Datasets, purchases ----------------------------------------------------------------


@extend_schema_field(
    {
        "type": "string",
        "pattern": "^[0-9]+$",
        "example": "2500000000000000000000000",
        "description": "yoctoNEAR (10^-24 NEAR) as a decimal string of an integer.",
    }
)
class YoctoStringField(serializers.Field):
    """An exact amount in yoctoNEAR, as a decimal string (JSON numbers lose digits)."""

    def to_representation(self, value: int) -> str:
        return str(int(value))


class DatasetFileSerializer(serializers.Serializer):
    format = serializers.CharField()
    size = serializers.IntegerField(help_text=_("Bytes."))
    sha256 = serializers.CharField()


class DatasetTermsMixin(serializers.Serializer):
    """A version's terms: amounts in NEAR (decimal strings) and exactly in yoctoNEAR."""

    licence = serializers.CharField(help_text=_("An SPDX licence identifier."))
    licence_name = serializers.CharField(source="get_licence_display")
    price = NearAmountField(help_text=_("The seller's price, NEAR."))
    price_yocto = YoctoStringField(source="price")
    fee = NearAmountField(help_text=_("The platform fee on top, NEAR."))
    fee_yocto = YoctoStringField(source="fee")
    total_price = NearAmountField(help_text=_("What a buyer pays: price + fee, NEAR."))
    total_price_yocto = YoctoStringField(source="total_price")
    fee_bps = serializers.IntegerField(help_text=_("The fee, in hundredths of a percent."))
    royalty_bps = serializers.IntegerField(
        help_text=_("The contributors' share of the price, in hundredths of a percent.")
    )


class DatasetVersionSummarySerializer(DatasetTermsMixin):
    number = serializers.IntegerField()
    status = serializers.CharField()
    is_on_sale = serializers.BooleanField()
    items_count = serializers.IntegerField()
    answers_count = serializers.IntegerField()
    contributors_count = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    ready_at = serializers.DateTimeField(allow_null=True)


class ViewerVersionSerializer(serializers.Serializer):
    purchased = serializers.BooleanField(help_text=_("You completed a purchase of it."))
    may_download = serializers.BooleanField(help_text=_("You own the dataset or bought it."))


class DatasetVersionSerializer(DatasetVersionSummarySerializer):
    """A version with its datasheet, figures, samples and files (context: `bought`, the
    pks the viewer bought; `owner`, whether the viewer owns the dataset)."""

    motivation = serializers.CharField()
    composition = serializers.CharField()
    collection_process = serializers.CharField()
    statistics = serializers.JSONField()
    samples = serializers.JSONField()
    manifest_sha256 = serializers.CharField()
    files = DatasetFileSerializer(many=True)
    viewer = serializers.SerializerMethodField()

    @extend_schema_field(ViewerVersionSerializer)
    def get_viewer(self, version: DatasetVersion) -> dict[str, bool]:
        purchased = version.pk in self.context.get("bought", set())
        ready = version.status == DatasetVersion.Status.READY
        return {
            "purchased": purchased,
            "may_download": ready and (purchased or bool(self.context.get("owner"))),
        }


class DatasetRefSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    title = serializers.CharField()


class CatalogueEntrySerializer(serializers.Serializer):
    """A catalogue row: a dataset and its latest version on sale (the row's object)."""

    id = serializers.UUIDField(source="dataset.public_id")
    title = serializers.CharField(source="dataset.title")
    summary = serializers.CharField(source="dataset.summary")
    task_type = serializers.CharField(source="dataset.task_type")
    latest_version = DatasetVersionSummarySerializer(source="*")


class DatasetDetailSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    title = serializers.CharField()
    summary = serializers.CharField()
    task_type = serializers.CharField()
    is_listed = serializers.BooleanField()
    is_owner = serializers.BooleanField(help_text=_("You own this dataset."))
    created_at = serializers.DateTimeField()
    versions = DatasetVersionSerializer(many=True, help_text=_("Newest first."))


@extend_schema_field(
    {
        "type": "string",
        "enum": ["balance", "deposit"],
        "description": "balance: from your balance; deposit: a NEAR transfer (tx_hash).",
    }
)
class PurchaseMethodField(serializers.CharField):
    """Checked by the service (purchase_method_invalid), so the code says what is wrong."""


class PurchaseCreateSerializer(RequestSerializer):
    method = PurchaseMethodField(max_length=20)
    tx_hash = TxHashField(
        max_length=64,
        required=False,
        help_text="With method deposit: the hash of your NEAR transfer of at least the "
        "total price to the platform account.",
    )
    sender_account_id = NearAccountIdField(required=False)


class PurchaseDepositSerializer(serializers.Serializer):
    tx_hash = serializers.CharField()
    amount = NearAmountField()
    status = serializers.CharField()


class PurchaseSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    dataset = DatasetRefSerializer(source="version.dataset")
    version = serializers.IntegerField(source="version.number")
    method = serializers.CharField()
    status = serializers.CharField(
        help_text="awaiting_payment (the deposit is not final yet), completed, failed."
    )
    price = NearAmountField()
    price_yocto = YoctoStringField(source="price")
    fee = NearAmountField()
    fee_yocto = YoctoStringField(source="fee")
    royalty = NearAmountField(help_text=_("The part of the price shared among contributors."))
    royalty_yocto = YoctoStringField(source="royalty")
    deposit = PurchaseDepositSerializer(allow_null=True)
    failure_code = serializers.CharField()
    failure_reason = serializers.CharField()
    created_at = serializers.DateTimeField()
    completed_at = serializers.DateTimeField(allow_null=True)


class CatalogueQuerySerializer(serializers.Serializer):
    """The catalogue's query parameters (not a body: page and page_size pass too)."""

    q = serializers.CharField(max_length=200, required=False, allow_blank=True)
    task_type = serializers.CharField(max_length=30, required=False)
    licence = serializers.ChoiceField(choices=Licence.choices, required=False)
    min_items = serializers.IntegerField(min_value=0, max_value=2**31 - 1, required=False)
    max_items = serializers.IntegerField(min_value=0, max_value=2**31 - 1, required=False)
    max_price = NearAmountField(required=False)
    ordering = serializers.ChoiceField(
        choices=sorted(CATALOGUE_ORDERINGS), required=False, default="newest"
    )


class ExportJobCreateSerializer(RequestSerializer):
    format = serializers.CharField(
        max_length=20, help_text="jsonl, csv or parquet (export_format_unknown otherwise)."
    )


class ExportErrorSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()


class ExportJobSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    format = serializers.CharField()
    status = serializers.CharField()
    items_done = serializers.IntegerField()
    items_total = serializers.IntegerField()
    progress = serializers.SerializerMethodField(help_text="Percent of the items written, 0-100.")
    file_sha256 = serializers.CharField(help_text="Of the file, once done; empty before.")
    file_bytes = serializers.IntegerField(allow_null=True)
    download_url = serializers.SerializerMethodField()
    error = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)

    def get_progress(self, job) -> int:
        if job.status == "done":
            return 100
        if not job.items_total:
            return 0
        return min(100, job.items_done * 100 // job.items_total)

    def get_download_url(self, job) -> str | None:
        if job.status != "done":
            return None
        return f"/api/projects/{job.project.public_id}/exports/{job.public_id}/download"

    @extend_schema_field(ExportErrorSerializer(allow_null=True))
    def get_error(self, job) -> dict | None:
        if job.status != "failed":
            return None
        return {"code": job.error_code, "message": job.error_message}

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from config.serializers import RequestSerializer
from payouts.api.fields import NearAccountIdField, NearAmountField


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

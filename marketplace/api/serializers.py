from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from config.serializers import RequestSerializer
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
        from marketplace.services.datasets import SNAPSHOT_FORMATS

        if version.status == "ready":
            return 100
        total = version.items_count * len(SNAPSHOT_FORMATS)
        return min(99, version.items_done * 100 // total) if total else 0


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

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

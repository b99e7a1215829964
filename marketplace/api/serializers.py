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

from rest_framework import serializers

from payouts.api.fields import NearAmountField


class DepositCreateSerializer(serializers.Serializer):
    tx_hash = serializers.CharField(max_length=64)
    sender_account_id = serializers.CharField(
        max_length=64,
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

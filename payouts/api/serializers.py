from rest_framework import serializers

from payouts.api.fields import NearAmountField
from payouts.models import Payout


class NearAccountLinkSerializer(serializers.Serializer):
    # Length is checked with the other NEAR rules, for one error code.
    account_id = serializers.CharField(max_length=512, trim_whitespace=False)


class PayoutRequestSerializer(serializers.Serializer):
    amount = NearAmountField()


class PayoutSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    amount = NearAmountField(read_only=True)
    explorer_url = serializers.SerializerMethodField()

    class Meta:
        model = Payout
        fields = [
            "id",
            "receiver_id",
            "amount",
            "status",
            "tx_hash",
            "explorer_url",
            "failure_reason",
            "created_at",
            "finished_at",
        ]
        read_only_fields = fields

    def get_explorer_url(self, payout: Payout) -> str | None:
        from django.conf import settings

        if not payout.tx_hash or not settings.NEAR_EXPLORER_TX_URL:
            return None
        return settings.NEAR_EXPLORER_TX_URL.rstrip("/") + "/" + payout.tx_hash


class MeSerializer(serializers.Serializer):
    username = serializers.CharField()
    near_account_id = serializers.CharField(allow_null=True)
    balance = NearAmountField()
    earned = NearAmountField()
    in_flight = NearAmountField()
    paid = NearAmountField()

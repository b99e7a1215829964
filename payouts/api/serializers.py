from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from config.serializers import RequestSerializer
from payouts.api.fields import NearAmountField, PositiveNearAmountField
from payouts.models import NearAccount, Payout


class AuthChallengeSerializer(serializers.Serializer[dict[str, Any]]):
    nonce = serializers.CharField(help_text="base64 of 32 bytes: the NEP-413 nonce to sign")
    recipient = serializers.CharField(help_text="the NEP-413 recipient to sign for")
    message = serializers.CharField(help_text="the message to sign")
    expires_at = serializers.DateTimeField()


class NearProofSerializer(RequestSerializer):
    """What a wallet's NEP-413 signMessage returns, with the fields it signed."""

    # Formats are checked by the service, so each failure has its stable code.
    account_id = serializers.CharField(max_length=512, trim_whitespace=False)
    public_key = serializers.CharField(max_length=200, help_text='"ed25519:<base58>"')
    signature = serializers.CharField(max_length=200, help_text="base64 of 64 bytes")
    message = serializers.CharField(max_length=500, trim_whitespace=False)
    nonce = serializers.CharField(max_length=100, help_text="base64 of the challenge's nonce")
    recipient = serializers.CharField(max_length=255, trim_whitespace=False)
    callback_url = serializers.CharField(
        max_length=2000, required=False, allow_null=True, trim_whitespace=False
    )


class NearSigninSerializer(NearProofSerializer):
    mode = serializers.ChoiceField(choices=["token", "session"], default="token")


class NearSigninResultSerializer(serializers.Serializer[dict[str, Any]]):
    username = serializers.CharField()
    account_id = serializers.CharField()
    created = serializers.BooleanField()
    token = serializers.CharField(required=False, help_text="only in token mode")


class NearAccountLinkSerializer(serializers.Serializer[NearAccount]):
    account_id = serializers.CharField()
    verified_at = serializers.DateTimeField(allow_null=True)


class PayoutRequestSerializer(RequestSerializer):
    amount = PositiveNearAmountField()


class PayoutSerializer(serializers.ModelSerializer[Payout]):
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


class RoyaltyLineSerializer(serializers.Serializer[dict[str, Any]]):
    amount = NearAmountField()
    credited_at = serializers.DateTimeField()
    dataset = serializers.CharField(help_text=_("What was sold: the dataset and its version."))


class RoyaltiesSerializer(serializers.Serializer[dict[str, Any]]):
    total = NearAmountField(help_text=_("Royalties credited, ever: apart from `earned`."))
    count = serializers.IntegerField()
    recent = RoyaltyLineSerializer(many=True, help_text=_("The latest ten, newest first."))


class MeSerializer(serializers.Serializer[dict[str, Any]]):
    username = serializers.CharField()
    near_account_id = serializers.CharField(allow_null=True)
    near_account_verified = serializers.BooleanField()
    balance = NearAmountField()
    earned = NearAmountField(help_text=_("Task pay: credited for accepted answers, ever."))
    in_flight = NearAmountField()
    paid = NearAmountField()
    royalties = RoyaltiesSerializer(
        help_text=_("A share of the sales of datasets holding your accepted answers.")
    )

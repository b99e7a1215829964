from rest_framework import serializers

from marketplace.models import Project
from payouts.api.fields import NearAmountField


class ProjectCreateSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200)
    instructions = serializers.CharField(required=False, allow_blank=True, default="")
    task_type = serializers.ChoiceField(choices=Project.TaskType.choices)
    label_config = serializers.JSONField()
    reward_per_answer = NearAmountField()
    answers_per_item = serializers.IntegerField(min_value=1, max_value=50, default=3)
    reservation_seconds = serializers.IntegerField(min_value=30, max_value=86_400, default=600)

    def validate_reward_per_answer(self, value: int) -> int:
        if value <= 0:
            raise serializers.ValidationError("The reward must be more than zero.")
        return value


class ProjectSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    reward_per_answer = NearAmountField(read_only=True)
    progress = serializers.SerializerMethodField()
    funding = serializers.SerializerMethodField()

    class Meta:
        model = Project
        fields = [
            "id",
            "title",
            "instructions",
            "task_type",
            "label_config",
            "reward_per_answer",
            "platform_fee_bps",
            "answers_per_item",
            "reservation_seconds",
            "status",
            "created_at",
            "published_at",
            "progress",
            "funding",
        ]
        read_only_fields = fields

    def get_progress(self, project: Project) -> dict[str, int] | None:
        from marketplace.selectors import project_progress

        return project_progress(project=project) if self.context.get("detail") else None

    def get_funding(self, project: Project) -> dict[str, str | int] | None:
        from marketplace.selectors import project_funding

        if not self.context.get("owner"):
            return None
        return project_funding(project=project).as_api()


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

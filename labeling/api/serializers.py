"""Serializers of the labeling API. The queue's are plain: its hot path pays nothing for
model introspection."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from config.serializers import RequestSerializer
from labeling.models import Project
from labeling.task_types import task_type_choices
from payouts.api.fields import NearAmountField, PositiveNearAmountField


class ItemForContributorSerializer(serializers.Serializer):
    # Only what the contributor needs: never other answers or the final label.
    id = serializers.UUIDField(source="public_id")
    # DRF's metaclass takes declared fields off the class, so this leaves Serializer.data
    # alone; mypy sees an override of it.
    data = serializers.JSONField()  # type: ignore[assignment]


class AssignmentSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    project = serializers.UUIDField(source="project.public_id", read_only=True)
    item = ItemForContributorSerializer(read_only=True)
    status = serializers.CharField(read_only=True)
    reserved_at = serializers.DateTimeField(read_only=True)
    expires_at = serializers.DateTimeField(read_only=True)


@extend_schema_field(
    {
        "type": "object",
        "description": "In the shape of the project's task type; classification: "
        '{"label": "cat"}.',
        "example": {"label": "cat"},
    }
)
class AnswerField(serializers.JSONField):
    """An answer: a JSON object the task type validates (answer_invalid otherwise)."""


@extend_schema_field(
    {
        "oneOf": [
            {
                "type": "array",
                "items": {"type": "string", "minLength": 1, "maxLength": 100},
                "minItems": 2,
                "maxItems": 200,
                "uniqueItems": True,
            },
            {
                "type": "object",
                "properties": {
                    "labels": {
                        "type": "array",
                        "items": {"type": "string", "minLength": 1, "maxLength": 100},
                        "minItems": 2,
                        "maxItems": 200,
                        "uniqueItems": True,
                    }
                },
                "required": ["labels"],
            },
        ],
        "description": "The task type's configuration; classification: its labels.",
        "example": ["positive", "negative", "neutral"],
    }
)
class LabelConfigField(serializers.JSONField):
    """A label configuration, which the task type validates (label_config_invalid)."""


class SubmitSerializer(RequestSerializer):
    answer = AnswerField()
    time_on_task_ms = serializers.IntegerField(
        min_value=0, max_value=24 * 3600 * 1000, required=False, allow_null=True
    )


class SubmissionSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    assignment = serializers.UUIDField(source="assignment.public_id", read_only=True)
    answer = serializers.JSONField(read_only=True)
    time_on_task_ms = serializers.IntegerField(read_only=True, allow_null=True)
    status = serializers.CharField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)


class ProjectCreateSerializer(RequestSerializer):
    title = serializers.CharField(max_length=200)
    instructions = serializers.CharField(required=False, allow_blank=True, default="")
    task_type = serializers.ChoiceField(choices=task_type_choices())
    label_config = LabelConfigField()
    reward_per_answer = PositiveNearAmountField()
    answers_per_item = serializers.IntegerField(min_value=1, max_value=50, default=3)
    reservation_seconds = serializers.IntegerField(min_value=30, max_value=86_400, default=600)


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
        from labeling.selectors import project_progress

        return project_progress(project=project) if self.context.get("detail") else None

    def get_funding(self, project: Project) -> dict[str, str | int] | None:
        from labeling.selectors import project_funding

        if not self.context.get("owner"):
            return None
        return project_funding(project=project).as_api()

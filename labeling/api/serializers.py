"""Serializers of the labeling API. The queue's are plain: its hot path pays nothing for
model introspection."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from config.serializers import RequestSerializer
from labeling.models import Project
from labeling.task_types import task_type_choices
from payouts.api.fields import NearAmountField, PositiveNearAmountField
from payouts.api.serializers import MeSerializer


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


# A label: refused with text_invalid if it holds NUL (config.validation); the schema says so.
LABEL_SCHEMA = {"type": "string", "minLength": 1, "maxLength": 100, "pattern": "^[^\\u0000]*$"}


@extend_schema_field(
    {
        "oneOf": [
            {
                "type": "array",
                "items": LABEL_SCHEMA,
                "minItems": 2,
                "maxItems": 200,
                "uniqueItems": True,
            },
            {
                "type": "object",
                "properties": {
                    "labels": {
                        "type": "array",
                        "items": LABEL_SCHEMA,
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


class GoldFeedbackSerializer(serializers.Serializer):
    correct = serializers.BooleanField()
    answer = serializers.JSONField()


class SubmissionSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    assignment = serializers.UUIDField(source="assignment.public_id", read_only=True)
    answer = serializers.JSONField(read_only=True)
    time_on_task_ms = serializers.IntegerField(read_only=True, allow_null=True)
    status = serializers.CharField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    # After a gold item, where the project shows it: right or wrong, and the right answer.
    feedback = GoldFeedbackSerializer(read_only=True, allow_null=True, required=False)


class ReviewItemSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    external_id = serializers.CharField()
    data = serializers.JSONField()  # type: ignore[assignment]


class ReviewSubmissionSerializer(serializers.Serializer):
    """An answer in review, for its project's owner: the item, the answer, the score and
    the parts behind it."""

    id = serializers.UUIDField(source="public_id", read_only=True)
    item = ReviewItemSerializer(source="assignment.item", read_only=True)
    contributor = serializers.CharField(source="assignment.contributor.username", read_only=True)
    answer = serializers.JSONField(read_only=True)
    score = serializers.FloatField(read_only=True, allow_null=True)
    score_parts = serializers.JSONField(read_only=True, allow_null=True)
    status = serializers.CharField(read_only=True)
    decision_reason = serializers.CharField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)


class ReviewRejectSerializer(RequestSerializer):
    # Shown to the contributor: say what was wrong.
    reason = serializers.CharField(max_length=500)


class GoldSetSerializer(RequestSerializer):
    # The gold answer, in the shape of the task type; null makes the item ordinary again.
    answer = AnswerField(allow_null=True)


class LabelsAddSerializer(RequestSerializer):
    labels = serializers.ListField(
        child=serializers.CharField(max_length=100), min_length=1, max_length=200
    )


class ProjectCreateSerializer(RequestSerializer):
    title = serializers.CharField(max_length=200)
    instructions = serializers.CharField(required=False, allow_blank=True, default="")
    task_type = serializers.ChoiceField(choices=task_type_choices())
    label_config = LabelConfigField()
    reward_per_answer = PositiveNearAmountField()
    # The maximum answers per item; the escrow is reserved for it.
    answers_per_item = serializers.IntegerField(min_value=1, max_value=50, default=3)
    # Dynamic overlap: at least this many (default: answers_per_item, a fixed overlap)...
    min_answers_per_item = serializers.IntegerField(min_value=1, max_value=50, required=False)
    # ... then more until the leading label's posterior reaches this.
    target_confidence = serializers.FloatField(min_value=0.5, max_value=1.0, default=0.95)
    gold_rate = serializers.FloatField(min_value=0.0, max_value=0.5, default=0.1)
    show_gold_feedback = serializers.BooleanField(default=True)
    accept_threshold = serializers.FloatField(min_value=0.0, max_value=1.0, default=0.5)
    reject_threshold = serializers.FloatField(min_value=0.0, max_value=1.0, default=0.2)
    min_reputation = serializers.FloatField(min_value=0.0, max_value=1.0, default=0.0)
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
            "min_answers_per_item",
            "target_confidence",
            "gold_rate",
            "show_gold_feedback",
            "accept_threshold",
            "reject_threshold",
            "min_reputation",
            "reservation_seconds",
            "status",
            "created_at",
            "published_at",
            "completed_at",
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


class QualityModelSerializer(serializers.Serializer):
    status = serializers.CharField()
    prior_used = serializers.BooleanField()
    name = serializers.CharField()
    version = serializers.CharField()
    sha256 = serializers.CharField()
    prior_metrics = serializers.DictField()


class GoldFlagSerializer(serializers.Serializer):
    item = serializers.UUIDField()
    external_id = serializers.CharField()
    reason = serializers.CharField()


class StandingSerializer(serializers.Serializer):
    """A contributor's standing in one project (labeling.selectors._standing)."""

    reputation = serializers.FloatField(allow_null=True)
    reliability = serializers.FloatField(allow_null=True)
    answers = serializers.IntegerField()
    gold_answers = serializers.IntegerField()
    gold_correct = serializers.IntegerField()
    behaviour = serializers.DictField()
    paused = serializers.BooleanField()
    pause_reason = serializers.CharField(allow_null=True)


class ContributorStandingSerializer(StandingSerializer):
    contributor = serializers.CharField()
    near_account_id = serializers.CharField(allow_null=True)
    one_coin = serializers.BooleanField()


class ProjectQualitySerializer(serializers.Serializer):
    fit_version = serializers.IntegerField()
    fitted_at = serializers.DateTimeField(allow_null=True)
    answers_fitted = serializers.IntegerField()
    answers_unfitted = serializers.IntegerField()
    fit_note = serializers.CharField()
    labels = serializers.ListField(child=serializers.CharField())
    class_prior = serializers.ListField(child=serializers.FloatField())
    fit_stats = serializers.DictField()
    model = QualityModelSerializer()
    gold_flags = GoldFlagSerializer(many=True)
    score_histogram = serializers.ListField(child=serializers.IntegerField())
    decisions = serializers.DictField(child=serializers.IntegerField())
    contributors = ContributorStandingSerializer(many=True)


class MyProjectQualitySerializer(StandingSerializer):
    project = serializers.UUIDField()
    title = serializers.CharField()
    # null where the project does not reveal gold: a count that moves after an answer
    # would say that answer was to a gold item.
    gold_answers = serializers.IntegerField(allow_null=True)
    gold_correct = serializers.IntegerField(allow_null=True)


class MyQualitySerializer(serializers.Serializer):
    reputation = serializers.FloatField(allow_null=True)
    answers = serializers.IntegerField()
    gold_answers = serializers.IntegerField()
    gold_correct = serializers.IntegerField()
    projects = MyProjectQualitySerializer(many=True)


class MeWithQualitySerializer(MeSerializer):
    quality = MyQualitySerializer()


class MySubmissionSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    project = serializers.UUIDField()
    project_title = serializers.CharField()
    item = serializers.UUIDField()
    answer = serializers.JSONField()
    status = serializers.CharField()
    decision_reason = serializers.CharField(allow_null=True)
    score = serializers.FloatField(allow_null=True)
    score_parts = serializers.JSONField(allow_null=True)
    created_at = serializers.DateTimeField()
    decided_at = serializers.DateTimeField(allow_null=True)

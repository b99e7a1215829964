from rest_framework import serializers

from labeling.models import Assignment, Submission


class AssignmentSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    item = serializers.SerializerMethodField()
    project = serializers.UUIDField(source="project.public_id", read_only=True)

    class Meta:
        model = Assignment
        fields = ["id", "project", "item", "status", "reserved_at", "expires_at"]
        read_only_fields = fields

    def get_item(self, assignment: Assignment) -> dict:
        # Only what the contributor needs: never other answers or the final label.
        return {"id": str(assignment.item.public_id), "data": assignment.item.data}


class SubmitSerializer(serializers.Serializer):
    answer = serializers.JSONField()
    time_on_task_ms = serializers.IntegerField(
        min_value=0, max_value=24 * 3600 * 1000, required=False, allow_null=True
    )


class SubmissionSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    assignment = serializers.UUIDField(source="assignment.public_id", read_only=True)

    class Meta:
        model = Submission
        fields = ["id", "assignment", "answer", "time_on_task_ms", "status", "created_at"]
        read_only_fields = fields

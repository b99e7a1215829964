"""Plain serializers: the queue's hot path pays nothing for model introspection."""

from rest_framework import serializers


class ItemForContributorSerializer(serializers.Serializer):
    # Only what the contributor needs: never other answers or the final label.
    id = serializers.UUIDField(source="public_id")
    data = serializers.JSONField()


class AssignmentSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    project = serializers.UUIDField(source="project.public_id", read_only=True)
    item = ItemForContributorSerializer(read_only=True)
    status = serializers.CharField(read_only=True)
    reserved_at = serializers.DateTimeField(read_only=True)
    expires_at = serializers.DateTimeField(read_only=True)


class SubmitSerializer(serializers.Serializer):
    answer = serializers.JSONField()
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

import uuid

from django.conf import settings
from django.db import models


class Assignment(models.Model):
    """One contributor's turn at one item. Overlap is counted in these rows."""

    class Status(models.TextChoices):
        RESERVED = "reserved", "Reserved"
        SUBMITTED = "submitted", "Submitted"
        EXPIRED = "expired", "Expired"
        SKIPPED = "skipped", "Skipped"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    project = models.ForeignKey(
        "marketplace.Project", on_delete=models.CASCADE, related_name="assignments"
    )
    item = models.ForeignKey(
        "marketplace.Item", on_delete=models.CASCADE, related_name="assignments"
    )
    contributor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="assignments"
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.RESERVED)
    reserved_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # Never the same item twice to one contributor, whatever the race.
            models.UniqueConstraint(
                fields=["item", "contributor"], name="assignment_once_per_item"
            ),
        ]
        indexes = [
            models.Index(fields=["project", "contributor", "status"], name="assignment_mine_idx"),
            # The queue's frontier: MAX(item) of a contributor in a project, from the index.
            models.Index(fields=["project", "contributor", "item"], name="assignment_frontier_idx"),
            models.Index(fields=["item", "status"], name="assignment_item_idx"),
            models.Index(fields=["status", "expires_at"], name="assignment_expiry_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.public_id} {self.status}"


class Submission(models.Model):
    """A contributor's answer to an assignment, judged once its item has all answers."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        ACCEPTED = "accepted", "Accepted"
        REJECTED = "rejected", "Rejected"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    assignment = models.OneToOneField(
        Assignment, on_delete=models.CASCADE, related_name="submission"
    )
    answer = models.JSONField()
    time_on_task_ms = models.PositiveIntegerField(null=True, blank=True)  # as the client measured
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.public_id} {self.status}"


class AssignmentEvent(models.Model):
    """Append-only history of assignments and their submissions."""

    class Kind(models.TextChoices):
        RESERVED = "reserved"
        SUBMITTED = "submitted"
        EXPIRED = "expired"
        SKIPPED = "skipped"
        ACCEPTED = "accepted"
        REJECTED = "rejected"

    assignment = models.ForeignKey(Assignment, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.kind} at {self.created_at:%Y-%m-%d %H:%M:%S}"

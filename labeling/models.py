"""The work domain: projects, their items, and each contributor's turn at an item.

`marketplace` (funding, imports, exports, datasets) builds on these models; nothing
here imports it. Money is held by `payouts` under string references
(`project:<uuid>`).
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from labeling.task_types import task_type_choices
from payouts.fields import YoctoField


class Project(models.Model):
    """An annotation project a requester funds in NEAR."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        ACTIVE = "active", "Active"
        PAUSED = "paused", "Paused"
        COMPLETED = "completed", "Completed"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="projects"
    )
    title = models.CharField(max_length=200)
    instructions = models.TextField(blank=True)
    task_type = models.CharField(max_length=30, choices=task_type_choices())
    label_config = models.JSONField()  # normalised by the task type's validate_config
    reward_per_answer = YoctoField()  # yoctoNEAR paid to a contributor per accepted answer
    platform_fee_bps = models.PositiveIntegerField()  # fee on top of each reward, 1/100 %
    answers_per_item = models.PositiveSmallIntegerField(default=3)  # overlap
    reservation_seconds = models.PositiveIntegerField(default=600)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    created_at = models.DateTimeField(auto_now_add=True)
    published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(answers_per_item__gte=1), name="project_answers_per_item_min"
            ),
            models.CheckConstraint(
                condition=Q(reservation_seconds__gte=10), name="project_reservation_min"
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def escrow_reference(self) -> str:
        return f"project:{self.public_id}"

    @property
    def fee_per_answer(self) -> int:
        """yoctoNEAR fee per accepted answer, rounded down."""
        return self.reward_per_answer * self.platform_fee_bps // 10_000

    @property
    def cost_per_answer(self) -> int:
        """yoctoNEAR taken from escrow per accepted answer: reward plus fee."""
        return self.reward_per_answer + self.fee_per_answer


class Item(models.Model):
    """One unit of data to label."""

    class Status(models.TextChoices):
        OPEN = "open", "Collecting answers"
        COMPLETE = "complete", "All answers in"
        RESOLVED = "resolved", "Final answer decided"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="items")
    external_id = models.CharField(max_length=200, blank=True)
    data = models.JSONField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPEN)
    final_answer = models.JSONField(null=True, blank=True)
    confidence = models.FloatField(null=True, blank=True)  # share of answers agreeing, 0..1
    resolved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["project", "status", "id"], name="item_queue_idx")]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "external_id"],
                condition=~Q(external_id=""),
                name="item_unique_external_id",
            )
        ]

    def __str__(self) -> str:
        return self.external_id or str(self.public_id)


class Assignment(models.Model):
    """One contributor's turn at one item. Overlap is counted in these rows."""

    class Status(models.TextChoices):
        RESERVED = "reserved", "Reserved"
        SUBMITTED = "submitted", "Submitted"
        EXPIRED = "expired", "Expired"
        SKIPPED = "skipped", "Skipped"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="assignments")
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="assignments")
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

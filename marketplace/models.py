import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from payouts.fields import YoctoField


class Project(models.Model):
    """An annotation project a requester funds in NEAR."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        ACTIVE = "active", "Active"
        PAUSED = "paused", "Paused"
        COMPLETED = "completed", "Completed"

    class TaskType(models.TextChoices):
        CLASSIFICATION = "classification", "Classification"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="projects"
    )
    title = models.CharField(max_length=200)
    instructions = models.TextField(blank=True)
    task_type = models.CharField(max_length=30, choices=TaskType.choices)
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

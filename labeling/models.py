"""The work domain: projects, their items, and each contributor's turn at an item.

`marketplace` (funding, imports, exports, datasets) builds on these models; nothing
here imports it. Money is held by `payouts` under string references
(`project:<uuid>`).
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

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
    # Dynamic overlap: an item takes at least `min_answers_per_item` answers and keeps
    # asking until its posterior reaches `target_confidence` or it has
    # `answers_per_item` (the maximum, which the escrow is reserved for).
    answers_per_item = models.PositiveSmallIntegerField(default=3)
    min_answers_per_item = models.PositiveSmallIntegerField(default=3)
    target_confidence = models.FloatField(default=0.95)  # posterior of the leading label
    gold_rate = models.FloatField(default=0.1)  # share of a contributor's items that are gold
    show_gold_feedback = models.BooleanField(default=True)  # the right answer after a gold one
    # Scores (0..1) at or above accept_threshold are accepted, below reject_threshold
    # rejected, between them left to the requester's review.
    accept_threshold = models.FloatField(default=0.5)
    reject_threshold = models.FloatField(default=0.2)
    min_reputation = models.FloatField(default=0.0)  # 0..1; below it, after enough gold: paused
    reservation_seconds = models.PositiveIntegerField(default=600)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    created_at = models.DateTimeField(auto_now_add=True)
    published_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(answers_per_item__gte=1), name="project_answers_per_item_min"
            ),
            models.CheckConstraint(
                condition=Q(min_answers_per_item__gte=1)
                & Q(min_answers_per_item__lte=models.F("answers_per_item")),
                name="project_min_answers_range",
            ),
            models.CheckConstraint(
                condition=Q(reservation_seconds__gte=10), name="project_reservation_min"
            ),
            models.CheckConstraint(
                condition=Q(gold_rate__gte=0) & Q(gold_rate__lte=0.5), name="project_gold_rate"
            ),
            models.CheckConstraint(
                condition=Q(reject_threshold__gte=0)
                & Q(reject_threshold__lte=models.F("accept_threshold"))
                & Q(accept_threshold__lte=1),
                name="project_thresholds",
            ),
            models.CheckConstraint(
                condition=Q(target_confidence__gte=0.5) & Q(target_confidence__lte=1),
                name="project_target_confidence",
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
    # Gold: the requester's known answer. Never shown to a contributor before they
    # answer (labeling.selectors and the contributor serializers leave it out).
    is_gold = models.BooleanField(default=False)
    gold_answer = models.JSONField(null=True, blank=True)
    # Why the engine doubts this gold answer (most reliable contributors contradict it);
    # a flagged gold item counts against nobody.
    gold_flag = models.CharField(max_length=300, blank=True)
    final_answer = models.JSONField(null=True, blank=True)
    confidence = models.FloatField(null=True, blank=True)  # posterior of final_answer, 0..1
    resolved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            models.Index(fields=["project", "status", "id"], name="item_queue_idx"),
            models.Index(fields=["project", "id"], condition=Q(is_gold=True), name="item_gold_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "external_id"],
                condition=~Q(external_id=""),
                name="item_unique_external_id",
            ),
            models.CheckConstraint(
                condition=Q(is_gold=False) | Q(gold_answer__isnull=False),
                name="item_gold_has_answer",
            ),
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
    """A contributor's answer to an assignment, scored and decided once its item is
    decided (a gold item's answer: at once). Money moves once, on accept."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        REVIEW = "review", _("Waiting for the requester's review")
        ACCEPTED = "accepted", _("Accepted")
        REJECTED = "rejected", _("Rejected")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    assignment = models.OneToOneField(
        Assignment, on_delete=models.CASCADE, related_name="submission"
    )
    answer = models.JSONField()
    time_on_task_ms = models.PositiveIntegerField(null=True, blank=True)  # as the client measured
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    # The engine's score (0..1, the probability the answer is right) and its parts,
    # fixed when it was scored: labeling.services.quality.
    score = models.FloatField(null=True, blank=True)
    score_parts = models.JSONField(null=True, blank=True)
    scored_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(  # the requester, for a decision made in review
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    decision_reason = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    # An accepted answer's earning: its ledger line on the contributor's earnings
    # account (payouts.services.earnings.earning_credit_line), set in the transaction
    # that credits it; null for any other decision. Exports find the payout that paid
    # the answer from it (marketplace.services.exports.provenance).
    earning_line = models.ForeignKey(
        "payouts.JournalLine",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=True,
    )

    class Meta:
        indexes = [
            models.Index(
                fields=["status", "id"],
                condition=Q(status="review"),
                name="submission_review_idx",
            )
        ]

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
        REVIEW = "review"

    assignment = models.ForeignKey(Assignment, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.kind} at {self.created_at:%Y-%m-%d %H:%M:%S}"


class ProjectQuality(models.Model):
    """The project's last Dawid-Skene fit and model prior: what scores are computed from."""

    project = models.OneToOneField(Project, on_delete=models.CASCADE, related_name="quality")
    fit_version = models.PositiveIntegerField(default=0)  # +1 per refit
    fitted_at = models.DateTimeField(null=True, blank=True)
    answers_fitted = models.PositiveIntegerField(default=0)
    labels = models.JSONField(default=list)  # the label order of class_prior and confusions
    class_prior = models.JSONField(default=list)
    fit_stats = models.JSONField(default=dict)  # iterations, log-likelihood, seconds
    # The model prior (classification): a logistic head on the item embeddings.
    prior = models.JSONField(null=True, blank=True)  # labeling.quality.prior.PriorFit.to_dict()
    prior_used = models.BooleanField(default=False)
    model_status = models.CharField(max_length=500, blank=True)  # why (not) used, in words
    model_name = models.CharField(max_length=200, blank=True)
    model_version = models.CharField(max_length=50, blank=True)
    model_sha256 = models.CharField(max_length=64, blank=True)
    # Items up to this id were looked at by the embedding (those without text included).
    embedded_through_item = models.PositiveBigIntegerField(default=0)

    class Meta:
        verbose_name = _("project quality")
        verbose_name_plural = _("project quality")

    def __str__(self) -> str:
        return f"quality of {self.project_id} v{self.fit_version}"


class ContributorQuality(models.Model):
    """A contributor's standing in one project: gold accuracy, Dawid-Skene reliability,
    behaviour, and whether they are paused from it."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="contributors")
    contributor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="quality"
    )
    answers = models.PositiveIntegerField(default=0)
    gold_answers = models.PositiveIntegerField(default=0)  # unflagged gold answered
    gold_correct = models.PositiveIntegerField(default=0)
    reliability = models.FloatField(null=True, blank=True)  # Dawid-Skene expected accuracy
    confusion = models.JSONField(null=True, blank=True)  # K x K, rows: true label
    one_coin = models.BooleanField(default=True)
    reputation = models.FloatField(null=True, blank=True)  # 0..1, from the two above
    behaviour = models.JSONField(default=dict)  # flags and the figures behind them
    paused_at = models.DateTimeField(null=True, blank=True)
    pause_reason = models.CharField(max_length=500, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("contributor standing")
        verbose_name_plural = _("contributor standings")
        constraints = [
            models.UniqueConstraint(
                fields=["project", "contributor"], name="contributor_quality_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.contributor_id} in {self.project_id}: {self.reputation}"


class ItemEmbedding(models.Model):
    """The sentence encoder's embedding of an item's text (float32, L2-normalised)."""

    item = models.OneToOneField(Item, on_delete=models.CASCADE, related_name="embedding")
    model_sha256 = models.CharField(max_length=64)
    vector = models.BinaryField()

    def __str__(self) -> str:
        return f"embedding of {self.item_id}"

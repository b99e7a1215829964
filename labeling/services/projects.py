"""Creating and publishing projects. Funding them is the marketplace's part."""

import logging
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from config.errors import NotFoundError
from config.users import User
from labeling.errors import (
    ItemAnsweredError,
    ProjectNotFundedError,
    ProjectSettingsError,
    ProjectStateError,
)
from labeling.locks import item_lock, project_lock
from labeling.models import Assignment, Item, Project
from labeling.selectors import project_funding
from labeling.task_types import task_type_get

log = logging.getLogger(__name__)


def project_create(
    *,
    owner: User,
    title: str,
    task_type: str,
    label_config: Any,
    reward_per_answer: int,
    instructions: str = "",
    answers_per_item: int = 3,
    reservation_seconds: int = 600,
    **quality: Any,
) -> Project:
    """Create a draft project. label_config_invalid if the task type refuses the config;
    project_settings_invalid for quality settings that contradict each other. `quality`:
    min_answers_per_item (default: answers_per_item, a fixed overlap),
    target_confidence, gold_rate, show_gold_feedback, accept_threshold,
    reject_threshold, min_reputation."""
    config = task_type_get(task_type).config_validate(label_config)
    quality.setdefault("min_answers_per_item", answers_per_item)
    _quality_settings_check(answers_per_item=answers_per_item, **quality)
    project = Project.objects.create(
        **quality,
        owner=owner,
        title=title,
        instructions=instructions,
        task_type=task_type,
        label_config=config,
        reward_per_answer=reward_per_answer,
        platform_fee_bps=settings.PLATFORM_FEE_BPS,
        answers_per_item=answers_per_item,
        reservation_seconds=reservation_seconds,
    )
    log.info("project %s created by user %s", project.public_id, owner.pk)
    return project


QUALITY_SETTINGS = frozenset(
    {
        "min_answers_per_item",
        "target_confidence",
        "gold_rate",
        "show_gold_feedback",
        "accept_threshold",
        "reject_threshold",
        "min_reputation",
    }
)


def _quality_settings_check(*, answers_per_item: int, **quality: Any) -> None:
    unknown = set(quality) - QUALITY_SETTINGS
    if unknown:
        raise TypeError(f"unknown project settings: {sorted(unknown)}")
    minimum = quality.get("min_answers_per_item", answers_per_item)
    if not 1 <= minimum <= answers_per_item:
        raise ProjectSettingsError(
            gettext("min_answers_per_item must be between 1 and answers_per_item (%(max)s).")
            % {"max": answers_per_item}
        )
    accept = quality.get("accept_threshold", 0.5)
    reject = quality.get("reject_threshold", 0.2)
    if not 0 <= reject <= accept <= 1:
        raise ProjectSettingsError(
            gettext("Thresholds must satisfy 0 <= reject_threshold <= accept_threshold <= 1.")
        )


def project_labels_add(*, project: Project, labels: list[str]) -> Project:
    """Add labels to a categorical project, running or not. Existing labels keep their
    place (answers and fits refer to them by position); the quality engine pads its
    fit for the new ones. label_config_invalid if the result is not a valid config."""
    task_type = task_type_get(project.task_type)
    with transaction.atomic(durable=True):
        project = project_lock(project_id=project.pk)
        current = task_type.categories(project.label_config)
        if current is None:
            raise ProjectStateError(gettext("This task type has no labels to add to."))
        new = [label for label in labels if label not in current]
        project.label_config = task_type.config_validate({"labels": [*current, *new]})
        project.save(update_fields=["label_config"])
    log.info("project %s: labels added %s", project.public_id, new)
    return project


def item_gold_set(*, project: Project, item_public_id: Any, answer: Any) -> Item:
    """Make an item gold with `answer` (validated by the task type), or ordinary again
    with None. Refused (409 item_answered) once the item has answers: they were
    collected as ordinary answers and are judged as such; in a published project,
    refused (project_not_funded) when the escrow cannot cover the change."""
    task_type = task_type_get(project.task_type)
    if answer is not None:
        answer = task_type.answer_validate(project.label_config, answer)
    with transaction.atomic(durable=True):
        project = project_lock(project_id=project.pk)
        item = Item.objects.filter(project=project, public_id=item_public_id).first()
        if item is None:
            raise NotFoundError(gettext("No such item."), code="item_not_found")
        item = item_lock(item_id=item.pk)
        if Assignment.objects.filter(item=item).exists():
            raise ItemAnsweredError(
                gettext("This item has been handed out already; gold is set before that.")
            )
        item.is_gold = answer is not None
        item.gold_answer = answer
        item.gold_flag = ""
        item.final_answer = answer
        item.save(update_fields=["is_gold", "gold_answer", "gold_flag", "final_answer"])
        if project.status in (Project.Status.ACTIVE, Project.Status.PAUSED):
            # Gold changes what the escrow must hold (the gold budget, the item's slots):
            # a change it cannot cover is refused, and rolled back with this transaction.
            funding = project_funding(project=project)
            if funding.shortfall > 0:
                raise ProjectNotFundedError(
                    gettext("The escrow cannot cover this change; deposit first."),
                    extra=funding.as_api(),
                )
    return item


def project_publish(*, project: Project) -> Project:
    """Open the project to contributors.

    Refused (project_not_funded, with the shortfall) while the escrow cannot cover
    every answer slot still to be paid at reward plus fee; refused without items
    or when completed (project_state_invalid). Publishing an active project again
    changes nothing.
    """
    with transaction.atomic(durable=True):
        project = project_lock(project_id=project.pk)
        if project.status == Project.Status.ACTIVE:
            return project
        if project.status == Project.Status.COMPLETED:
            raise ProjectStateError(gettext("A completed project cannot be published again."))
        funding = project_funding(project=project)
        if funding.items == 0:
            raise ProjectStateError(gettext("Import items before publishing."))
        if funding.shortfall > 0:
            raise ProjectNotFundedError(
                "The escrow cannot cover every answer at reward plus fee.",
                extra=funding.as_api(),
            )
        project.status = Project.Status.ACTIVE
        project.published_at = project.published_at or timezone.now()
        project.save(update_fields=["status", "published_at"])
    log.info("project %s published", project.public_id)
    return project


def project_close(*, project: Project) -> Project:
    """Stop collecting answers and decide what there is (the requester ends a project
    early, or its data ran out): open items with answers are decided on them, items
    without any are closed unlabelled, and the project completes once every answer is
    decided (the unspent escrow then returns to the requester)."""
    from labeling.services.quality import item_resolve, project_complete_if_done

    with transaction.atomic(durable=True):
        project = project_lock(project_id=project.pk)
        if project.status == Project.Status.COMPLETED:
            return project
        if project.status == Project.Status.DRAFT:
            raise ProjectStateError(gettext("A draft project has nothing to close."))
        project.status = Project.Status.PAUSED
        project.save(update_fields=["status"])
        # The open items locked first (project, then items: the lock order), so no answer
        # lands between telling the answered from the unanswered and closing them; an
        # answer waiting on a lock finds its item decided and is scored as a late one.
        open_items = list(
            Item.objects.filter(project=project, is_gold=False, status=Item.Status.OPEN)
            .select_for_update(no_key=True, of=("self",))
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        answered = set(
            Assignment.objects.filter(
                item_id__in=open_items, status=Assignment.Status.SUBMITTED
            ).values_list("item_id", flat=True)
        )
        to_resolve = sorted(answered)
        Item.objects.filter(pk__in=to_resolve).update(status=Item.Status.COMPLETE)
        Item.objects.filter(pk__in=set(open_items) - answered).update(
            status=Item.Status.RESOLVED, resolved_at=timezone.now()
        )
    from labeling.services.quality import project_refit

    for item_id in to_resolve:
        item_resolve(item_id=item_id)
    if not project_complete_if_done(project_id=project.pk):
        # Answers still wait for review: the labels are final all the same.
        project_refit(project_id=project.pk, final=True)
    project.refresh_from_db()
    log.info("project %s closed", project.public_id)
    return project

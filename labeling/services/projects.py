"""Creating and publishing projects. Funding them is the marketplace's part."""

import logging
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from config.users import User
from labeling.errors import ProjectNotFundedError, ProjectStateError
from labeling.locks import project_lock
from labeling.models import Project
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
) -> Project:
    """Create a draft project. label_config_invalid if the task type refuses the config."""
    config = task_type_get(task_type).config_validate(label_config)
    project = Project.objects.create(
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
            raise ProjectStateError("A completed project cannot be published again.")
        funding = project_funding(project=project)
        if funding.items == 0:
            raise ProjectStateError("Import items before publishing.")
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

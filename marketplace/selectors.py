"""Reads of the marketplace: a project's deposits and exports."""

from typing import Any

from django.utils.translation import gettext

from labeling.models import Project
from marketplace.errors import ExportNotFoundError
from marketplace.models import ExportJob
from payouts.models import Deposit


def project_deposits(*, project: Project, limit: int = 20) -> list[Deposit]:
    """The deposits credited (or waiting to be) to the project's escrow, newest first."""
    return list(
        Deposit.objects.filter(escrow__key=f"escrow:{project.escrow_reference}").order_by(
            "-created_at", "-pk"
        )[:limit]
    )


def export_jobs(*, project: Project, limit: int = 20) -> list[ExportJob]:
    """The project's background exports, newest first."""
    return list(
        ExportJob.objects.filter(project=project)
        .select_related("project")
        .order_by("-created_at", "-pk")[:limit]
    )


def export_job_get(*, project: Project, public_id: Any) -> ExportJob:
    """One of the project's exports, or 404 export_not_found."""
    job = ExportJob.objects.filter(project=project, public_id=public_id).first()
    if job is None:
        raise ExportNotFoundError(gettext("No such export."))
    return job

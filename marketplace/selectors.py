"""Reads of the marketplace: a project's deposits."""

from labeling.models import Project
from payouts.models import Deposit


def project_deposits(*, project: Project, limit: int = 20) -> list[Deposit]:
    """The deposits credited (or waiting to be) to the project's escrow, newest first."""
    return list(
        Deposit.objects.filter(escrow__key=f"escrow:{project.escrow_reference}").order_by(
            "-created_at", "-pk"
        )[:limit]
    )

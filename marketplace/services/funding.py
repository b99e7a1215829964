"""Funding projects: NEAR deposits credited to a project's escrow."""

from django.contrib.auth.models import AbstractBaseUser

from labeling.models import Project
from payouts.models import Deposit
from payouts.services.deposits import deposit_credit


def project_deposit(
    *, project: Project, user: AbstractBaseUser, tx_hash: str, sender_account_id: str | None = None
) -> Deposit:
    """Credit a NEAR deposit (by transaction hash) to the project's escrow. Once per hash."""
    return deposit_credit(
        user=user,
        escrow_reference=project.escrow_reference,
        tx_hash=tx_hash,
        sender_account_id=sender_account_id,
    )

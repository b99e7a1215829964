"""Funding projects: NEAR deposits credited to a project's escrow."""

import logging

from django.utils.translation import gettext

from config.idempotency import idempotent_replay, request_fingerprint
from config.users import User
from labeling.errors import ProjectStateError
from labeling.models import Project
from payouts.errors import DepositError
from payouts.models import Deposit
from payouts.selectors import deposit_of_idempotency_key
from payouts.services.deposits import deposit_credit

log = logging.getLogger(__name__)


def project_deposit(
    *,
    project: Project,
    user: User,
    tx_hash: str,
    sender_account_id: str | None = None,
    idempotency_key: str | None = None,
) -> tuple[Deposit, bool]:
    """Credit a NEAR deposit (by transaction hash) to the project's escrow. Once per hash.

    Returns (deposit, created). With an `idempotency_key` the user already used for
    the same project, hash and sender, returns that deposit as it is now (created
    False: pending, credited or failed since) and credits nothing; for another
    request, IdempotencyKeyReusedError (422). The key is stored on the deposit, in
    the transaction that creates (and, once final, credits) it; a concurrent
    duplicate fails its unique constraint, or the hash's, and answers the first's
    deposit. Refusals (deposit_*) store nothing, so a retry runs again.
    """
    fingerprint = (
        request_fingerprint(
            "deposit",
            escrow=project.escrow_reference,
            tx_hash=tx_hash.strip(),
            sender_account_id=sender_account_id or "",
        )
        if idempotency_key
        else ""
    )
    if idempotency_key:
        earlier = deposit_of_idempotency_key(user=user, key=idempotency_key)
        if earlier is not None:
            return idempotent_replay(earlier, fingerprint=fingerprint), False
    if project.status == Project.Status.COMPLETED:
        raise ProjectStateError(
            gettext("This project is completed: its escrow was returned; fund a new one.")
        )
    try:
        deposit = deposit_credit(
            user=user,
            escrow_reference=project.escrow_reference,
            tx_hash=tx_hash,
            sender_account_id=sender_account_id,
            idempotency_key=idempotency_key or "",
            request_fingerprint=fingerprint,
        )
    except DepositError as exc:
        # A concurrent request with the same key created its deposit first.
        earlier = (
            deposit_of_idempotency_key(user=user, key=idempotency_key)
            if idempotency_key and exc.code == "deposit_already_used"
            else None
        )
        if earlier is None:
            raise
        log.info(
            "deposit key %r of user %s raced; the first request wins", idempotency_key, user.pk
        )
        return idempotent_replay(earlier, fingerprint=fingerprint), False
    return deposit, True

"""Projects with answers, decisions, earnings and payouts, for the export tests."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from labeling.models import Assignment, Item, Project, Submission
from payouts.models import Journal, NearAccount, Payout
from payouts.services.earnings import earning_credit_line
from payouts.services.ledger import earnings_account, in_flight_account, journal_post
from tests.factories import ItemFactory, ProjectFactory, UserFactory, escrow_fund


def contributor(name: str, *, near: bool = True):
    user = UserFactory(username=name)
    if near:
        NearAccount.objects.create(user=user, account_id=f"{name}.test.near")
    return user


def answer(
    item: Item,
    user,
    *,
    status: str = Submission.Status.ACCEPTED,
    label: str = "cat",
    score: float | None = 0.875,
    parts: dict | None = None,
    reason: str = "",
) -> Submission:
    """An answer as the engine leaves it; an accepted one is credited like decide.py does."""
    now = timezone.now()
    assignment = Assignment.objects.create(
        project=item.project,
        item=item,
        contributor=user,
        status=Assignment.Status.SUBMITTED,
        expires_at=now + timedelta(minutes=10),
        finished_at=now,
    )
    submission = Submission.objects.create(
        assignment=assignment,
        answer={"label": label},
        time_on_task_ms=1234,
        status=status,
        score=score,
        score_parts=parts if parts is not None else {"agreement": 0.75, "gold": None},
        decision_reason=reason,
        decided_at=now if status in ("accepted", "rejected") else None,
    )
    if status == Submission.Status.ACCEPTED:
        project = item.project
        submission.earning_line_id, _ = earning_credit_line(
            reference=f"submission:{submission.public_id}",
            user_id=user.pk,
            escrow_reference=project.escrow_reference,
            reward=project.reward_per_answer,
            fee=project.fee_per_answer,
        )
        submission.save(update_fields=["earning_line"])
    return submission


def payout(user, amount: int, status: str, tx_hash: str | None = None) -> Payout:
    """A payout as payouts.services.payouts leaves it: debit, and a refund if failed."""
    made = Payout.objects.create(
        user=user,
        receiver_id=f"{user.username}.test.near",
        amount=amount,
        status=status,
        tx_hash=tx_hash,
    )
    earnings = earnings_account(user_id=user.pk)
    in_flight = in_flight_account()
    journal_post(
        kind=Journal.Kind.PAYOUT,
        idempotency_key=f"payout:{made.public_id}",
        lines=[(earnings, -amount), (in_flight, amount)],
    )
    if status == Payout.Status.FAILED:
        journal_post(
            kind=Journal.Kind.PAYOUT_FAILED,
            idempotency_key=f"payout:{made.public_id}:failed",
            lines=[(in_flight, -amount), (earnings, amount)],
        )
    return made


def funded_project(*, items: int, owner=None, **kwargs) -> Project:
    project = ProjectFactory(owner=owner or UserFactory(), **kwargs)
    ItemFactory.create_batch(items, project=project)
    if items:
        escrow_fund(project)
    return project

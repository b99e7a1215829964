"""labeling 0007 links the accepted submissions there already are to their earning's
ledger line (the journal `earning:submission:<uuid>`, its line on the contributor's
earnings account), and only those."""

import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from labeling.models import Assignment, Item, Submission
from payouts.models import JournalLine
from payouts.services.earnings import earning_credit
from payouts.services.ledger import earnings_account
from tests.factories import UserFactory, escrow_fund, project_with_items

BEFORE = [("labeling", "0006_quality_names")]
AFTER = [("labeling", "0007_submission_earning_line")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_the_migration_links_each_accepted_submission_to_its_earning(monkeypatch) -> None:
    import importlib

    migration = importlib.import_module("labeling.migrations.0007_submission_earning_line")
    monkeypatch.setattr(migration, "BATCH", 2)  # several batches over a few rows
    project = project_with_items(items=7)
    escrow_fund(project, amount=10**25, key="more")
    users = [UserFactory() for _ in range(3)]
    # Another earning of the same user before the answers' (their lines are not first).
    other = project_with_items(items=1)
    earning_credit(
        reference="test:before",
        user_id=users[0].pk,
        escrow_reference=other.escrow_reference,
        reward=5,
        fee=0,
    )
    try:
        old = _migrate(BEFORE)
        OldSubmission = old.get_model("labeling", "Submission")
        made = []
        now = timezone.now()
        plan = ["accepted", "rejected", "review", "accepted", "accepted", "pending", "accepted"]
        items = list(Item.objects.filter(project=project).order_by("pk"))
        for n, status in enumerate(plan):
            user = users[n % 3]
            assignment = Assignment.objects.create(
                project=project,
                item=items[n],
                contributor=user,
                status=Assignment.Status.SUBMITTED,
                expires_at=now + timedelta(minutes=5),
                finished_at=now,
            )
            submission = OldSubmission.objects.create(
                public_id=uuid.uuid4(),
                assignment_id=assignment.pk,
                answer={"label": "cat"},
                status=status,
            )
            credited = status == "accepted" and n != 6  # the last one was never credited
            if credited:
                earning_credit(
                    reference=f"submission:{submission.public_id}",
                    user_id=user.pk,
                    escrow_reference=project.escrow_reference,
                    reward=project.reward_per_answer,
                    fee=project.fee_per_answer,
                )
            made.append((submission.pk, user, credited))
        _migrate(AFTER)
    finally:
        _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
    for pk, user, credited in made:
        submission = Submission.objects.get(pk=pk)
        if not credited:
            assert submission.earning_line_id is None, submission.status
            continue
        line = JournalLine.objects.select_related("journal").get(pk=submission.earning_line_id)
        assert line.journal.idempotency_key == f"earning:submission:{submission.public_id}"
        assert line.account == earnings_account(user_id=user.pk)
        assert line.amount == project.reward_per_answer
    assert Submission.objects.filter(earning_line__isnull=False).count() == 3

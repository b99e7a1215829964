"""An accepted answer keeps the link to its earning's ledger line (Submission.earning_line),
written in the transaction that credits it; other decisions have none. Exports find
the payout of an answer from it."""

import pytest

from labeling.models import Item, Submission
from labeling.services.quality import gold_submission_decide, item_resolve
from labeling.services.quality.decide import submission_review_decide
from labeling.services.queue import assignment_claim_next, assignment_submit
from payouts.models import Journal, JournalLine
from payouts.services.earnings import earning_credit, earning_credit_line
from payouts.services.ledger import earnings_account
from tests.factories import ProjectFactory, UserFactory, escrow_fund, project_with_items

pytestmark = pytest.mark.django_db


def _answer(project, label):
    contributor = UserFactory()
    assignment = assignment_claim_next(project=project, contributor=contributor)
    assert assignment is not None
    submission = assignment_submit(
        public_id=assignment.public_id, contributor=contributor, answer={"label": label}
    )
    item = Item.objects.get(pk=assignment.item_id)
    if item.is_gold:
        gold_submission_decide(submission_id=submission.pk)
    elif item.status != Item.Status.OPEN:
        item_resolve(item_id=item.pk)
    submission.refresh_from_db()
    return submission


def _assert_linked(submission: Submission) -> None:
    line = JournalLine.objects.select_related("journal", "account").get(
        pk=submission.earning_line_id
    )
    assert line.journal.idempotency_key == f"earning:submission:{submission.public_id}"
    assert line.account == earnings_account(user_id=submission.assignment.contributor_id)
    assert line.amount == submission.assignment.project.reward_per_answer


def test_an_accepted_answer_is_linked_to_its_earning_and_a_rejected_one_is_not() -> None:
    project = project_with_items(items=1, answers_per_item=3)
    answers = [_answer(project, label) for label in ("cat", "cat", "dog")]
    for submission in answers:
        submission.refresh_from_db()
    assert [s.status for s in answers] == ["accepted", "accepted", "rejected"]
    _assert_linked(answers[0])
    _assert_linked(answers[1])
    assert answers[0].earning_line_id != answers[1].earning_line_id
    assert answers[2].earning_line_id is None


def test_an_answer_in_review_is_linked_once_the_requester_accepts_it() -> None:
    project = project_with_items(
        items=1, answers_per_item=2, accept_threshold=0.9, reject_threshold=0.1
    )
    first, second = _answer(project, "cat"), _answer(project, "dog")
    first.refresh_from_db()
    assert (first.status, second.status) == ("review", "review")
    assert first.earning_line_id is None
    assert second.earning_line_id is None
    owner = project.owner
    for accept, submission in ((True, first), (False, second)):
        submission_review_decide(
            project=project,
            submission_public_id=submission.public_id,
            accept=accept,
            reason="" if accept else "wrong",
            by=owner,
        )
        submission.refresh_from_db()
    assert first.status == "accepted"
    _assert_linked(first)
    assert second.status == "rejected"
    assert second.earning_line_id is None


def test_a_repeated_credit_answers_the_first_credits_line() -> None:
    user = UserFactory()
    project = ProjectFactory()
    escrow_fund(project, amount=10**24)
    credit = {
        "reference": "test:repeat",
        "user_id": user.pk,
        "escrow_reference": project.escrow_reference,
        "reward": 10**22,
        "fee": 10**21,
    }
    line, created = earning_credit_line(**credit)
    assert created
    assert earning_credit_line(**credit) == (line, False)
    assert earning_credit(**credit) is False
    # A repeat naming another user still answers the first credit's line.
    assert earning_credit_line(**{**credit, "user_id": UserFactory().pk}) == (line, False)
    journal = Journal.objects.get(idempotency_key="earning:test:repeat")
    assert JournalLine.objects.get(pk=line).journal == journal
    assert JournalLine.objects.filter(journal=journal).count() == 3

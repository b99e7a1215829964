"""Money around the quality engine: the escrow always covers what may be paid, nothing is
paid after it was released, and what is left always goes back to the requester."""

import pytest

from labeling.errors import ProjectNotFundedError
from labeling.models import Item, Project, Submission
from labeling.selectors import project_funding
from labeling.services import queue
from labeling.services.projects import item_gold_set
from labeling.services.quality import gold_submission_decide, item_resolve, items_resolve_stale
from labeling.services.quality.decide import completed_escrows_release
from labeling.services.queue import assignment_claim_next, assignment_submit
from payouts.selectors import earnings_summary, escrow_balance, ledger_trial_balance
from tests.factories import UserFactory, escrow_fund, project_with_items

pytestmark = pytest.mark.django_db


def _answer(project, contributor, label):
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
    return submission


def test_importing_the_first_gold_into_an_active_project_needs_its_budget_funded() -> None:
    from marketplace.services.imports import items_import, rows_from_csv

    project = project_with_items(items=10, gold_rate=0.25)  # funded for 10 x 3 answers
    with pytest.raises(ProjectNotFundedError):
        items_import(project=project, rows=rows_from_csv(b"text,gold\ng1,cat\ng2,dog\n"))
    assert not Item.objects.filter(project=project, is_gold=True).exists()
    escrow_fund(project, amount=10 * project.cost_per_answer, key="gold budget")
    items_import(project=project, rows=rows_from_csv(b"text,gold\ng1,cat\ng2,dog\n"))
    assert project_funding(project=project).shortfall == 0


def test_changing_gold_in_a_published_project_is_refused_unless_funded() -> None:
    project = project_with_items(items=4, fund=False, gold_rate=0.25, status=Project.Status.DRAFT)
    for item in Item.objects.filter(project=project).order_by("pk")[:2]:
        item_gold_set(project=project, item_public_id=item.public_id, answer={"label": "cat"})
    escrow_fund(project, amount=project_funding(project=project).required)
    Project.objects.filter(pk=project.pk).update(status=Project.Status.ACTIVE)
    project.refresh_from_db()
    gold = Item.objects.filter(project=project, is_gold=True).first()
    with pytest.raises(ProjectNotFundedError):  # ordinary again: 3 more slots to pay
        item_gold_set(project=project, item_public_id=gold.public_id, answer=None)
    gold.refresh_from_db()
    assert gold.is_gold  # nothing changed
    assert project_funding(project=project).shortfall == 0


def test_a_claim_that_read_the_project_before_it_completed_gets_nothing(monkeypatch) -> None:
    """/next read the project, then the project completed and released its escrow: the
    claim must not reserve gold there (its right answer could not be paid)."""
    project = project_with_items(items=1, fund=False, answers_per_item=1, gold_rate=0.5)
    Item.objects.create(
        project=project, data={"t": "g"}, is_gold=True, gold_answer={"label": "cat"}
    )
    escrow_fund(project, amount=project_funding(project=project).required)
    stale = Project.objects.get(pk=project.pk)
    monkeypatch.setattr(queue._random, "random", lambda: 0.0)  # no gold due
    _answer(project, UserFactory(), "cat")
    project.refresh_from_db()
    assert project.status == Project.Status.COMPLETED
    monkeypatch.setattr(queue._random, "random", lambda: 0.99)  # gold due
    assert assignment_claim_next(project=stale, contributor=UserFactory()) is None
    assert sum(ledger_trial_balance().values()) == 0


def test_no_gold_once_a_contributor_has_no_ordinary_work_left(monkeypatch) -> None:
    """Else an item that turns up after 'nothing left' would be known to be gold."""
    project = project_with_items(items=1, fund=False, answers_per_item=1, gold_rate=0.5)
    Item.objects.create(
        project=project, data={"t": "g"}, is_gold=True, gold_answer={"label": "cat"}
    )
    escrow_fund(project, amount=project_funding(project=project).required)
    monkeypatch.setattr(queue._random, "random", lambda: 0.0)
    worker, other = UserFactory(), UserFactory()
    held = assignment_claim_next(project=project, contributor=worker)  # the one ordinary item
    monkeypatch.setattr(queue._random, "random", lambda: 0.99)
    assert assignment_claim_next(project=project, contributor=other) is None
    assert held is not None


def test_a_late_answer_whose_task_was_lost_is_decided_by_the_sweep() -> None:
    project = project_with_items(
        items=1, answers_per_item=2, min_answers_per_item=1, target_confidence=0.5
    )
    first, late = UserFactory(), UserFactory()
    a1 = assignment_claim_next(project=project, contributor=first)
    a2 = assignment_claim_next(project=project, contributor=late)
    assignment_submit(public_id=a1.public_id, contributor=first, answer={"label": "cat"})
    item_resolve(item_id=a1.item_id)
    late_answer = assignment_submit(
        public_id=a2.public_id, contributor=late, answer={"label": "cat"}
    )
    # Its item_resolve_task is lost (broker down, worker killed): the sweep decides it.
    items_resolve_stale(older_than_seconds=0)
    late_answer.refresh_from_db()
    assert late_answer.status == Submission.Status.ACCEPTED
    project.refresh_from_db()
    assert project.status == Project.Status.COMPLETED
    assert escrow_balance(reference=project.escrow_reference) == 0


def test_a_deposit_credited_after_completion_goes_back_to_the_requester() -> None:
    project = project_with_items(items=1, answers_per_item=1)
    _answer(project, UserFactory(), "cat")
    project.refresh_from_db()
    assert project.status == Project.Status.COMPLETED
    before = earnings_summary(user=project.owner).balance
    escrow_fund(project, amount=10**24, key="late")  # a pending deposit that became final
    assert completed_escrows_release() == 1
    assert escrow_balance(reference=project.escrow_reference) == 0
    assert earnings_summary(user=project.owner).balance == before + 10**24
    assert completed_escrows_release() == 0  # once
    assert sum(ledger_trial_balance().values()) == 0


def test_a_completed_project_takes_no_deposit() -> None:
    from tests.conftest import api_client_for

    project = project_with_items(items=1, answers_per_item=1)
    _answer(project, UserFactory(), "cat")
    response = api_client_for(project.owner).post(
        f"/api/projects/{project.public_id}/deposits/", {"tx_hash": "1" * 44}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "project_state_invalid"

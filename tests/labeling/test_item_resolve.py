"""Aggregation decides the label; agreeing answers are paid from escrow, once."""

import pytest

from labeling.models import Item, Submission
from labeling.services.quality import item_resolve
from labeling.services.queue import assignment_claim_next, assignment_submit
from labeling.task_types import task_type_get
from payouts.selectors import earnings_summary, escrow_balance, ledger_trial_balance
from payouts.services.ledger import PLATFORM_FEES_KEY
from tests.factories import UserFactory, project_with_items

pytestmark = pytest.mark.django_db


def _answer_all(project, labels):
    contributors = []
    for label in labels:
        contributor = UserFactory()
        assignment = assignment_claim_next(project=project, contributor=contributor)
        assignment_submit(
            public_id=assignment.public_id, contributor=contributor, answer={"label": label}
        )
        contributors.append(contributor)
    return contributors


def test_majority_is_accepted_and_paid_minority_rejected() -> None:
    """Three newcomers (no fit yet: each assumed right 70% of the time), 2 against 1: the
    label is the majority's with its posterior, the dissenter's answer is rejected,
    and the project, complete, returns the unspent escrow to its owner."""
    project = project_with_items(items=1, answers_per_item=3)
    escrow_before = escrow_balance(reference=project.escrow_reference)
    alice, bob, carol = _answer_all(project, ["cat", "cat", "dog"])
    item = item_resolve(item_id=Item.objects.get(project=project).pk)

    assert item.final_answer == {"label": "cat"}
    # P(cat) = .7*.7*.15 / (.7*.7*.15 + .15*.15*.7 + .15*.15*.15): the posterior, not 2/3.
    assert item.confidence == pytest.approx(0.0735 / (0.0735 + 0.01575 + 0.003375), rel=1e-3)
    statuses = {
        s.assignment.contributor_id: s.status
        for s in Submission.objects.select_related("assignment")
    }
    assert statuses == {alice.pk: "accepted", bob.pk: "accepted", carol.pk: "rejected"}
    reward, fee = project.reward_per_answer, project.fee_per_answer
    assert earnings_summary(user=alice).balance == reward
    assert earnings_summary(user=carol).balance == 0
    spent = 2 * (reward + fee)
    assert escrow_balance(reference=project.escrow_reference) == 0
    assert earnings_summary(user=project.owner).balance == escrow_before - spent
    balances = ledger_trial_balance()
    assert balances[PLATFORM_FEES_KEY] == 2 * fee
    assert sum(balances.values()) == 0


def test_resolving_twice_pays_once() -> None:
    project = project_with_items(items=1, answers_per_item=2)
    alice, _ = _answer_all(project, ["bird", "bird"])
    item_id = Item.objects.get(project=project).pk
    item_resolve(item_id=item_id)
    item_resolve(item_id=item_id)
    assert earnings_summary(user=alice).balance == project.reward_per_answer


def test_an_item_still_collecting_answers_is_not_resolved() -> None:
    project = project_with_items(items=1, answers_per_item=3)
    _answer_all(project, ["cat", "cat"])
    item = item_resolve(item_id=Item.objects.get(project=project).pk)
    assert item.status == Item.Status.OPEN
    assert item.final_answer is None


def test_tie_accepts_every_tied_answer_and_picks_the_first_label() -> None:
    classification = task_type_get("classification")
    config = {"labels": ["cat", "dog", "bird"]}
    verdict = classification.aggregate(
        config,
        [{"label": "dog"}, {"label": "cat"}, {"label": "bird"}, {"label": "dog"}, {"label": "cat"}],
    )
    assert verdict.answer == {"label": "cat"}
    assert verdict.agrees == (True, True, False, True, True)
    assert verdict.confidence == pytest.approx(0.4)

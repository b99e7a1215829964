"""The quality engine through its services: scores with their parts, decisions and money,
gold, dynamic overlap, review, completion, reputation and pauses, and the edge cases."""

import json

import numpy as np
import pytest

from labeling.models import ContributorQuality, Item, Project, ProjectQuality, Submission
from labeling.quality.behaviour import factor_of
from labeling.quality.scoring import item_scores, one_coin
from labeling.services.projects import item_gold_set, project_close, project_labels_add
from labeling.services.quality import (
    gold_submission_decide,
    item_resolve,
    project_refit,
    submission_review_decide,
)
from labeling.services.queue import assignment_claim_next, assignment_submit
from payouts.selectors import earnings_summary, escrow_balance, ledger_trial_balance
from tests.conftest import api_client_for
from tests.factories import UserFactory, escrow_fund, project_with_items

pytestmark = pytest.mark.django_db


def _answer(project, contributor, label, *, time_ms=None):
    """Claim the contributor's next item and answer it; runs the tasks an answer enqueues
    (item decisions, gold decisions) as the worker would."""
    assignment = assignment_claim_next(project=project, contributor=contributor)
    assert assignment is not None
    submission = assignment_submit(
        public_id=assignment.public_id,
        contributor=contributor,
        answer={"label": label},
        time_on_task_ms=time_ms,
    )
    item = Item.objects.get(pk=assignment.item_id)
    if item.is_gold:
        gold_submission_decide(submission_id=submission.pk)
    elif item.status != Item.Status.OPEN:
        item_resolve(item_id=item.pk)
    submission.refresh_from_db()
    return submission


# --- scoring: the parts and their arithmetic ---------------------------------------------


def test_agreement_leaves_the_contributors_own_vote_out() -> None:
    """Agreement is the posterior of one's label from the others' answers alone; the score
    adds one's own reliability by Bayes."""
    confusions = np.stack([one_coin(0.8, 2), one_coin(0.8, 2), one_coin(0.9, 2)])
    labels = np.array([0, 0, 1])
    prior = np.array([0.5, 0.5])
    scores = item_scores(labels, confusions, prior)
    # The dissenter (label 1): the two others say 0 with accuracy 0.8.
    others = np.array([0.8 * 0.8, 0.2 * 0.2])
    agreement = others[1] / others.sum()
    assert scores.agreement[2] == pytest.approx(agreement)
    joint = others / others.sum() * np.array([0.1, 0.9])  # P(answer 1 | true k) for a 0.9 worker
    assert scores.correct[2] == pytest.approx(joint[1] / joint.sum())
    assert scores.posterior.sum() == pytest.approx(1.0)
    # An answer alone: agreement is the prior.
    alone = item_scores(np.array([1]), confusions[:1], prior)
    assert alone.agreement[0] == pytest.approx(0.5)


def test_every_score_is_stored_with_parts_that_reproduce_it() -> None:
    project = project_with_items(items=1, answers_per_item=3)
    for label in ("cat", "cat", "dog"):
        _answer(project, UserFactory(), label, time_ms=4000)
    for submission in Submission.objects.all():
        parts = submission.score_parts
        assert set(parts) >= {"agreement", "reliability", "correct", "prior", "model", "gold"}
        assert parts["behaviour"]["factor"] == factor_of(parts["behaviour"]["flags"])
        assert submission.score == pytest.approx(parts["correct"] * parts["behaviour"]["factor"])
        assert 0 <= submission.score <= 1
        assert parts["model"]["used"] is False  # no model prior in this project
    statuses = sorted(Submission.objects.values_list("answer__label", "status"))
    assert statuses == [("cat", "accepted"), ("cat", "accepted"), ("dog", "rejected")]


def test_a_score_in_the_band_goes_to_review_and_the_requester_decides() -> None:
    """Between the thresholds an answer waits; accepting it pays it once, rejecting it
    needs a reason; the project completes only when nothing waits."""
    project = project_with_items(
        items=1, answers_per_item=2, accept_threshold=0.9, reject_threshold=0.1
    )
    first = _answer(project, UserFactory(), "cat")
    second = _answer(project, UserFactory(), "dog")
    first.refresh_from_db()
    assert {first.status, second.status} == {"review"}
    project.refresh_from_db()
    assert project.status == "active"  # answers wait for review
    owner = project.owner
    accepted = submission_review_decide(
        project=project, submission_public_id=first.public_id, accept=True, reason="", by=owner
    )
    assert accepted.status == "accepted"
    assert earnings_summary(user=first.assignment.contributor).balance == project.reward_per_answer
    # The same decision again changes nothing and pays nothing more.
    submission_review_decide(
        project=project, submission_public_id=first.public_id, accept=True, reason="", by=owner
    )
    assert earnings_summary(user=first.assignment.contributor).balance == project.reward_per_answer
    api = api_client_for(owner)
    listed = api.get(f"/api/projects/{project.public_id}/review").json()
    assert [row["id"] for row in listed] == [str(second.public_id)]
    assert listed[0]["score_parts"]["agreement"] is not None
    review = f"/api/projects/{project.public_id}/review"
    no_reason = api.post(f"{review}/{second.public_id}/reject", {"reason": " "}, format="json")
    assert no_reason.status_code == 400
    rejected = api.post(
        f"{review}/{second.public_id}/reject",
        {"reason": "Dogs have no whiskers like that."},
        format="json",
    )
    assert rejected.status_code == 200, rejected.content
    assert rejected.json()["decision_reason"] == "Dogs have no whiskers like that."
    again = api.post(f"{review}/{first.public_id}/reject", {"reason": "no"}, format="json")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "submission_not_in_review"
    stranger = api_client_for(UserFactory()).get(f"/api/projects/{project.public_id}/review")
    assert stranger.status_code == 404
    project.refresh_from_db()
    assert project.status == "completed"
    assert sum(ledger_trial_balance().values()) == 0


# --- dynamic overlap, completion and escrow ---------------------------------------------


def test_dynamic_overlap_stops_when_confident_and_releases_the_unspent_escrow() -> None:
    """min 2, max 5, target 0.9, two labels: two agreeing newcomers (0.7 each) give 0.845,
    a third agreeing one 0.927: the item stops at three. A split item asks up to five.
    On completion the escrow not spent returns to the requester's balance."""
    project = project_with_items(
        items=2,
        answers_per_item=5,
        min_answers_per_item=2,
        target_confidence=0.9,
        label_config={"labels": ["cat", "dog"]},
        reject_threshold=0.5,  # no review band: every answer decided by the engine
    )
    funded = escrow_balance(reference=project.escrow_reference)
    assert funded == 2 * 5 * project.cost_per_answer  # reserved for the maximum
    first, second = Item.objects.filter(project=project).order_by("pk")
    contributors = [UserFactory() for _ in range(8)]
    for contributor in contributors[:3]:
        _answer(project, contributor, "cat")
    first.refresh_from_db()
    assert first.status == "resolved"
    assert first.final_answer == {"label": "cat"}
    assert first.confidence >= 0.9
    for contributor, label in zip(
        contributors[3:], ["cat", "dog", "cat", "dog", "cat"], strict=True
    ):
        _answer(project, contributor, label)
    second.refresh_from_db()
    assert second.status == "resolved"
    assert Submission.objects.filter(assignment__item=second).count() == 5
    project.refresh_from_db()
    assert project.status == "completed"
    assert project.completed_at is not None
    accepted = Submission.objects.filter(status="accepted").count()
    assert escrow_balance(reference=project.escrow_reference) == 0
    assert (
        earnings_summary(user=project.owner).balance == funded - accepted * project.cost_per_answer
    )
    # Completed: off the open list, no more work.
    response = api_client_for(UserFactory()).get(f"/api/projects/{project.public_id}/next")
    assert response.status_code == 204


def test_an_answer_that_arrives_after_the_decision_is_scored_and_decided() -> None:
    project = project_with_items(
        items=1,
        answers_per_item=4,
        min_answers_per_item=2,
        target_confidence=0.8,
        label_config={"labels": ["cat", "dog"]},
    )
    late = UserFactory()
    held = assignment_claim_next(project=project, contributor=late)
    _answer(project, UserFactory(), "cat")
    _answer(project, UserFactory(), "cat")  # 0.845 >= 0.8: decided with two
    item = Item.objects.get(project=project)
    assert item.status == "resolved"
    submission = assignment_submit(
        public_id=held.public_id, contributor=late, answer={"label": "cat"}
    )
    item_resolve(item_id=item.pk)
    submission.refresh_from_db()
    assert submission.status == "accepted"
    assert submission.score_parts["agreement"] > 0.8
    project.refresh_from_db()
    assert project.status == "completed"


def test_closing_a_project_decides_what_it_has() -> None:
    project = project_with_items(items=3, answers_per_item=3)
    _answer(project, UserFactory(), "bird")
    project = project_close(project=project)
    assert project.status == "completed"
    statuses = sorted(Item.objects.filter(project=project).values_list("status", flat=True))
    assert statuses == ["resolved"] * 3
    assert Item.objects.filter(project=project, final_answer__isnull=True).count() == 2
    assert escrow_balance(reference=project.escrow_reference) == 0


# --- gold ---------------------------------------------------------------------------------


def _draft(**kwargs):
    return project_with_items(fund=False, status=Project.Status.DRAFT, **kwargs)


def _publish(project, *, factor=1):
    """Fund what the project needs (gold budget included) and publish it."""
    from labeling.services.projects import project_publish

    escrow_fund(project, amount=project_funding_required(project) * factor)
    return project_publish(project=project)


def _gold_project(items=6, gold=2, **kwargs):
    project = _draft(items=items, gold_rate=0.5, **kwargs)
    for item in Item.objects.filter(project=project).order_by("pk")[:gold]:
        item_gold_set(project=project, item_public_id=item.public_id, answer={"label": "bird"})
    return _publish(project)


def project_funding_required(project):
    from labeling.selectors import project_funding

    return project_funding(project=project).required


def test_gold_answers_never_reach_a_contributor_before_they_answer() -> None:
    """Through every contributor endpoint a gold item looks like any other; after the
    answer, the project's feedback says whether it was right (only where it shows it)."""
    project = _gold_project(items=8, gold=4)
    secret = {"gold", "gold_answer", "is_gold", "gold_flag", "final_answer"}
    contributor = UserFactory()
    api = api_client_for(contributor)

    def keys(value):
        if isinstance(value, dict):
            return set(value) | {k for v in value.values() for k in keys(v)}
        if isinstance(value, list):
            return {k for v in value for k in keys(v)}
        return set()

    bodies = []
    for path in ("/api/me/", f"/api/projects/{project.public_id}/"):
        bodies.append(api.get(path).json())
    reserved = api.get(f"/api/projects/{project.public_id}/next").json()
    bodies.append(reserved)
    assert set(reserved["item"]) == {"id", "data"}
    for body in bodies:
        assert not keys(body) & secret, body
    # A skip answers nothing about the item either.
    skipped = api.post(f"/api/assignments/{reserved['id']}/skip").json()
    assert not keys(skipped) & secret

    def answer_until_gold(label):
        while True:
            reserved = api.get(f"/api/projects/{project.public_id}/next").json()
            answered = api.post(
                f"/api/assignments/{reserved['id']}/submit",
                {"answer": {"label": label}},
                format="json",
            ).json()
            if Item.objects.get(public_id=reserved["item"]["id"]).is_gold:
                return answered
            assert answered["feedback"] is None  # an ordinary item: nothing to tell

    assert answer_until_gold("cat")["feedback"] == {"correct": False, "answer": {"label": "bird"}}
    Project.objects.filter(pk=project.pk).update(show_gold_feedback=False)
    assert answer_until_gold("bird")["feedback"] is None
    assert "bird" not in json.dumps(api.get("/api/me/").json())


def test_gold_is_mixed_in_at_the_projects_rate() -> None:
    project = _draft(items=40, gold_rate=0.25)
    for item in Item.objects.filter(project=project).order_by("-pk")[:12]:
        item_gold_set(project=project, item_public_id=item.public_id, answer={"label": "cat"})
    project = _publish(project)
    contributor = UserFactory()
    seen = []
    for _ in range(20):
        seen.append(_answer(project, contributor, "cat").assignment.item.is_gold)
    gold = sum(seen)
    assert abs(gold - 0.25 * 20) <= 1.5, seen
    assert not all(seen[:gold])  # not all at the start: mixed in


def test_right_gold_is_paid_wrong_gold_rejected_and_a_poor_contributor_paused() -> None:
    project = _gold_project(items=24, gold=12, min_reputation=0.6)
    good, poor = UserFactory(), UserFactory()
    for _ in range(16):
        _answer(project, good, "bird")  # right on gold; on the rest it is the one answer
    for _ in range(16):
        _answer(project, poor, "cat")  # wrong on every gold item
    gold_statuses = dict(
        Submission.objects.filter(assignment__item__is_gold=True)
        .values_list("assignment__contributor_id", "status")
        .distinct()
    )
    assert gold_statuses == {good.pk: "accepted", poor.pk: "rejected"}
    project_refit(project_id=project.pk)
    poor_row = ContributorQuality.objects.get(project=project, contributor=poor)
    good_row = ContributorQuality.objects.get(project=project, contributor=good)
    assert poor_row.gold_answers >= 5
    assert poor_row.gold_correct == 0
    assert good_row.gold_correct == good_row.gold_answers >= 5
    assert poor_row.paused_at is not None
    assert "below" in poor_row.pause_reason
    assert good_row.paused_at is None
    response = api_client_for(poor).get(f"/api/projects/{project.public_id}/next")
    assert response.status_code == 403
    body = response.json()["error"]
    assert body["code"] == "contributor_paused"
    me = api_client_for(poor).get("/api/me/").json()["quality"]
    mine = me["projects"][0]
    assert mine["paused"] is True
    assert mine["pause_reason"]
    assert mine["gold_answers"] == poor_row.gold_answers
    assert mine["gold_correct"] == 0
    assert me["reputation"] < 0.6
    # Where the project hides gold, no count says which answers were to gold items.
    Project.objects.filter(pk=project.pk).update(show_gold_feedback=False)
    me = api_client_for(poor).get("/api/me/").json()["quality"]
    assert (me["projects"][0]["gold_answers"], me["projects"][0]["gold_correct"]) == (None, None)
    assert (me["gold_answers"], me["gold_correct"]) == (0, 0)
    assert me["projects"][0]["reputation"] == poor_row.reputation


def test_gold_that_reliable_contributors_contradict_is_flagged_and_punishes_nobody() -> None:
    """Five contributors who agree with each other on every ordinary item all answer
    'cat' on a gold item whose answer says 'bird': the gold is flagged for the requester
    and their wrong-looking answers count against nobody's gold record."""
    project = _draft(items=9, answers_per_item=5, gold_rate=0.2)
    gold_item = Item.objects.filter(project=project).order_by("pk").first()
    item_gold_set(project=project, item_public_id=gold_item.public_id, answer={"label": "bird"})
    project = _publish(project, factor=2)
    contributors = [UserFactory() for _ in range(5)]
    truth = ["cat", "dog"] * 4
    for contributor in contributors:
        for index in range(9):
            assignment = assignment_claim_next(project=project, contributor=contributor)
            if assignment is None:
                break
            item = Item.objects.get(pk=assignment.item_id)
            label = "cat" if item.is_gold else truth[index % 8]
            order = list(Item.objects.filter(project=project, is_gold=False).order_by("pk"))
            if not item.is_gold:
                label = truth[order.index(item)]
            submission = assignment_submit(
                public_id=assignment.public_id, contributor=contributor, answer={"label": label}
            )
            if item.is_gold:
                gold_submission_decide(submission_id=submission.pk)
            elif Item.objects.get(pk=item.pk).status == Item.Status.COMPLETE:
                item_resolve(item_id=item.pk)
    project_refit(project_id=project.pk)
    gold_item.refresh_from_db()
    assert gold_item.gold_flag, "the gold answer should be flagged"
    project_refit(project_id=project.pk)
    for row in ContributorQuality.objects.filter(project=project):
        assert row.gold_answers == 0  # the flagged gold counts against nobody
        assert row.paused_at is None
    quality = api_client_for(project.owner).get(f"/api/projects/{project.public_id}/quality")
    flags = quality.json()["gold_flags"]
    assert [flag["item"] for flag in flags] == [str(gold_item.public_id)]


def test_gold_import_column_and_api_validate_the_answer() -> None:
    from marketplace.services.imports import items_import, rows_from_csv

    project = project_with_items(items=0, fund=False, status=Project.Status.DRAFT)
    items_import(
        project=project,
        rows=rows_from_csv(b'external_id,text,gold\na,"a cat",cat\nb,"no gold",\n'),
    )
    a, b = Item.objects.filter(project=project).order_by("external_id")
    assert (a.is_gold, a.gold_answer) == (True, {"label": "cat"})
    assert (b.is_gold, b.gold_answer) == (False, None)
    assert "gold" not in a.data
    from marketplace.errors import ImportInvalidError

    with pytest.raises(ImportInvalidError) as bad:
        items_import(project=project, rows=rows_from_csv(b"text,gold\nx,zebra\n"))
    assert bad.value.extra["line"] == 2
    api = api_client_for(project.owner)
    url = f"/api/projects/{project.public_id}/items/{b.public_id}/gold"
    wrong = api.put(url, {"answer": {"label": "zebra"}}, format="json")
    assert wrong.status_code == 400
    assert wrong.json()["error"]["code"] == "answer_invalid"
    assert api.put(url, {"answer": {"label": "dog"}}, format="json").status_code == 204
    b.refresh_from_db()
    assert b.is_gold
    assert b.gold_answer == {"label": "dog"}


# --- edge cases -----------------------------------------------------------------------------


def test_one_answer_per_item_and_one_contributor() -> None:
    project = project_with_items(items=5, answers_per_item=1)
    alone = UserFactory()
    for _ in range(5):
        submission = _answer(project, alone, "cat")
        assert submission.score is not None
    project_refit(project_id=project.pk)
    row = ContributorQuality.objects.get(project=project, contributor=alone)
    assert row.answers == 5
    assert 0 < row.reliability < 1
    project.refresh_from_db()
    assert project.status == "completed"


def test_a_contributor_who_answers_one_item_only_is_scored() -> None:
    project = project_with_items(items=4, answers_per_item=3)
    regulars = [UserFactory() for _ in range(2)]
    once = UserFactory()
    for _ in range(4):
        for contributor in regulars:
            _answer(project, contributor, "dog")
    _answer(project, once, "cat")
    project_refit(project_id=project.pk)
    row = ContributorQuality.objects.get(project=project, contributor=once)
    assert row.answers == 1
    assert row.one_coin
    assert np.isfinite(row.reliability)
    submission = Submission.objects.get(assignment__contributor=once)
    assert submission.status == "rejected"  # two reliable contributors said dog


def test_labels_added_to_a_running_project_are_scored() -> None:
    project = project_with_items(items=4, answers_per_item=2)
    contributors = [UserFactory(), UserFactory()]
    for contributor in contributors:
        _answer(project, contributor, "cat")
    project_refit(project_id=project.pk)
    project = project_labels_add(project=project, labels=["fish", "cat"])
    assert project.label_config["labels"] == ["cat", "dog", "bird", "fish"]
    for contributor in contributors:
        _answer(project, contributor, "fish")
    fit = project_refit(project_id=project.pk)
    assert fit.labels == ["cat", "dog", "bird", "fish"]
    assert len(ContributorQuality.objects.get(contributor=contributors[0]).confusion) == 4
    item = Item.objects.filter(project=project, final_answer__label="fish").get()
    assert item.confidence > 0.5


def test_a_model_that_fails_to_load_leaves_decisions_to_agreement(settings) -> None:
    """The encoder path is wrong: embedding writes nothing, the refit says why the model
    is not used, and answers are still scored and paid."""
    from labeling.quality import encoder as encoder_module

    settings.QUALITY_MODEL_ENABLED = True
    settings.QUALITY_ENCODER_PATH = "/nonexistent/model"
    encoder_module._reset_for_tests()
    try:
        project = project_with_items(items=2, answers_per_item=2)
        from labeling.tasks import items_embed_task

        assert items_embed_task(project.pk) == 0
        users = [UserFactory(), UserFactory()]
        for contributor in users:
            _answer(project, contributor, "dog")
            _answer(project, contributor, "dog")
        project_refit(project_id=project.pk)
        quality = ProjectQuality.objects.get(project=project)
        assert "unavailable" in quality.model_status
        assert not quality.prior_used
        assert Submission.objects.filter(status="accepted").count() == 4
    finally:
        encoder_module._reset_for_tests()


def test_labels_are_added_over_the_api_as_strings_only() -> None:
    project = project_with_items(items=1, fund=False, status=Project.Status.DRAFT)
    api = api_client_for(project.owner)
    url = f"/api/projects/{project.public_id}/labels"
    numbers = api.post(url, {"labels": [0]}, format="json")
    assert numbers.status_code == 400
    assert numbers.json()["error"]["code"] == "invalid"
    added = api.post(url, {"labels": ["fish"]}, format="json")
    assert added.status_code == 200
    assert added.json()["label_config"]["labels"] == ["cat", "dog", "bird", "fish"]
    stranger = api_client_for(UserFactory()).post(url, {"labels": ["x"]}, format="json")
    assert stranger.status_code == 404


def test_with_the_quality_worker_down_answers_are_still_decided_and_the_project_says_so() -> None:
    """No refit ever runs (their tasks sit in the quality queue): every answer is still
    scored and decided on agreement, and the project's quality says what it rests on."""
    from datetime import timedelta

    from django.utils import timezone

    project = project_with_items(items=4, answers_per_item=2)
    for _ in range(4):
        for contributor in (UserFactory(username="down-a"), UserFactory(username="down-b")):
            _answer(project, contributor, "cat")
    assert Submission.objects.filter(status="accepted").count() == 8
    api = api_client_for(project.owner)
    quality = api.get(f"/api/projects/{project.public_id}/quality").json()
    assert quality["fit_version"] == 0
    assert quality["answers_unfitted"] == 8
    assert "Not fitted yet" in quality["fit_note"]
    project_refit(project_id=project.pk)
    ProjectQuality.objects.filter(project=project).update(
        fitted_at=timezone.now() - timedelta(hours=2), answers_fitted=6
    )
    quality = api.get(f"/api/projects/{project.public_id}/quality").json()
    assert "quality worker may be down" in quality["fit_note"]


def test_a_contributor_sees_why_each_answer_was_decided_and_nothing_of_hidden_gold() -> None:
    project = _gold_project(items=8, gold=4)
    Project.objects.filter(pk=project.pk).update(show_gold_feedback=False)
    project.refresh_from_db()
    contributor = UserFactory()
    answered = 0
    while assignment_claim_next(project=project, contributor=contributor) is not None:
        _answer(project, contributor, "bird")
        answered += 1
    api = api_client_for(contributor)
    rows = api.get("/api/me/submissions", {"project": str(project.public_id)}).json()
    assert len(rows) == answered
    assert any(row["score"] is None for row in rows)  # some gold among them
    gold_items = set(
        Item.objects.filter(project=project, is_gold=True).values_list("public_id", flat=True)
    )
    for row in rows:
        assert row["status"] in {"accepted", "rejected", "review", "pending"}
        if row["item"] in {str(pk) for pk in gold_items}:
            assert row["score"] is None
            assert row["score_parts"] is None  # nothing says it was gold
        elif row["status"] != "pending":
            assert set(row["score_parts"]) >= {"agreement", "reliability", "behaviour"}
    assert "gold" not in json.dumps([r for r in rows if r["score_parts"] is None])
    other = api_client_for(UserFactory()).get("/api/me/submissions").json()
    assert other == []
    bad = api.get("/api/me/submissions", {"project": "not-a-uuid"})
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "invalid"


def test_an_answer_with_a_label_added_meanwhile_is_scored_from_a_stale_project() -> None:
    """The submit path holds the project as it read it; a label added since, already used
    by another answer, must not break the posterior of the item."""
    from labeling.services.quality import item_posterior_now

    project = project_with_items(items=1, answers_per_item=3, min_answers_per_item=1)
    stale = Project.objects.get(pk=project.pk)
    project = project_labels_add(project=project, labels=["fish"])
    _answer(project, UserFactory(), "fish")
    posterior, answers = item_posterior_now(item=Item.objects.get(project=project), project=stale)
    assert answers == 1
    assert posterior.shape == (4,)
    assert int(posterior.argmax()) == 3

"""The model prior in the engine, with the real encoder: used where the items' text
carries the label, with the model's identity in every score it enters."""

import pytest

from labeling.models import Item, ItemEmbedding, ProjectQuality, Submission
from labeling.quality.encoder import model_info
from labeling.services.quality import item_resolve, items_embed, project_refit
from labeling.services.queue import assignment_claim_next, assignment_submit
from tests.factories import ItemFactory, UserFactory, escrow_fund, project_with_items

pytestmark = pytest.mark.django_db

GOOD = ["wonderful", "excellent", "delightful", "superb", "lovely", "fantastic", "great"]
BAD = ["awful", "terrible", "horrible", "dreadful", "disgusting", "miserable", "bad"]
THINGS = ["meal", "film", "hotel", "concert", "book", "service"]


@pytest.fixture
def model_on(settings):
    settings.QUALITY_MODEL_ENABLED = True


def test_a_prior_that_helps_is_used_and_named_in_the_scores(model_on) -> None:
    project = project_with_items(
        items=0, fund=False, answers_per_item=2, label_config={"labels": ["positive", "negative"]}
    )
    truth = {}
    for word_index, (good, bad) in enumerate(zip(GOOD, BAD, strict=True)):
        for thing in THINGS:
            for label, word in (("positive", good), ("negative", bad)):
                item = ItemFactory(
                    project=project, data={"text": f"The {thing} was {word}. ({word_index})"}
                )
                truth[item.pk] = label
    escrow_fund(project)
    assert items_embed(project_id=project.pk) == len(truth)
    assert ItemEmbedding.objects.filter(item__project=project).count() == len(truth)
    contributors = [UserFactory(), UserFactory()]
    for _ in range(len(truth) - 4):  # all but two items, which the prior will meet
        for contributor in contributors:
            assignment = assignment_claim_next(project=project, contributor=contributor)
            assignment_submit(
                public_id=assignment.public_id,
                contributor=contributor,
                answer={"label": truth[assignment.item_id]},
            )
            item_resolve(item_id=assignment.item_id)
    quality = project_refit(project_id=project.pk)
    info = model_info()
    assert quality.prior_used, quality.model_status
    assert "used" in quality.model_status
    assert (quality.model_name, quality.model_sha256) == (info.name, info.sha256)
    metrics = quality.prior["metrics"]
    assert metrics["heldout_logloss_model"] < metrics["heldout_logloss_base"]
    # The next answers are scored with the prior in them, the model named.
    contributor = contributors[0]
    assignment = assignment_claim_next(project=project, contributor=contributor)
    submission = assignment_submit(
        public_id=assignment.public_id,
        contributor=contributor,
        answer={"label": truth[assignment.item_id]},
    )
    assignment = assignment_claim_next(project=project, contributor=contributors[1])
    assignment_submit(
        public_id=assignment.public_id,
        contributor=contributors[1],
        answer={"label": truth[assignment.item_id]},
    )
    item_resolve(item_id=submission.assignment.item_id)
    submission = Submission.objects.get(pk=submission.pk)
    model = submission.score_parts["model"]
    assert model["used"] is True
    assert model["sha256"] == info.sha256
    assert model["name"] == info.name
    right = truth[submission.assignment.item_id]
    assert submission.score_parts["prior"] > 0.5  # the prior leans to the right label
    assert Item.objects.get(pk=submission.assignment.item_id).final_answer == {"label": right}
    assert ProjectQuality.objects.get(project=project).prior_used

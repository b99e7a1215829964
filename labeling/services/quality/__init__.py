"""The quality engine's services: scoring and deciding answers, refitting projects,
embedding items. See docs/ARCHITECTURE.md ("Quality") for how the parts fit."""

from labeling.services.quality.decide import (
    gold_feedback,
    gold_submission_decide,
    item_overlap_done,
    item_posterior_now,
    item_resolve,
    items_resolve_stale,
    project_complete_if_done,
    submission_review_decide,
    submissions_score,
)
from labeling.services.quality.embedding import items_embed
from labeling.services.quality.refit import project_refit, project_refit_if_due

__all__ = [
    "gold_feedback",
    "gold_submission_decide",
    "item_overlap_done",
    "item_posterior_now",
    "item_resolve",
    "items_embed",
    "items_resolve_stale",
    "project_complete_if_done",
    "project_refit",
    "project_refit_if_due",
    "submission_review_decide",
    "submissions_score",
]

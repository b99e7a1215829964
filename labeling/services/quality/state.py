"""The project's quality state as the scoring code needs it: labels, the class prior,
each contributor's confusion matrix and the model prior, read from the last fit."""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from labeling.models import ContributorQuality, ItemEmbedding, Project, ProjectQuality
from labeling.quality.scoring import one_coin
from labeling.task_types import task_type_get

# A contributor nobody has fitted yet is assumed right this often: a little better
# than chance on any label set, so that three agreeing newcomers settle a binary item
# (0.7^3 against 0.3^3: 0.93) and one alone does not.
DEFAULT_ACCURACY = 0.7


@dataclass(frozen=True)
class QualityState:
    project: Project
    categories: list[str] | None  # None: not a categorical task (majority vote applies)
    quality: ProjectQuality
    class_prior: np.ndarray  # (K,)
    default_accuracy: float

    @property
    def n_classes(self) -> int:
        return len(self.categories or ())

    def confusions(self, contributor_ids: Iterable[int]) -> dict[int, np.ndarray]:
        """Each contributor's (K, K) confusion matrix: their fitted one, padded for
        labels added since, or the newcomer's one-coin matrix."""
        ids = list(set(contributor_ids))
        rows = ContributorQuality.objects.filter(
            project=self.project, contributor_id__in=ids
        ).values_list("contributor_id", "confusion")
        fitted = {cid: confusion for cid, confusion in rows if confusion}
        return {cid: self._confusion(fitted.get(cid)) for cid in ids}

    def _confusion(self, stored: Any) -> np.ndarray:
        k = self.n_classes
        default = one_coin(self.default_accuracy, k)
        if not stored:
            return default
        matrix = np.asarray(stored, dtype=np.float64)
        if matrix.shape == (k, k):
            return matrix
        # Labels were added after the fit: known rows and columns kept, the rest from
        # the newcomer's matrix, rows renormalised.
        old = matrix.shape[0]
        padded = default.copy()
        padded[:old, :old] = matrix * (1 - default[0, old:].sum())
        return np.asarray(padded / padded.sum(axis=1, keepdims=True))

    def item_prior(self, item_id: int) -> tuple[np.ndarray, float | None]:
        """The item's prior over labels and, when the model's prior is in use, the
        model's part in it (else None)."""
        if not self.quality.prior_used or not self.quality.prior:
            return self.class_prior, None
        from labeling.quality.prior import PriorFit

        vector = (
            ItemEmbedding.objects.filter(item_id=item_id, model_sha256=self.quality.model_sha256)
            .values_list("vector", flat=True)
            .first()
        )
        if vector is None:
            return self.class_prior, None
        prior = PriorFit.from_dict(self.quality.prior).predict(
            np.frombuffer(bytes(vector), dtype=np.float32)[None, :]
        )[0]
        return _pad(prior, self.n_classes), 1.0


def _pad(values: np.ndarray, k: int) -> np.ndarray:
    if values.size >= k:
        return np.asarray(values[:k] / values[:k].sum())
    padded = np.concatenate([values, np.full(k - values.size, values.min())])
    return np.asarray(padded / padded.sum())


def quality_state(*, project: Project) -> QualityState:
    # The labels as they are now (they are only ever added): an answer stored since the
    # caller read the project may use one it does not know yet.
    project.label_config = Project.objects.values_list("label_config", flat=True).get(pk=project.pk)
    categories = task_type_get(project.task_type).categories(project.label_config)
    quality, _ = ProjectQuality.objects.get_or_create(project=project)
    k = len(categories or ())
    prior = np.asarray(quality.class_prior or [], dtype=np.float64)
    if k and prior.size != k:
        prior = _pad(prior, k) if prior.size else np.full(k, 1.0 / k)
    accuracy = float(quality.fit_stats.get("mean_reliability", DEFAULT_ACCURACY))
    return QualityState(
        project=project,
        categories=categories,
        quality=quality,
        class_prior=prior,
        default_accuracy=min(max(accuracy, DEFAULT_ACCURACY - 0.1), DEFAULT_ACCURACY),
    )

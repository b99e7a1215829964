"""Scoring one item's answers from the project's last fit: pure numpy, no database.

An answer's score is the probability that it is right, P(true = its label | the
evidence), built from parts that are stored beside it:

- agreement: P(true = its label) from every *other* answer of the item (each weighed
  by its contributor's confusion matrix) and the item's prior, without the
  contributor's own vote;
- reliability: the contributor's own confusion matrix, which turns agreement into the
  posterior of their label by Bayes (a reliable contributor's lone dissent counts);
- the prior: the model's prior over labels for the item where the project uses one,
  otherwise the project's label frequencies;
- behaviour: a factor in (0, 1] for signs of not reading the item (far too fast, one
  label for everything, long streaks), 1 when there are none.
"""

from dataclasses import dataclass

import numpy as np

# A probability is never exactly 0 or 1 here: one confident matrix must not veto the rest.
EPSILON = 1e-6


def one_coin(accuracy: float, n_classes: int) -> np.ndarray:
    """A confusion matrix that is right with `accuracy`, wrong evenly otherwise."""
    accuracy = float(np.clip(accuracy, 1.0 / n_classes, 1 - EPSILON))
    wrong = (1 - accuracy) / max(n_classes - 1, 1)
    matrix = np.full((n_classes, n_classes), wrong)
    np.fill_diagonal(matrix, accuracy)
    return matrix


@dataclass(frozen=True)
class ItemScores:
    posterior: np.ndarray  # (K,) P(true = k | every answer)
    agreement: np.ndarray  # (m,) leave-one-out P(true = label_j)
    correct: np.ndarray  # (m,) P(true = label_j | every answer), by Bayes


def item_scores(labels: np.ndarray, confusions: np.ndarray, prior: np.ndarray) -> ItemScores:
    """Scores of one item's m answers: `labels` (m,), their contributors' confusion
    matrices (m, K, K) and the item's prior (K,)."""
    labels = np.asarray(labels, dtype=np.int64)
    log_prior = np.log(np.clip(prior, EPSILON, None))
    if labels.size == 0:
        posterior = _normalise(log_prior)
        return ItemScores(posterior, np.zeros(0), np.zeros(0))
    # likelihood[j, k] = P(answer j | true = k)
    likelihood = np.clip(confusions[np.arange(labels.size), :, labels], EPSILON, None)
    log_like = np.log(likelihood)
    total = log_prior + log_like.sum(axis=0)
    posterior = _normalise(total)
    loo = _normalise(total[None, :] - log_like)  # (m, K), each answer left out
    agreement = loo[np.arange(labels.size), labels]
    joint = loo * likelihood  # P(true = k | others) * P(answer j | k)
    correct = joint[np.arange(labels.size), labels] / joint.sum(axis=1)
    return ItemScores(posterior=posterior, agreement=agreement, correct=correct)


def _normalise(log_values: np.ndarray) -> np.ndarray:
    shifted = np.exp(log_values - log_values.max(axis=-1, keepdims=True))
    return np.asarray(shifted / shifted.sum(axis=-1, keepdims=True))


def decision(score: float, *, accept_threshold: float, reject_threshold: float) -> str:
    """'accepted', 'rejected' or 'review' for a score under the project's thresholds."""
    if score >= accept_threshold:
        return "accepted"
    if score < reject_threshold:
        return "rejected"
    return "review"

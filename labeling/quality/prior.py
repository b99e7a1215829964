"""A per-project prior over labels, predicted from an item's text embedding.

For classification projects: a multinomial logistic regression on the sentence
embeddings of items whose label is known (gold items and confidently aggregated ones)
gives, for any other item, a probability per label before anyone has answered it. It is
used only where it has earned it: `prior_fit` compares its K-fold held-out log-loss with
that of the base rate (the label frequencies), and a project whose texts do not predict
their labels (the usual case when the label depends on reasoning over the text, as in
entailment) gets `used=False`, with the reason, and a prior that predicts uniform.

A prior never vetoes an answer: every label keeps at least `floor` probability.
`PriorFit.to_dict()` is plain JSON, so a fit stored in a JSONField predicts in any
process with numpy alone.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

# When a prior is worth using. Below MIN_ITEMS labelled items the held-out folds are too
# small to tell a real gain from luck; a label seen on fewer than MIN_ITEMS_PER_LABEL items
# cannot be learnt, and a prior needs at least two learnable labels to say anything.
MIN_ITEMS = 30
MIN_ITEMS_PER_LABEL = 5
MIN_LABELS = 2
# The held-out check: folds, and how much lower the model's log-loss must be than the
# base rate's, relatively. The margin also covers the slight optimism of choosing C on
# the same folds that measure it.
N_FOLDS = 5
MIN_RELATIVE_GAIN = 0.05
# Inverse L2 strengths tried; the held-out log-loss picks one. Unit-length embeddings
# need weak regularisation where the text carries the label (10 to 100) and strong where
# it does not (0.1).
C_GRID = (0.1, 1.0, 10.0, 100.0)
MAX_ITER = 1000
# The least probability any label gets from a used prior (the distribution is mixed with
# the uniform one to reach it); lowered to 1/(2K) for K > 50 labels so it stays valid.
PROBABILITY_FLOOR = 0.01
SERIAL_VERSION = 1


@dataclass(eq=False)
class PriorFit:
    """A fitted prior, or the decision not to use one (`used=False`, `reason` says why).

    `classes` are the labels the model saw, `coef` (rows, d) and `intercept` (rows,) its
    parameters: one row for two classes (the second class's logit), one per class
    otherwise. Unused fits keep no parameters and predict uniform.
    """

    used: bool
    reason: str
    n_classes: int
    metrics: dict[str, float | int | None] = field(default_factory=dict)
    floor: float = PROBABILITY_FLOOR
    classes: np.ndarray | None = None
    coef: np.ndarray | None = None
    intercept: np.ndarray | None = None

    def predict(self, embeddings: np.ndarray) -> np.ndarray:
        """Probabilities (m, n_classes), rows summing to 1, each at least `floor`."""
        x = np.asarray(embeddings, dtype=np.float64)
        if x.ndim != 2:
            raise ValueError("embeddings must be a 2-D array (items, dimensions)")
        if not self.used or self.coef is None or self.intercept is None or self.classes is None:
            return np.full((x.shape[0], self.n_classes), 1.0 / self.n_classes)
        if x.shape[1] != self.coef.shape[1]:
            raise ValueError(
                f"embeddings have {x.shape[1]} dimensions, the prior was fitted on "
                f"{self.coef.shape[1]}"
            )
        seen = _linear_proba(x, self.coef, self.intercept)
        full = np.zeros((x.shape[0], self.n_classes))
        full[:, self.classes] = seen
        return _floored(full, self.floor)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types only: lists of floats, ints, strings."""
        return {
            "version": SERIAL_VERSION,
            "used": self.used,
            "reason": self.reason,
            "n_classes": self.n_classes,
            "metrics": dict(self.metrics),
            "floor": self.floor,
            "classes": None if self.classes is None else [int(c) for c in self.classes],
            "coef": None if self.coef is None else self.coef.tolist(),
            "intercept": None if self.intercept is None else self.intercept.tolist(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PriorFit:
        """The fit `to_dict` described; ValueError for anything else."""
        if data.get("version") != SERIAL_VERSION:
            raise ValueError(f"unknown prior format {data.get('version')!r}")
        fit = cls(
            used=bool(data["used"]),
            reason=str(data["reason"]),
            n_classes=int(data["n_classes"]),
            metrics=dict(data.get("metrics") or {}),
            floor=float(data["floor"]),
        )
        if data.get("coef") is not None:
            fit.classes = np.asarray(data["classes"], dtype=np.int64)
            fit.coef = np.asarray(data["coef"], dtype=np.float64)
            fit.intercept = np.asarray(data["intercept"], dtype=np.float64)
            rows = 1 if len(fit.classes) == 2 else len(fit.classes)
            if (
                fit.coef.ndim != 2
                or fit.coef.shape[0] != rows
                or fit.intercept.shape != (rows,)
                or fit.classes.min() < 0
                or fit.classes.max() >= fit.n_classes
            ):
                raise ValueError("prior parameters do not match its classes")
        elif fit.used:
            raise ValueError("a used prior needs its parameters")
        return fit


def prior_fit(
    embeddings: np.ndarray,
    labels: np.ndarray,
    n_classes: int,
    *,
    sample_weight: np.ndarray | None = None,
    seed: int = 0,
) -> PriorFit:
    """Fit the prior on items with known labels and decide whether it is worth using.

    `labels` are class indices in [0, n_classes); `sample_weight` (optional, >= 0)
    weighs items in training and in the held-out measures alike. A pure function of its
    inputs and `seed` (which shuffles the folds): the same call gives the same fit.
    Raises ValueError for inputs of the wrong shape or range.
    """
    x, y, w = _checked(embeddings, labels, n_classes, sample_weight)
    floor = min(PROBABILITY_FLOOR, 1.0 / (2 * n_classes))
    n = len(y)

    def unused(reason: str, metrics: dict[str, float | int | None] | None = None) -> PriorFit:
        return PriorFit(
            used=False,
            reason=reason,
            n_classes=n_classes,
            metrics=metrics or {"n_train": n},
            floor=floor,
        )

    if n < MIN_ITEMS:
        return unused(f"too few labelled items ({n} < {MIN_ITEMS})")
    counts = np.bincount(y, minlength=n_classes)
    learnable = int((counts >= MIN_ITEMS_PER_LABEL).sum())
    if learnable < MIN_LABELS:
        return unused(
            f"too few labels with {MIN_ITEMS_PER_LABEL} or more items ({learnable} < {MIN_LABELS})"
        )

    folds = _folds(y, seed)
    # (log-loss, accuracy, C) per C; the lowest log-loss wins, the smaller C on a tie.
    tried = [(*_heldout(x, y, w, folds, n_classes, floor, c), c) for c in C_GRID]
    model_logloss, model_accuracy, c = min(tried, key=lambda result: result[0])
    base_logloss, base_accuracy = _heldout(x, y, w, folds, n_classes, floor, None)
    gain = 1.0 - model_logloss / base_logloss if base_logloss > 0 else 0.0
    metrics: dict[str, float | int | None] = {
        "n_train": n,
        "heldout_logloss_model": model_logloss,
        "heldout_logloss_base": base_logloss,
        "heldout_accuracy_model": model_accuracy,
        "heldout_accuracy_base": base_accuracy,
        "relative_gain": gain,
        "C": c,
    }
    if gain < MIN_RELATIVE_GAIN:
        return unused(
            f"the model's held-out log-loss {model_logloss:.3f} does not beat the base "
            f"rate's {base_logloss:.3f} by {MIN_RELATIVE_GAIN:.0%}",
            metrics,
        )
    classes, coef, intercept = _train(x, y, w, c)
    return PriorFit(
        used=True,
        reason=(
            f"the model's held-out log-loss {model_logloss:.3f} beats the base rate's "
            f"{base_logloss:.3f} by {gain:.0%}"
        ),
        n_classes=n_classes,
        metrics=metrics,
        floor=floor,
        classes=classes,
        coef=coef,
        intercept=intercept,
    )


def _checked(
    embeddings: np.ndarray,
    labels: np.ndarray,
    n_classes: int,
    sample_weight: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if n_classes < 2:
        raise ValueError("a prior needs at least two classes")
    x = np.asarray(embeddings, dtype=np.float64)
    y_raw = np.asarray(labels)
    if x.ndim != 2 or y_raw.ndim != 1 or x.shape[0] != y_raw.shape[0]:
        raise ValueError("embeddings (n, d) and labels (n,) must describe the same items")
    if not np.all(np.isfinite(x)):
        raise ValueError("embeddings must be finite")
    if y_raw.size and not np.issubdtype(y_raw.dtype, np.integer):
        raise ValueError("labels must be integer class indices")
    y = y_raw.astype(np.int64)
    if y.size and (y.min() < 0 or y.max() >= n_classes):
        raise ValueError(f"labels must lie in [0, {n_classes})")
    if sample_weight is None:
        w = np.ones(len(y))
    else:
        w = np.asarray(sample_weight, dtype=np.float64)
        if w.shape != y.shape or not np.all(np.isfinite(w)) or np.any(w < 0):
            raise ValueError("sample_weight must be finite, >= 0, one per item")
        if y.size and w.sum() <= 0:
            raise ValueError("sample_weight must not be all zero")
    return x, y, w


def _folds(y: np.ndarray, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stratified folds; a label with fewer items than folds simply misses some."""
    from sklearn.model_selection import StratifiedKFold

    splitter = StratifiedKFold(n_splits=N_FOLDS, shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        # "The least populated class in y has only 2 members": expected for rare labels.
        warnings.filterwarnings("ignore", message="The least populated class", category=UserWarning)
        return list(splitter.split(np.zeros((len(y), 1)), y))


def _train(
    x: np.ndarray, y: np.ndarray, w: np.ndarray, c: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(classes seen, coef, intercept) of an L2 logistic regression (multinomial for more
    than two classes: lbfgs's default)."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=c, max_iter=MAX_ITER)
    with warnings.catch_warnings():
        # A fit that stops at MAX_ITER is still a usable, regularised model; the held-out
        # check judges it like any other.
        warnings.simplefilter("ignore", ConvergenceWarning)
        # scikit-learn 1.5 passes L-BFGS-B options that newer SciPy deprecates: its
        # business, repeated on every fit.
        warnings.filterwarnings(
            "ignore", message="scipy.optimize: The `disp` and `iprint`", category=DeprecationWarning
        )
        model.fit(x, y, sample_weight=w)
    return (
        np.asarray(model.classes_, dtype=np.int64),
        np.asarray(model.coef_, dtype=np.float64),
        np.asarray(model.intercept_, dtype=np.float64),
    )


def _heldout(
    x: np.ndarray,
    y: np.ndarray,
    w: np.ndarray,
    folds: list[tuple[np.ndarray, np.ndarray]],
    n_classes: int,
    floor: float,
    c: float | None,
) -> tuple[float, float]:
    """Weighted held-out (log-loss, accuracy) of the model with C=c, or of the base rate
    (each training fold's label frequencies) for c=None, floored as a used prior is."""
    losses = np.zeros(len(y))
    hits = np.zeros(len(y))
    for train, test in folds:
        probabilities = np.zeros((len(test), n_classes))
        if c is None:
            frequencies = np.bincount(y[train], weights=w[train], minlength=n_classes)
            probabilities[:] = frequencies / frequencies.sum()
        elif len(np.unique(y[train])) < 2:
            probabilities[:, y[train][0]] = 1.0  # one label only: nothing to fit
        else:
            classes, coef, intercept = _train(x[train], y[train], w[train], c)
            probabilities[:, classes] = _linear_proba(x[test], coef, intercept)
        probabilities = _floored(probabilities, floor)
        losses[test] = -np.log(probabilities[np.arange(len(test)), y[test]])
        hits[test] = probabilities.argmax(axis=1) == y[test]
    total = w.sum()
    return float((w * losses).sum() / total), float((w * hits).sum() / total)


def _linear_proba(x: np.ndarray, coef: np.ndarray, intercept: np.ndarray) -> np.ndarray:
    """Class probabilities of a logistic regression's parameters, as sklearn computes them."""
    logits = x @ coef.T + intercept
    if coef.shape[0] == 1:  # two classes: the logit of the second
        second = 1.0 / (1.0 + np.exp(-np.clip(logits[:, 0], -500, 500)))
        return np.column_stack([1.0 - second, second])
    logits -= logits.max(axis=1, keepdims=True)
    exp = np.exp(logits)
    return np.asarray(exp / exp.sum(axis=1, keepdims=True))


def _floored(probabilities: np.ndarray, floor: float) -> np.ndarray:
    """Mixed with the uniform distribution so that every class gets at least `floor`."""
    k = probabilities.shape[1]
    weight = max(0.0, 1.0 - k * floor)
    out = weight * probabilities + floor
    return np.asarray(out / out.sum(axis=1, keepdims=True))

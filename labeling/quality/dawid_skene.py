"""Dawid-Skene aggregation of classification answers: numpy only, no Django.

The model: item i has a true class z_i drawn from a prior (the learned class prior, or a
per-item prior from a model); worker w, shown an item whose truth is k, answers l with
probability ``confusion[w, k, l]``, independently of the other answers to that item.
EM alternates the posterior of every z_i (E-step, in log space) with smoothed (MAP)
estimates of the confusions and the class prior (M-step).

Two departures from the 1979 paper, both for workers with little history:

- A worker with fewer than ``one_coin_threshold(K)`` checked answers is modelled
  *one-coin*: one accuracy, errors spread evenly over the other classes.
- Every estimate carries pseudo-counts, so a worker with one answer, or a class a
  worker never saw, gets finite numbers strictly between 0 and 1 (see the constants).

Gold items are clamped to their gold label in every E-step: they teach the confusions
and are never re-estimated.

Only *checked* answers teach the confusions: those on an item with another answer or
gold, or every answer when a per-item prior (a model) is given. An answer alone on its
item can only confirm itself: counted, it would drive its worker's accuracy up round
after round, and with no overlap at all the confusions are not identifiable. Unchecked
answers are still labelled, and still count in the class prior.

Indexes are the caller's: items, workers and classes are 0..n-1. Vectorised throughout;
the only Python loops are over EM rounds. Memory is O(n_answers * K + n_workers * K^2).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

import numpy as np
import numpy.typing as npt

FloatArray: TypeAlias = npt.NDArray[np.float64]
IntArray: TypeAlias = npt.NDArray[np.int64]
BoolArray: TypeAlias = npt.NDArray[np.bool_]

# Workers with fewer checked answers (module docstring) than classes are modelled
# one-coin: they cannot have answered every true class once, so most rows of a full matrix
# would be pseudo-counts. Above that, CONFUSION_PSEUDO_ANSWERS pulls every sparse row
# towards the worker's own one-coin row, so the change from one model to the other is
# smooth. Chosen on the data (the crowd data's README): on Dog (K=4) a threshold of 2K^2
# (32) loses 3 of 807 items to crowd-kit, K (4) none; over 70 % subsamples 2K^2 loses ~4
# items on average, K ~1. On RTE (K=2) every worker has 20 answers or more, so no
# threshold up to 20 changes anything there.
ONE_COIN_ANSWERS_PER_CLASS = 1

# A worker's accuracy gets this many pseudo-answers at the crowd's mean accuracy: one
# answer moves a new worker's accuracy a third of the way from the crowd's towards 0 or 1.
ACCURACY_PSEUDO_ANSWERS = 2.0
# Every row of a full matrix gets this many pseudo-answers spread like the worker's own
# one-coin row: a class the worker never saw reads as their one-coin accuracy, and no
# entry is 0 or 1. Chosen on the data: with 0.5 or 1, refits warm-started from a fit on
# 90 % of the answers ended on other labels than a cold fit for 1.5-2.5 times as many
# items (EM has nearby optima; pseudo-counts smooth some away); with 4, Dog lost 4 items
# to crowd-kit. 2 keeps RTE's and Dog's accuracy at or above crowd-kit's, RTE's AUC 0.966.
CONFUSION_PSEUDO_ANSWERS = 2.0
# The crowd's mean accuracy gets this many pseudo-answers at PRIOR_ACCURACY: the accuracy
# of a worker in a project where nothing can be checked. 0.7 is what paid crowds manage:
# 73 % of RTE's answers are right, 70 % of Dog's. Irrelevant once there are checked answers.
CROWD_ACCURACY_PSEUDO_ANSWERS = 4.0
PRIOR_ACCURACY = 0.7
# Pseudo-items per class in the class prior (add-one): no class has prior 0.
CLASS_PRIOR_PSEUDO_ITEMS = 1.0
# A model's per-item prior is floored here (then renormalised): a model that says "never"
# must not veto a unanimous crowd, and log(0) would poison the sums.
ITEM_PRIOR_FLOOR = 1e-6
# Probabilities passed in (a warm start's, item_posterior's) are floored here for the same
# reason: stored values may have been rounded to 0.
PASSED_IN_FLOOR = 1e-9


def one_coin_threshold(n_classes: int) -> int:
    """Workers with fewer checked answers than this are modelled one-coin."""
    return ONE_COIN_ANSWERS_PER_CLASS * n_classes


# --- inputs ---------------------------------------------------------------------------------


def _index_array(name: str, values: object) -> IntArray:
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}")
    if array.size and not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"{name} must hold integers, got dtype {array.dtype}")
    return array.astype(np.int64, copy=False)


def _check_range(name: str, array: IntArray, size: int) -> None:
    if array.size and (array.min() < 0 or array.max() >= size):
        raise ValueError(
            f"{name} must lie in 0..{size - 1}, got values from {array.min()} to {array.max()}"
        )


def _check_count(name: str, value: object, minimum: int) -> None:
    if not isinstance(value, int | np.integer) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")


@dataclass(frozen=True, eq=False)
class Answers:
    """Every answer of a project as three parallel index arrays.

    Integer arrays of any width are accepted and stored as int64. A worker who answered
    the same item twice counts as two independent answers.
    """

    item: IntArray  # (n,) item index, 0..n_items-1
    worker: IntArray  # (n,) worker index, 0..n_workers-1
    label: IntArray  # (n,) answered class, 0..n_classes-1
    n_items: int
    n_workers: int
    n_classes: int

    def __post_init__(self) -> None:
        _check_count("n_items", self.n_items, 0)
        _check_count("n_workers", self.n_workers, 0)
        _check_count("n_classes", self.n_classes, 2)
        arrays = {}
        for name, size in (
            ("item", self.n_items),
            ("worker", self.n_workers),
            ("label", self.n_classes),
        ):
            array = _index_array(name, getattr(self, name))
            _check_range(name, array, size)
            arrays[name] = array
        lengths = {name: array.shape[0] for name, array in arrays.items()}
        if len(set(lengths.values())) != 1:
            raise ValueError(f"item, worker and label must have the same length, got {lengths}")
        for name, array in arrays.items():
            object.__setattr__(self, name, array)

    @property
    def n_answers(self) -> int:
        return int(self.item.shape[0])


@dataclass(frozen=True, eq=False)
class WarmStart:
    """A previous fit's parameters, already of the new shapes (see `warm_start_pad`).

    NaN marks what the previous fit did not know: a whole (K, K) block for a worker new
    since then, single rows or columns for a class added. `fit` fills each NaN from a
    one-coin guess against the majority vote and renormalises the rows.
    """

    confusion: FloatArray  # (n_workers, K, K), NaN where unknown
    class_prior: FloatArray  # (K,), NaN where unknown


@dataclass(frozen=True, eq=False)
class Fit:
    posteriors: FloatArray  # (n_items, K) P(true = k | all answers); gold items one-hot
    confusion: FloatArray  # (n_workers, K, K) P(answer = l | true = k); rows sum to 1
    class_prior: FloatArray  # (K,)
    one_coin: BoolArray  # (n_workers,) modelled with one accuracy (few checked answers)
    reliability: FloatArray  # (n_workers,) expected accuracy under the class prior
    answers_per_worker: IntArray  # (n_workers,)
    iterations: int  # EM rounds run (M-step then E-step)
    converged: bool  # the log-likelihood per answer moved less than tol in the last round
    log_likelihood: float  # log P(answers, gold labels | parameters), in nats

    @property
    def labels(self) -> IntArray:
        """The most probable class of every item (ties: the lowest class index)."""
        labels: IntArray = np.argmax(self.posteriors, axis=1).astype(np.int64)
        return labels

    def warm_start(self) -> WarmStart:
        """This fit's parameters as a warm start for a refit of the same shapes."""
        return WarmStart(confusion=self.confusion.copy(), class_prior=self.class_prior.copy())


@dataclass(frozen=True, eq=False)
class AnswerScores:
    agreement: FloatArray  # (n,) P(true = label_j | the item's other answers and prior)
    correct: FloatArray  # (n,) P(true = label_j | all answers of the item)


def _gold(
    gold_items: npt.ArrayLike | None,
    gold_labels: npt.ArrayLike | None,
    answers: Answers,
) -> tuple[IntArray, IntArray]:
    if gold_items is None and gold_labels is None:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    if gold_items is None or gold_labels is None:
        raise ValueError("gold_items and gold_labels must be given together")
    items = _index_array("gold_items", gold_items)
    labels = _index_array("gold_labels", gold_labels)
    if items.shape != labels.shape:
        raise ValueError(
            f"gold_items and gold_labels must have the same length, "
            f"got {items.shape[0]} and {labels.shape[0]}"
        )
    _check_range("gold_items", items, answers.n_items)
    _check_range("gold_labels", labels, answers.n_classes)
    if np.unique(items).shape[0] != items.shape[0]:
        raise ValueError("gold_items must not repeat an item")
    return items, labels


def _log_item_prior(item_prior: npt.ArrayLike | None, answers: Answers) -> FloatArray | None:
    """log of the per-item prior, floored and renormalised; None for the class prior."""
    if item_prior is None:
        return None
    prior = np.array(item_prior, dtype=np.float64)
    expected = (answers.n_items, answers.n_classes)
    if prior.shape != expected:
        raise ValueError(f"item_prior must have shape {expected}, got {prior.shape}")
    if not np.all(np.isfinite(prior)) or np.any(prior < 0):
        raise ValueError("item_prior must hold finite probabilities >= 0")
    if prior.size and not np.allclose(prior.sum(axis=1), 1.0, atol=1e-6):
        raise ValueError("every row of item_prior must sum to 1")
    prior = np.maximum(prior, ITEM_PRIOR_FLOOR)
    prior /= prior.sum(axis=1, keepdims=True)
    return np.log(prior)


def _check_confusion_shape(confusion: FloatArray, answers: Answers, what: str) -> None:
    expected = (answers.n_workers, answers.n_classes, answers.n_classes)
    if confusion.shape != expected:
        raise ValueError(f"{what} must have shape {expected}, got {confusion.shape}")


# --- the model --------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _Layout:
    """Index arrays computed once per fit and reused by every EM round."""

    answer_row: IntArray  # (n,) worker * K + label: the row of a (W*K, K) table
    item_cell: IntArray  # (n*K,) item * K + k, for the E-step's bincount
    worker_cell: IntArray  # (n*K,) (worker * K + k) * K + label, for the M-step's bincount
    answers_per_worker: IntArray  # (W,)
    checked: FloatArray | None  # (n,) 1.0 for checked answers, 0.0 others; None if all are
    checked_per_worker: FloatArray  # (W,)
    one_coin: BoolArray  # (W,)
    counted: BoolArray  # (n_items,) items answered or gold: those the class prior counts
    gold_items: IntArray
    gold_labels: IntArray


def _layout(
    answers: Answers, gold_items: IntArray, gold_labels: IntArray, *, all_checked: bool
) -> _Layout:
    k = answers.n_classes
    classes = np.arange(k, dtype=np.int64)
    item_cell = (answers.item[:, None] * k + classes).ravel()
    worker_cell = ((answers.worker[:, None] * k + classes) * k + answers.label[:, None]).ravel()
    per_worker = np.bincount(answers.worker, minlength=answers.n_workers).astype(np.int64)
    counted = np.zeros(answers.n_items, dtype=np.bool_)
    counted[answers.item] = True
    counted[gold_items] = True
    checked: FloatArray | None = None
    checked_per_worker = per_worker.astype(np.float64)
    if not all_checked:
        # Items whose answers can be checked against something: another answer, or gold.
        checkable = np.bincount(answers.item, minlength=answers.n_items) >= 2
        checkable[gold_items] = True
        is_checked = checkable[answers.item]
        if not is_checked.all():
            checked = is_checked.astype(np.float64)
            checked_per_worker = np.bincount(
                answers.worker, weights=checked, minlength=answers.n_workers
            ).astype(np.float64)
    return _Layout(
        answer_row=answers.worker * k + answers.label,
        item_cell=item_cell,
        worker_cell=worker_cell,
        answers_per_worker=per_worker,
        checked=checked,
        checked_per_worker=checked_per_worker,
        one_coin=checked_per_worker < one_coin_threshold(k),
        counted=counted,
        gold_items=gold_items,
        gold_labels=gold_labels,
    )


def _answer_table(confusion: FloatArray) -> FloatArray:
    """(W*K, K): row w*K + l holds confusion[w, :, l], P(w answers l | true = k) for all k.

    Laid out so one row gather per answer reads everything the E-step needs.
    """
    n_workers, k, _ = confusion.shape
    return np.ascontiguousarray(confusion.transpose(0, 2, 1)).reshape(n_workers * k, k)


def _item_log_joint(
    answers: Answers, layout: _Layout, log_table: FloatArray, log_prior: FloatArray
) -> FloatArray:
    """(n_items, K): log prior + sum over the item's answers of log P(answer | true = k)."""
    k = answers.n_classes
    per_answer = log_table[layout.answer_row]
    summed = np.bincount(
        layout.item_cell, weights=per_answer.ravel(), minlength=answers.n_items * k
    )
    return summed.reshape(answers.n_items, k) + log_prior


def _softmax_rows(log_values: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Rows normalised to probabilities, and each row's log-sum-exp."""
    top = log_values.max(axis=1, keepdims=True)
    scaled = np.exp(log_values - top)
    total = scaled.sum(axis=1, keepdims=True)
    return scaled / total, (top + np.log(total))[:, 0]


def _e_step(
    answers: Answers,
    layout: _Layout,
    confusion: FloatArray,
    log_prior: FloatArray,
) -> tuple[FloatArray, float]:
    """Posteriors of every item (gold clamped) and log P(answers, gold | parameters)."""
    log_joint = _item_log_joint(answers, layout, np.log(_answer_table(confusion)), log_prior)
    posteriors, log_evidence = _softmax_rows(log_joint)
    log_evidence[layout.gold_items] = log_joint[layout.gold_items, layout.gold_labels]
    _clamp_gold(posteriors, layout)
    return posteriors, float(log_evidence.sum())


def _clamp_gold(posteriors: FloatArray, layout: _Layout) -> None:
    posteriors[layout.gold_items] = 0.0
    posteriors[layout.gold_items, layout.gold_labels] = 1.0


def _one_coin_confusion(accuracy: FloatArray, n_classes: int) -> FloatArray:
    """(W, K, K): accuracy on the diagonal, the rest of each row spread evenly."""
    off = (1.0 - accuracy) / (n_classes - 1)
    confusion = np.repeat(off, n_classes * n_classes).reshape(-1, n_classes, n_classes)
    diagonal = np.arange(n_classes)
    confusion[:, diagonal, diagonal] = accuracy[:, None]
    return confusion


def _m_step(
    answers: Answers, layout: _Layout, posteriors: FloatArray, one_coin: BoolArray
) -> tuple[FloatArray, FloatArray]:
    """MAP confusions (one-coin where `one_coin`) and class prior given the posteriors."""
    k, n_workers = answers.n_classes, answers.n_workers
    # counts[w, k, l]: expected number of w's checked answers l to items whose truth is k.
    weights = posteriors[answers.item]
    if layout.checked is not None:
        weights = weights * layout.checked[:, None]
    counts = np.bincount(
        layout.worker_cell, weights=weights.ravel(), minlength=n_workers * k * k
    ).reshape(n_workers, k, k)
    right = np.einsum("wkk->w", counts)
    answered = layout.checked_per_worker
    crowd_accuracy = (right.sum() + CROWD_ACCURACY_PSEUDO_ANSWERS * PRIOR_ACCURACY) / (
        answered.sum() + CROWD_ACCURACY_PSEUDO_ANSWERS
    )
    accuracy = (right + ACCURACY_PSEUDO_ANSWERS * crowd_accuracy) / (
        answered + ACCURACY_PSEUDO_ANSWERS
    )
    confusion = _one_coin_confusion(accuracy, k)
    full = ~one_coin
    if full.any():
        rows = counts[full]
        confusion[full] = (rows + CONFUSION_PSEUDO_ANSWERS * confusion[full]) / (
            rows.sum(axis=2, keepdims=True) + CONFUSION_PSEUDO_ANSWERS
        )
    counted = posteriors[layout.counted]
    class_prior = (counted.sum(axis=0) + CLASS_PRIOR_PSEUDO_ITEMS) / (
        counted.shape[0] + k * CLASS_PRIOR_PSEUDO_ITEMS
    )
    return confusion, class_prior


def _vote_shares(answers: Answers, layout: _Layout) -> FloatArray:
    """(n_items, K) each item's share of votes per class (uniform if none), gold clamped."""
    k = answers.n_classes
    votes = np.bincount(answers.item * k + answers.label, minlength=answers.n_items * k)
    votes = votes.reshape(answers.n_items, k).astype(np.float64)
    total = votes.sum(axis=1, keepdims=True)
    shares: FloatArray = np.where(total > 0, votes / np.maximum(total, 1.0), 1.0 / k)
    _clamp_gold(shares, layout)
    return shares


def _normalise_rows(values: FloatArray, floor: float) -> FloatArray:
    floored = np.maximum(values, floor)
    normalised: FloatArray = floored / floored.sum(axis=-1, keepdims=True)
    return normalised


def _warm_parameters(
    init: WarmStart, answers: Answers, layout: _Layout, shares: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """The warm start's parameters, each NaN filled from a one-coin majority-vote guess."""
    confusion = np.array(init.confusion, dtype=np.float64)
    class_prior = np.array(init.class_prior, dtype=np.float64)
    _check_confusion_shape(confusion, answers, "init.confusion")
    if class_prior.shape != (answers.n_classes,):
        raise ValueError(
            f"init.class_prior must have shape ({answers.n_classes},), got {class_prior.shape}"
        )
    for name, values in (("init.confusion", confusion), ("init.class_prior", class_prior)):
        known = values[~np.isnan(values)]
        if not np.all(np.isfinite(known)) or np.any(known < 0):
            raise ValueError(f"{name} must hold probabilities >= 0 or NaN for unknown")
    unknown = np.isnan(confusion)
    prior_unknown = np.isnan(class_prior)
    if unknown.any() or prior_unknown.any():
        all_one_coin = np.ones(answers.n_workers, dtype=np.bool_)
        guess_confusion, guess_prior = _m_step(answers, layout, shares, all_one_coin)
        confusion[unknown] = guess_confusion[unknown]
        class_prior[prior_unknown] = guess_prior[prior_unknown]
    return _normalise_rows(confusion, PASSED_IN_FLOOR), _normalise_rows(
        class_prior, PASSED_IN_FLOOR
    )


def _reliability(confusion: FloatArray, class_prior: FloatArray) -> FloatArray:
    diagonal: FloatArray = np.einsum("wkk->wk", confusion)
    return diagonal @ class_prior


# --- public ---------------------------------------------------------------------------------


def fit(
    answers: Answers,
    *,
    gold_items: npt.ArrayLike | None = None,
    gold_labels: npt.ArrayLike | None = None,
    item_prior: npt.ArrayLike | None = None,
    init: WarmStart | None = None,
    max_iter: int = 100,
    tol: float = 1e-6,
) -> Fit:
    """Fit Dawid-Skene by EM; pure function of its arguments.

    `item_prior` (n_items, K), rows summing to 1, replaces the learned class prior in the
    E-step (the class prior is still learned and reported). `init` warm-starts from a
    previous fit (see `WarmStart`); without it EM starts from the majority vote.
    EM stops when the log-likelihood per answer moves less than `tol` in a round, or
    after `max_iter` rounds (`converged` False). Bad shapes or ranges raise ValueError.
    """
    _check_count("max_iter", max_iter, 0)
    gold_items_, gold_labels_ = _gold(gold_items, gold_labels, answers)
    log_item_prior = _log_item_prior(item_prior, answers)
    layout = _layout(answers, gold_items_, gold_labels_, all_checked=log_item_prior is not None)
    shares = _vote_shares(answers, layout)
    if init is None:
        confusion, class_prior = _m_step(answers, layout, shares, layout.one_coin)
    else:
        confusion, class_prior = _warm_parameters(init, answers, layout, shares)

    def log_prior_of(prior: FloatArray) -> FloatArray:
        return np.log(prior)[None, :] if log_item_prior is None else log_item_prior

    posteriors, log_likelihood = _e_step(answers, layout, confusion, log_prior_of(class_prior))
    scale = tol * max(answers.n_answers, 1)
    iterations, converged = 0, False
    while iterations < max_iter:
        confusion, class_prior = _m_step(answers, layout, posteriors, layout.one_coin)
        posteriors, new_log_likelihood = _e_step(
            answers, layout, confusion, log_prior_of(class_prior)
        )
        iterations += 1
        change = abs(new_log_likelihood - log_likelihood)
        log_likelihood = new_log_likelihood
        if change <= scale:
            converged = True
            break
    return Fit(
        posteriors=posteriors,
        confusion=confusion,
        class_prior=class_prior,
        one_coin=layout.one_coin,
        reliability=_reliability(confusion, class_prior),
        answers_per_worker=layout.answers_per_worker,
        iterations=iterations,
        converged=converged,
        log_likelihood=log_likelihood,
    )


def warm_start_pad(
    confusion: npt.ArrayLike, class_prior: npt.ArrayLike, n_workers: int, n_classes: int
) -> WarmStart:
    """A previous fit's parameters padded to a project that has grown.

    New workers (indexes past the old count) get an all-NaN block; for a class added
    (indexes past the old count) every worker's new row and new column are NaN, so `fit`
    fills them from the data. The class prior gives each new class an average share,
    1/n_classes, and scales the old classes to the rest. Raises ValueError if a size
    shrank: removed workers or classes need the caller's re-indexing, not padding.
    """
    old = np.asarray(confusion, dtype=np.float64)
    old_prior = np.asarray(class_prior, dtype=np.float64)
    if old.ndim != 3 or old.shape[1] != old.shape[2] or old_prior.shape != (old.shape[1],):
        raise ValueError(
            f"confusion must be (W, K, K) and class_prior (K,), got {old.shape} and "
            f"{old_prior.shape}"
        )
    old_workers, old_classes = old.shape[0], old.shape[1]
    if n_workers < old_workers or n_classes < old_classes:
        raise ValueError(
            f"cannot pad ({old_workers} workers, {old_classes} classes) down to "
            f"({n_workers}, {n_classes})"
        )
    padded = np.full((n_workers, n_classes, n_classes), np.nan)
    padded[:old_workers, :old_classes, :old_classes] = old
    prior = np.full(n_classes, 1.0 / n_classes)
    if old_classes:
        prior[:old_classes] = old_prior / old_prior.sum() * old_classes / n_classes
    return WarmStart(confusion=padded, class_prior=prior)


def item_posterior(labels: IntArray, confusions: FloatArray, prior: FloatArray) -> FloatArray:
    """One item's posterior (K,) from its answers' labels (m,), those workers' confusions
    (m, K, K) and the item's prior (K,). With no answers, the prior.

    The submit path calls this per answer (dynamic overlap), so it checks nothing beyond
    what numpy's indexing does; the arguments come from a `Fit`.
    """
    picked = confusions[np.arange(labels.shape[0]), :, labels]
    log_posterior = np.log(np.maximum(prior, PASSED_IN_FLOOR)) + np.log(
        np.maximum(picked, PASSED_IN_FLOOR)
    ).sum(axis=0)
    posterior = np.exp(log_posterior - log_posterior.max())
    result: FloatArray = posterior / posterior.sum()
    return result


def answer_scores(
    answers: Answers,
    fit: Fit,
    *,
    item_prior: npt.ArrayLike | None = None,
    gold_items: npt.ArrayLike | None = None,
    gold_labels: npt.ArrayLike | None = None,
) -> AnswerScores:
    """Per answer j, how likely its label is the truth, with and without its own vote.

    agreement[j]: P(true = label_j | the item's other answers, the prior), leave-one-out:
    the other workers' confusions weigh their votes; an item's only answer gets the
    prior's probability of its label. correct[j]: that leave-one-out posterior times
    the worker's own confusion column, normalised (Bayes), read at label_j; this is the
    item's full posterior of label_j. Gold answers score 1.0 or 0.0 by the gold label.
    The prior is `item_prior` if given, else the fit's class prior.
    """
    _check_confusion_shape(fit.confusion, answers, "fit.confusion")
    gold_items_, gold_labels_ = _gold(gold_items, gold_labels, answers)
    layout = _layout(answers, gold_items_, gold_labels_, all_checked=True)
    log_item_prior = _log_item_prior(item_prior, answers)
    log_prior = np.log(fit.class_prior)[None, :] if log_item_prior is None else log_item_prior
    table = _answer_table(fit.confusion)
    log_table = np.log(table)
    totals = _item_log_joint(answers, layout, log_table, log_prior)
    # Subtracting the answer's own term from its item's sum leaves the other answers.
    others, _ = _softmax_rows(totals[answers.item] - log_table[layout.answer_row])
    rows = np.arange(answers.n_answers)
    agreement = others[rows, answers.label]
    joint = others * table[layout.answer_row]
    correct = joint[rows, answers.label] / joint.sum(axis=1)
    if gold_items_.size:
        gold_of_item = np.full(answers.n_items, -1, dtype=np.int64)
        gold_of_item[gold_items_] = gold_labels_
        answer_gold = gold_of_item[answers.item]
        on_gold = answer_gold >= 0
        verdict = (answers.label == answer_gold).astype(np.float64)
        agreement[on_gold] = verdict[on_gold]
        correct[on_gold] = verdict[on_gold]
    return AnswerScores(agreement=agreement, correct=correct)

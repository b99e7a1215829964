"""Refitting a project: Dawid-Skene over every answer, the model prior, reputations.

A refit reads the project's answers into arrays, fits Dawid-Skene warm-started from the
last fit (gold items clamped to their answers), flags gold that reliable contributors
contradict, fits the model prior where the project has embeddings, and writes the
result in one short transaction: the project's fit, each contributor's confusion
matrix, reliability, gold record, behaviour and reputation, pauses, and the current
labels of decided items. It never changes a decision or moves money.

Refits run in Celery on the `quality` queue, when the answers have grown by a tenth
since the last fit (`project_refit_if_due`), and once more when the project completes
(`final`: each answer's final score is stored beside the one that decided it).
Two refits of one project may overlap; the one that writes second finds the fit
version moved and drops its result.
"""

import json
import logging
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import numpy as np
from django.db import connection, transaction
from django.db.models import Count, Q, TextField
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.translation import gettext

from config.enqueue import enqueue_on_commit
from labeling.models import (
    Assignment,
    ContributorQuality,
    Item,
    ItemEmbedding,
    Project,
    ProjectQuality,
    Submission,
)
from labeling.quality import behaviour as behaviour_signals
from labeling.quality import dawid_skene
from labeling.quality.scoring import item_scores
from labeling.task_types import task_type_get

log = logging.getLogger(__name__)

REFIT_GROWTH = 0.1  # refit once answers grew by this share since the last fit...
REFIT_MIN_NEW = 20  # ... and by at least this many
REFIT_STALE_SECONDS = 600  # any new answer is fitted within this (the periodic sweep)
# Gold is in doubt when, without its gold answer, the item's posterior gives the gold
# label less than this, from at least GOLD_DOUBT_MIN_ANSWERS answers of contributors
# whose fitted reliability is at least GOLD_DOUBT_RELIABLE.
GOLD_DOUBT_POSTERIOR = 0.1
GOLD_DOUBT_MIN_ANSWERS = 3
GOLD_DOUBT_RELIABLE = 0.7
PAUSE_MIN_GOLD = 5  # gold answers before a contributor can be paused for reputation
REPUTATION_GOLD_WEIGHT = 5  # gold answers at which gold and reliability weigh the same
PRIOR_CONFIDENT = 0.95  # aggregated items this sure train the prior beside gold


def project_refit_if_due(*, project_id: int) -> bool:
    """Enqueue a refit (after commit) when the answers grew enough since the last."""
    from labeling.tasks import project_refit_task

    fitted = (
        ProjectQuality.objects.filter(project_id=project_id)
        .values_list("answers_fitted", flat=True)
        .first()
    ) or 0
    answers = Submission.objects.filter(assignment__project_id=project_id).count()
    if answers - fitted < max(REFIT_MIN_NEW, REFIT_GROWTH * fitted):
        return False
    enqueue_on_commit(project_refit_task, project_id)
    return True


def projects_refit_sweep() -> int:
    """Periodic: for every active project, enqueue the embedding of items added since the
    last embedding, and a refit where one is due: the answers grew by a tenth, or any
    answer is newer than a fit older than REFIT_STALE_SECONDS (their tasks were lost, or
    the quality worker was down). Returns how many tasks it enqueued."""
    from django.conf import settings

    from labeling.tasks import items_embed_task, project_refit_task

    stale = timezone.now() - timedelta(seconds=REFIT_STALE_SECONDS)
    count = 0
    for project_id in Project.objects.filter(status=Project.Status.ACTIVE).values_list(
        "pk", flat=True
    ):
        quality = ProjectQuality.objects.filter(project_id=project_id).first()
        fitted = quality.answers_fitted if quality else 0
        through = quality.embedded_through_item if quality else 0
        if (
            settings.QUALITY_MODEL_ENABLED
            and Item.objects.filter(project_id=project_id, pk__gt=through).exists()
        ):
            enqueue_on_commit(items_embed_task, project_id)
            count += 1
        answers = Submission.objects.filter(assignment__project_id=project_id).count()
        grown = answers - fitted >= max(REFIT_MIN_NEW, REFIT_GROWTH * fitted)
        late = answers != fitted and (quality is None or (quality.fitted_at or stale) <= stale)
        if grown or late:
            enqueue_on_commit(project_refit_task, project_id)
            count += 1
    return count


@dataclass(frozen=True)
class _Data:
    """A project's answers as arrays, with the index maps back to rows."""

    categories: list[str]  # the labels, in the order of the answers' indices
    answers: dawid_skene.Answers
    submission_ids: np.ndarray  # (n,)
    times_ms: np.ndarray  # (n,) float, NaN when unknown
    item_ids: list[int]  # item index -> Item.pk
    contributor_ids: list[int]  # worker index -> user pk
    gold_index: np.ndarray  # item indices of unflagged gold
    gold_labels: np.ndarray


def _read(project: Project) -> _Data:
    task_type = task_type_get(project.task_type)
    # The answer as its JSON text: a categorical task has few distinct answers, each
    # parsed once below, instead of 25,000 JSON documents decoded for a big project.
    rows = list(
        Submission.objects.filter(
            assignment__project=project, assignment__status=Assignment.Status.SUBMITTED
        )
        .order_by("pk")
        .values_list(
            "pk",
            "assignment__item_id",
            "assignment__contributor_id",
            Cast("answer", output_field=TextField()),
            "time_on_task_ms",
        )
    )
    # Read after the answers, so that every label and item they use is known: labels
    # are only ever added, items only ever added.
    config = Project.objects.values_list("label_config", flat=True).get(pk=project.pk)
    categories = task_type.categories(config) or []
    items = list(
        Item.objects.filter(project=project)
        .order_by("pk")
        .values_list("pk", "is_gold", "gold_answer", "gold_flag")
    )
    item_index = {pk: i for i, (pk, *_rest) in enumerate(items)}
    contributor_ids = sorted({row[2] for row in rows})
    worker_index = {pk: i for i, pk in enumerate(contributor_ids)}
    n = len(rows)
    gold = [
        (item_index[pk], task_type.answer_category(config, answer))
        for pk, is_gold, answer, flag in items
        if is_gold and not flag
    ]
    category_of: dict[str, int] = {}
    for text in {r[3] for r in rows}:
        category_of[text] = task_type.answer_category(config, json.loads(text))
    return _Data(
        categories=categories,
        answers=dawid_skene.Answers(
            item=np.fromiter((item_index[r[1]] for r in rows), dtype=np.int64, count=n),
            worker=np.fromiter((worker_index[r[2]] for r in rows), dtype=np.int64, count=n),
            label=np.fromiter((category_of[r[3]] for r in rows), dtype=np.int64, count=n),
            n_items=len(items),
            n_workers=len(contributor_ids),
            n_classes=len(categories),
        ),
        submission_ids=np.fromiter((r[0] for r in rows), dtype=np.int64, count=n),
        times_ms=np.array([np.nan if r[4] is None else r[4] for r in rows], dtype=np.float64),
        item_ids=[pk for pk, *_rest in items],
        contributor_ids=contributor_ids,
        gold_index=np.array([g[0] for g in gold], dtype=np.int64),
        gold_labels=np.array([g[1] for g in gold], dtype=np.int64),
    )


def _warm_start(
    quality: ProjectQuality, data: _Data, categories: list[str]
) -> dawid_skene.WarmStart | None:
    if not quality.fit_version:
        return None
    stored = dict(
        ContributorQuality.objects.filter(
            project_id=quality.project_id, confusion__isnull=False
        ).values_list("contributor_id", "confusion")
    )
    old_k = len(quality.labels or [])
    if not stored or not old_k:
        return None
    confusion = np.full((data.answers.n_workers, old_k, old_k), np.nan)
    for index, contributor_id in enumerate(data.contributor_ids):
        matrix = stored.get(contributor_id)
        if matrix is not None and np.shape(matrix) == (old_k, old_k):
            confusion[index] = matrix
    prior = np.asarray(quality.class_prior, dtype=np.float64)
    return dawid_skene.warm_start_pad(confusion, prior, data.answers.n_workers, len(categories))


def _item_prior(quality: ProjectQuality, data: _Data, k: int) -> np.ndarray | None:
    """The model prior of every item with an embedding, where the project uses it."""
    if not quality.prior_used or not quality.prior:
        return None
    from labeling.quality.prior import PriorFit

    prior_fit = PriorFit.from_dict(quality.prior)
    vectors = _embeddings(quality, data)
    if not vectors:
        return None
    index = {pk: i for i, pk in enumerate(data.item_ids)}
    rows = [index[pk] for pk in vectors]
    predicted = prior_fit.predict(np.stack(list(vectors.values())))
    if predicted.shape[1] < k:
        predicted = np.hstack([predicted, np.full((len(rows), k - predicted.shape[1]), 0.01)])
    predicted = predicted[:, :k] / predicted[:, :k].sum(axis=1, keepdims=True)
    # Items without an embedding keep the label frequencies of the last fit.
    base = np.asarray(quality.class_prior, dtype=np.float64)
    base = base[:k] if base.size >= k else np.full(k, 1.0 / k)
    item_prior = np.tile(base / base.sum(), (len(data.item_ids), 1))
    item_prior[rows] = predicted
    return item_prior


def _embeddings(quality: ProjectQuality, data: _Data) -> dict[int, np.ndarray]:
    if not quality.model_sha256:
        return {}
    return {
        item_id: np.frombuffer(bytes(vector), dtype=np.float32)
        for item_id, vector in ItemEmbedding.objects.filter(
            item__project_id=quality.project_id, model_sha256=quality.model_sha256
        ).values_list("item_id", "vector")
    }


def _gold_doubts(data: _Data, fit: dawid_skene.Fit) -> dict[int, str]:
    """Gold items (index -> reason) whose gold answer the reliable contributors deny."""
    doubts: dict[int, str] = {}
    answers = data.answers
    for index, gold_label in zip(data.gold_index, data.gold_labels, strict=True):
        mask = answers.item == index
        workers = answers.worker[mask]
        reliable = fit.reliability[workers] >= GOLD_DOUBT_RELIABLE
        if reliable.sum() < GOLD_DOUBT_MIN_ANSWERS:
            continue
        labels = answers.label[mask][reliable]
        posterior = item_scores(labels, fit.confusion[workers[reliable]], fit.class_prior).posterior
        if posterior[gold_label] < GOLD_DOUBT_POSTERIOR:
            doubts[int(index)] = gettext(
                "%(count)s reliable contributors contradict the gold answer; the engine "
                "puts %(posterior).0f%% on it. Check it: it counts against nobody meanwhile."
            ) % {"count": int(reliable.sum()), "posterior": 100 * posterior[gold_label]}
    return doubts


def _prior_refit(
    quality: ProjectQuality, data: _Data, fit: dawid_skene.Fit, categories: list[str]
) -> dict[str, Any]:
    """Fit the model prior on gold and confidently aggregated items; the fields of
    ProjectQuality it sets."""
    from django.conf import settings

    from labeling.quality.prior import prior_fit

    if not settings.QUALITY_MODEL_ENABLED:
        return {
            "prior_used": False,
            "model_status": gettext(
                "the model is switched off (QUALITY_MODEL_ENABLED): scores rest on agreement "
                "and gold alone"
            ),
        }
    if not quality.model_sha256:
        # No item embedded yet: items_embed records the model it used, or why it could not
        # load one (model_status). The refit itself never loads the model: it runs in web
        # processes too (eager Celery), and it needs the vectors, not the encoder.
        return {
            "prior_used": False,
            "model_status": quality.model_status
            or gettext("no item has been embedded yet: no model prior"),
        }
    fields: dict[str, Any] = {}
    vectors = _embeddings(quality, data)
    if not vectors:
        fields.update(
            prior_used=False,
            model_status=gettext("no item has text to embed yet: no model prior"),
        )
        return fields
    index = {pk: i for i, pk in enumerate(data.item_ids)}
    answered = np.bincount(data.answers.item, minlength=data.answers.n_items)
    confident = (fit.posteriors.max(axis=1) >= PRIOR_CONFIDENT) & (answered >= 2)
    targets = fit.posteriors.argmax(axis=1)
    targets[data.gold_index] = data.gold_labels
    confident[data.gold_index] = True
    train = [pk for pk in vectors if confident[index[pk]]]
    result = prior_fit(
        np.stack([vectors[pk] for pk in train]) if train else np.zeros((0, 1), np.float32),
        np.array([targets[index[pk]] for pk in train], dtype=np.int64),
        len(categories),
    )
    fields.update(
        prior=result.to_dict(),
        prior_used=result.used,
        model_status=(
            gettext("the model prior is used: %(reason)s")
            if result.used
            else gettext("the model prior is not used: %(reason)s")
        )
        % {"reason": result.reason},
    )
    return fields


def project_refit(*, project_id: int, final: bool = False) -> ProjectQuality | None:
    """Refit the project's quality model and write what follows from it. Returns the
    new fit, or None when the task type is not categorical or a concurrent refit wrote
    first (a final refit then runs again, on the other's fit, until it writes)."""
    for _attempt in range(5 if final else 1):
        result = _project_refit_once(project_id=project_id, final=final)
        if result is not _LOST:
            return result if isinstance(result, ProjectQuality) else None
    return None


class _Lost:
    """A refit's answer when a concurrent refit wrote first."""


_LOST = _Lost()


def _project_refit_once(*, project_id: int, final: bool) -> ProjectQuality | _Lost | None:
    project = Project.objects.get(pk=project_id)
    categories = task_type_get(project.task_type).categories(project.label_config)
    if categories is None:
        return None
    quality, _ = ProjectQuality.objects.get_or_create(project=project)
    started = time.perf_counter()
    data = _read(project)
    categories = data.categories
    read_seconds = time.perf_counter() - started
    started = time.perf_counter()
    k = len(categories)
    fit_kwargs: dict[str, Any] = {
        "gold_items": data.gold_index,
        "gold_labels": data.gold_labels,
        "item_prior": _item_prior(quality, data, k),
    }
    # The final fit starts cold: EM settles in a local optimum, and a warm start can
    # settle in a nearby one that depends on the order answers came in. The labels a
    # dataset ships with are then a function of its answers alone, which anyone can
    # recompute from the export.
    warm = None if final else _warm_start(quality, data, categories)
    fit = dawid_skene.fit(data.answers, init=warm, **fit_kwargs)
    if data.gold_index.size:
        # Gold is judged by a fit that does not know it: clamped, a wrong gold answer
        # would teach the fit that the contributors who contradict it are wrong.
        blind = dawid_skene.fit(data.answers, init=warm, item_prior=fit_kwargs["item_prior"])
        doubts = _gold_doubts(data, blind)
    else:
        doubts = {}
    if doubts:
        keep = ~np.isin(data.gold_index, list(doubts))
        fit_kwargs.update(gold_items=data.gold_index[keep], gold_labels=data.gold_labels[keep])
        data = _Data(
            **{
                **data.__dict__,
                "gold_index": fit_kwargs["gold_items"],
                "gold_labels": fit_kwargs["gold_labels"],
            }
        )
        fit = dawid_skene.fit(
            data.answers,
            init=dawid_skene.WarmStart(confusion=fit.confusion, class_prior=fit.class_prior),
            **fit_kwargs,
        )
    fit_seconds = time.perf_counter() - started
    prior_fields = _prior_refit(quality, data, fit, categories)
    contributors = _contributor_rows(project, data, fit, doubts)
    timed = data.times_ms[~np.isnan(data.times_ms)]
    stats = {
        "iterations": fit.iterations,
        "converged": fit.converged,
        "log_likelihood": round(float(fit.log_likelihood), 4),
        "seconds": round(fit_seconds, 4),  # the fits (and the gold check), not the read
        "read_seconds": round(read_seconds, 4),
        "answers": int(data.answers.item.size),
        "contributors": data.answers.n_workers,
        "mean_reliability": round(float(fit.reliability.mean()), 4)
        if fit.reliability.size
        else None,
        "median_time_ms": float(np.median(timed))
        if timed.size >= behaviour_signals.MIN_PROJECT_TIMED
        else None,
        "gold_items": int(data.gold_index.size),
        "gold_flagged": len(doubts),
    }
    if stats["mean_reliability"] is None:
        del stats["mean_reliability"]
    with transaction.atomic(durable=True):
        locked = ProjectQuality.objects.select_for_update(no_key=True).get(pk=quality.pk)
        if locked.fit_version != quality.fit_version:
            log.info("refit of project %s lost to a concurrent one", project.public_id)
            return _LOST
        for name, value in prior_fields.items():
            setattr(locked, name, value)
        locked.fit_version += 1
        locked.fitted_at = timezone.now()
        locked.answers_fitted = int(data.answers.item.size)
        locked.labels = categories
        locked.class_prior = [round(float(p), 8) for p in fit.class_prior]
        locked.fit_stats = stats
        locked.save()
        _contributors_write(project, contributors)
        _labels_write(project, data, fit, categories, doubts)
        if final:
            _final_scores_write(data, fit, fit_kwargs["item_prior"])
    log.info(
        "project %s refit v%s: %s answers, %s contributors, %s iterations in %.3fs",
        project.public_id,
        locked.fit_version,
        stats["answers"],
        stats["contributors"],
        fit.iterations,
        fit_seconds,
    )
    return locked


def _contributor_rows(
    project: Project, data: _Data, fit: dawid_skene.Fit, doubts: dict[int, str]
) -> list[dict[str, Any]]:
    answers = data.answers
    k = answers.n_classes
    shares = fit.posteriors.mean(axis=0) if answers.n_items else np.full(k, 1.0 / k)
    gold_of = dict(zip(data.gold_index.tolist(), data.gold_labels.tolist(), strict=True))
    on_gold = np.isin(answers.item, data.gold_index)
    gold_right = np.zeros(answers.item.size, dtype=bool)
    if on_gold.any():
        expected = np.array([gold_of[i] for i in answers.item[on_gold]])
        gold_right[on_gold] = answers.label[on_gold] == expected
    skips = dict(
        Assignment.objects.filter(project=project)
        .values("contributor_id")
        .annotate(n=Count("pk"), skipped=Count("pk", filter=Q(status=Assignment.Status.SKIPPED)))
        .values_list("contributor_id", "skipped")
    )
    assigned = dict(
        Assignment.objects.filter(project=project)
        .values("contributor_id")
        .annotate(n=Count("pk"))
        .values_list("contributor_id", "n")
    )
    timed = data.times_ms[~np.isnan(data.times_ms)]
    median = float(np.median(timed)) if timed.size >= behaviour_signals.MIN_PROJECT_TIMED else None
    order = np.argsort(data.submission_ids, kind="stable")  # time order
    result = []
    for index, contributor_id in enumerate(data.contributor_ids):
        mine = order[answers.worker[order] == index]
        gold_mine = on_gold[mine]
        gold_answers = int(gold_mine.sum())
        gold_correct = int(gold_right[mine].sum())
        behaviour = behaviour_signals.contributor_behaviour(
            labels=answers.label[mine],
            times_ms=data.times_ms[mine],
            project_median_ms=median,
            project_label_shares=shares,
            assignments=assigned.get(contributor_id, 0),
            skips=skips.get(contributor_id, 0),
        )
        reliability = float(fit.reliability[index])
        reputation = _reputation(reliability, gold_answers, gold_correct)
        result.append(
            {
                "contributor_id": contributor_id,
                "answers": int(mine.size),
                "gold_answers": gold_answers,
                "gold_correct": gold_correct,
                "reliability": round(reliability, 6),
                "confusion": np.round(fit.confusion[index], 6).tolist(),
                "one_coin": bool(fit.one_coin[index]),
                "reputation": round(reputation, 6),
                "behaviour": behaviour.as_json(),
            }
        )
    return result


def _reputation(reliability: float, gold_answers: int, gold_correct: int) -> float:
    """Gold accuracy (smoothed) and Dawid-Skene reliability, weighed by gold evidence."""
    if not gold_answers:
        return reliability
    gold_accuracy = (gold_correct + 1) / (gold_answers + 2)
    weight = gold_answers / (gold_answers + REPUTATION_GOLD_WEIGHT)
    return weight * gold_accuracy + (1 - weight) * reliability


def _contributors_write(project: Project, rows: list[dict[str, Any]]) -> None:
    existing = {
        row.contributor_id: row for row in ContributorQuality.objects.filter(project=project)
    }
    now = timezone.now()
    written: list[ContributorQuality] = []
    for values in rows:
        row = existing.get(values["contributor_id"]) or ContributorQuality(
            project=project, contributor_id=values["contributor_id"]
        )
        for name, value in values.items():
            setattr(row, name, value)
        row.updated_at = now
        paused = (
            project.min_reputation > 0
            and row.gold_answers >= PAUSE_MIN_GOLD
            and (row.reputation or 0) < project.min_reputation
        )
        if paused and row.paused_at is None:
            row.paused_at = now
            row.pause_reason = gettext(
                "Your quality in this project (%(reputation).0f%%, from %(gold)s gold answers, "
                "%(correct)s right) is below the %(floor).0f%% it requires."
            ) % {
                "reputation": 100 * (row.reputation or 0),
                "gold": row.gold_answers,
                "correct": row.gold_correct,
                "floor": 100 * project.min_reputation,
            }
            log.info("contributor %s paused in project %s", row.contributor_id, project.pk)
        elif not paused and row.paused_at is not None:
            row.paused_at, row.pause_reason = None, ""
        row.pk = None  # written anew below
        written.append(row)
    # Every row changes at every refit: replacing them is one DELETE and one multi-row
    # INSERT, where bulk_update's CASE per field and row took 0.8 s for 250 contributors.
    # Readers see the old rows until this transaction commits.
    ContributorQuality.objects.filter(project=project).delete()
    ContributorQuality.objects.bulk_create(written, batch_size=1000)


def _labels_write(
    project: Project,
    data: _Data,
    fit: dawid_skene.Fit,
    categories: list[str],
    doubts: dict[int, str],
) -> None:
    """Current labels of decided items (their answers' decisions stay), and gold flags."""
    task_type = task_type_get(project.task_type)
    resolved = Item.objects.filter(project=project, status=Item.Status.RESOLVED, is_gold=False)
    index = {pk: i for i, pk in enumerate(data.item_ids)}
    answered = np.bincount(data.answers.item, minlength=data.answers.n_items)
    changed = []
    answers = [task_type.category_answer(project.label_config, k) for k in range(len(categories))]
    for pk, final_answer, old_confidence in resolved.values_list(
        "pk", "final_answer", "confidence"
    ):
        if pk not in index or not answered[index[pk]]:
            # Added after this refit read the project, or closed without answers.
            continue
        posterior = fit.posteriors[index[pk]]
        top = int(posterior.argmax())
        confidence = round(float(posterior[top]), 6)
        if answers[top] != final_answer or abs((old_confidence or 0) - confidence) > 1e-4:
            changed.append(Item(pk=pk, final_answer=answers[top], confidence=confidence))
    _labels_update(changed)
    for item_index, reason in doubts.items():
        Item.objects.filter(pk=data.item_ids[item_index], gold_flag="").update(
            gold_flag=reason[:300]
        )
        log.warning("gold item %s flagged: %s", data.item_ids[item_index], reason)


def _labels_update(items: list[Item]) -> None:
    """One parameterised UPDATE per item, sent as a batch (psycopg pipelines them):
    bulk_update's CASE over thousands of rows took most of a first refit's time."""
    if not items:
        return
    field = Item._meta.get_field("final_answer")
    table = connection.ops.quote_name(Item._meta.db_table)
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {table} SET final_answer = %s, confidence = %s WHERE id = %s",  # noqa: S608
            [
                (field.get_db_prep_value(item.final_answer, connection), item.confidence, item.pk)
                for item in items
            ],
        )


def _final_scores_write(data: _Data, fit: dawid_skene.Fit, item_prior: np.ndarray | None) -> None:
    """At completion: each answer's score under the final fit, beside the one that
    decided it (score_parts['final'])."""
    scores = dawid_skene.answer_scores(
        data.answers,
        fit,
        item_prior=item_prior,
        gold_items=data.gold_index,
        gold_labels=data.gold_labels,
    )
    by_id = dict(zip(data.submission_ids.tolist(), scores.correct.tolist(), strict=True))
    submissions = list(Submission.objects.filter(pk__in=list(by_id)).only("pk", "score_parts"))
    for submission in submissions:
        parts = dict(submission.score_parts or {})
        parts["final"] = round(by_id[submission.pk], 6)
        submission.score_parts = parts
    Submission.objects.bulk_update(submissions, ["score_parts"], batch_size=1000)

"""The quality engine on real crowdsourcing data, beside majority vote and crowd-kit.

    .venv/bin/python benchmarks/quality.py ../shared/data/crowd/rte
    .venv/bin/python benchmarks/quality.py ../shared/data/crowd/dog --targets 0.9,0.95,0.99

For each dataset (benchmarks/crowd.py reads both formats of ../shared/data/crowd), it
imports the items as a classification project, replays the real answers in time order
through the services (each worker a contributor; assignment_claim_item, then
assignment_submit with the real time on task), lets the engine score, decide, refit
and complete the project (Celery runs eagerly, in process), and reads labels and scores
back from the database. Gold answers are used to evaluate only, never given to the
engine. It prints:

- accuracy of the final labels against gold: the engine, majority vote and crowd-kit's
  Dawid-Skene on the same answers;
- ROC-AUC of the answers' scores at telling right answers from wrong ones: the score
  that decided each answer (at the time, from the fit of that moment), the final score
  (the last fit) and its agreement part, beside crowd-kit's posterior of the answer;
- dynamic overlap: accuracy against the share of the answers used, per target;
- throughput: answers through the services per second; submissions scored per second;
  items embedded per second by the pipeline (read, encode, write) beside the raw
  encoder's batched throughput on the same texts;
- the time to refit a project of 25,000 answers, beside crowd-kit.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

# Run as `python benchmarks/quality.py`, Python puts benchmarks/ first on sys.path, where
# queue.py would shadow the standard library's queue: the repository root instead.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

from benchmarks._common import bench_env, database_recreate, django_setup, log, manage  # noqa: E402
from benchmarks.crowd import Dataset, load  # noqa: E402


def _reference(ds: Dataset) -> dict[str, float]:
    """Majority vote and crowd-kit Dawid-Skene on the dataset's answers."""
    import pandas as pd
    from crowdkit.aggregation import DawidSkene, MajorityVote
    from sklearn.metrics import roc_auc_score

    frame = pd.DataFrame(
        [(a.item, a.worker, a.label) for a in ds.answers], columns=["task", "worker", "label"]
    )
    truth = pd.Series(ds.truth)
    started = time.perf_counter()
    ds_model = DawidSkene(n_iter=100)
    ds_labels = ds_model.fit_predict(frame)
    ds_seconds = time.perf_counter() - started
    mv_labels = MajorityVote().fit_predict(frame)
    proba = ds_model.probas_
    own = [proba.at[a.item, a.label] for a in ds.answers if a.item in ds.truth]
    right = [a.label == ds.truth[a.item] for a in ds.answers if a.item in ds.truth]
    common = truth.index.intersection(ds_labels.index)
    return {
        "mv_accuracy": float((mv_labels.loc[common] == truth.loc[common]).mean()),
        "ds_accuracy": float((ds_labels.loc[common] == truth.loc[common]).mean()),
        "ds_auc": float(roc_auc_score(right, own)),
        "ds_seconds": ds_seconds,
    }


def _replay(ds: Dataset, *, minimum: int, maximum: int, target: float, tag: str) -> dict:
    """Run the dataset through the services as a project; the figures read back."""
    from django.contrib.auth import get_user_model
    from sklearn.metrics import roc_auc_score

    from labeling.errors import ItemNotAvailableError
    from labeling.models import Item, Submission
    from labeling.services.projects import project_close, project_create, project_publish
    from labeling.services.queue import assignment_claim_item, assignment_submit
    from marketplace.services.imports import Row, items_import
    from payouts.money import near_to_yocto
    from tests.factories import escrow_fund

    users = get_user_model().objects
    owner = users.create_user(username=f"requester-{tag}")
    project = project_create(
        owner=owner,
        title=f"{ds.name} ({tag})",
        task_type="classification",
        label_config={"labels": ds.labels},
        reward_per_answer=near_to_yocto("0.001"),
        answers_per_item=maximum,
        min_answers_per_item=minimum,
        target_confidence=target,
        gold_rate=0.0,
    )
    rows = [
        Row(line=i, external_id=key, data=data) for i, (key, data) in enumerate(ds.items.items(), 1)
    ]
    started = time.perf_counter()
    items_import(project=project, rows=iter(rows))
    import_seconds = time.perf_counter() - started
    escrow_fund(project)
    project = project_publish(project=project)
    from django.conf import settings

    if settings.QUALITY_MODEL_ENABLED:  # as the periodic sweep does without a broker
        from labeling.services.quality import items_embed

        items_embed(project_id=project.pk)
    item_pk = dict(Item.objects.filter(project=project).values_list("external_id", "pk"))
    contributors = {}
    for worker in sorted({a.worker for a in ds.answers}):
        contributors[worker] = users.create_user(username=f"{tag}-{worker}"[:150])
    used = refused = 0
    started = time.perf_counter()
    for answer in ds.answers:
        user = contributors[answer.worker]
        try:
            assignment = assignment_claim_item(
                project=project, contributor=user, item_id=item_pk[answer.item]
            )
        except ItemNotAvailableError:
            refused += 1  # the item needed no more answers: dynamic overlap saved this one
            continue
        assignment_submit(
            public_id=assignment.public_id,
            contributor=user,
            answer={"label": answer.label},
            time_on_task_ms=answer.duration_ms,
        )
        used += 1
    replay_seconds = time.perf_counter() - started
    started = time.perf_counter()
    project_close(project=project)
    close_seconds = time.perf_counter() - started
    project.refresh_from_db()
    labels = dict(
        Item.objects.filter(project=project).values_list("external_id", "final_answer__label")
    )
    scored = list(
        Submission.objects.filter(assignment__project=project).values_list(
            "assignment__item__external_id", "answer__label", "score", "score_parts", "status"
        )
    )
    evaluated = [key for key in ds.truth if key in labels]
    accuracy = sum(labels[k] == ds.truth[k] for k in evaluated) / len(evaluated)
    right = [label == ds.truth[key] for key, label, *_ in scored if key in ds.truth]

    def auc(values: list[float]) -> float:
        return float(roc_auc_score(right, values)) if len(set(right)) == 2 else float("nan")

    in_truth = [row for row in scored if row[0] in ds.truth]
    statuses: dict[str, int] = {}
    for *_rest, status in scored:
        statuses[status] = statuses.get(status, 0) + 1
    return {
        "project": project,
        "accuracy": accuracy,
        "used": used,
        "share": used / len(ds.answers),
        "refused": refused,
        "auc_decided": auc([row[2] for row in in_truth]),
        "auc_final": auc([row[3].get("final", row[2]) for row in in_truth]),
        "auc_agreement": auc([row[3].get("agreement", row[2]) for row in in_truth]),
        "import_seconds": import_seconds,
        "replay_seconds": replay_seconds,
        "close_seconds": close_seconds,
        "statuses": statuses,
        "status": project.status,
    }


def _scoring_rate(project) -> tuple[int, float]:
    """Submissions scored per second by the engine's scoring, read-only, every item."""
    from labeling.models import Assignment, Item, Submission
    from labeling.services.quality import submissions_score
    from labeling.services.quality.state import quality_state

    state = quality_state(project=project)
    items = list(Item.objects.filter(project=project, is_gold=False))
    count = 0
    started = time.perf_counter()
    for item in items:
        submissions = list(
            Submission.objects.filter(
                assignment__item=item, assignment__status=Assignment.Status.SUBMITTED
            ).select_related("assignment")
        )
        if submissions:
            submissions_score(state=state, item=item, submissions=submissions)
            count += len(submissions)
    return count, time.perf_counter() - started


def _embedding_rates(ds: Dataset) -> tuple[int, float, float] | None:
    """(texts, pipeline items/s, raw encoder texts/s) on the dataset's item texts."""
    from django.contrib.auth import get_user_model

    from labeling.models import ItemEmbedding
    from labeling.quality.encoder import encoder, item_text
    from labeling.services.projects import project_create
    from labeling.services.quality import items_embed
    from marketplace.services.imports import Row, items_import
    from payouts.money import near_to_yocto

    texts = [item_text(data) for data in ds.items.values()]
    texts = [t for t in texts if t]
    if not texts:
        return None
    model = encoder()
    model.embed(texts[:64])  # warm
    started = time.perf_counter()
    model.embed(texts)
    raw = len(texts) / (time.perf_counter() - started)
    owner = get_user_model().objects.create_user(username=f"embed-{ds.name}")
    project = project_create(
        owner=owner,
        title="embedding",
        task_type="classification",
        label_config={"labels": ds.labels},
        reward_per_answer=near_to_yocto("0.001"),
    )
    rows = [Row(line=i, external_id=k, data=d) for i, (k, d) in enumerate(ds.items.items(), 1)]
    from django.conf import settings

    settings.QUALITY_MODEL_ENABLED = False  # the import's own task would embed them first
    items_import(project=project, rows=iter(rows))
    settings.QUALITY_MODEL_ENABLED = True
    started = time.perf_counter()
    done = items_embed(project_id=project.pk)
    pipeline = done / (time.perf_counter() - started)
    assert ItemEmbedding.objects.filter(item__project=project).count() == done
    return len(texts), pipeline, raw


def _refit_25k() -> dict[str, float]:
    """benchmarks.crowd_data's synthetic set (2,500 items x 10 answers, 250 workers of
    varied confusions, 4 labels) written straight to the tables as a project's answers,
    then refit end to end, cold and warm, beside crowd-kit on the same answers."""
    from crowdkit.aggregation import DawidSkene
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from benchmarks.crowd_data import synthetic
    from labeling.models import Assignment, Item, ProjectQuality, Submission
    from labeling.services.quality import project_refit
    from tests.factories import ProjectFactory

    syn = synthetic()
    answers = syn.answers
    labels = [f"l{i}" for i in range(answers.n_classes)]
    project = ProjectFactory(label_config={"labels": labels}, answers_per_item=10)
    users = get_user_model().objects.bulk_create(
        [get_user_model()(username=f"syn-{i}") for i in range(answers.n_workers)]
    )
    items = Item.objects.bulk_create(
        [
            Item(project=project, data={"n": i}, status=Item.Status.RESOLVED)
            for i in range(answers.n_items)
        ]
    )
    now = timezone.now()
    assignments = [
        Assignment(
            project=project,
            item=items[i],
            contributor=users[w],
            status=Assignment.Status.SUBMITTED,
            expires_at=now,
        )
        for i, w in zip(answers.item.tolist(), answers.worker.tolist(), strict=True)
    ]
    Assignment.objects.bulk_create(assignments, batch_size=5000)
    Submission.objects.bulk_create(
        [
            Submission(assignment=a, answer={"label": labels[label]}, status="accepted")
            for a, label in zip(assignments, answers.label.tolist(), strict=True)
        ],
        batch_size=5000,
    )
    timings = {}
    for run in ("cold", "warm"):
        started = time.perf_counter()
        project_refit(project_id=project.pk)
        timings[f"refit_{run}"] = time.perf_counter() - started
        timings[f"fit_{run}"] = ProjectQuality.objects.get(project=project).fit_stats["seconds"]
    started = time.perf_counter()
    DawidSkene(n_iter=100).fit_predict(syn.frame())
    timings["crowdkit"] = time.perf_counter() - started
    return {"answers": answers.n_answers, **timings}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="+", help="datasets (directories or CSV files)")
    parser.add_argument(
        "--database-url", default="postgres://postgres@127.0.0.1:5432/nearlabel_bench_quality"
    )
    parser.add_argument("--targets", default="0.95,0.99", help="dynamic overlap targets")
    parser.add_argument("--min-answers", type=int, default=3)
    parser.add_argument("--no-model", action="store_true", help="run with the model switched off")
    parser.add_argument("--skip-refit", action="store_true")
    args = parser.parse_args()

    database_recreate(args.database_url)
    var = Path(tempfile.mkdtemp(prefix="nearlabel-bench-quality-"))
    env = bench_env(
        database_url=args.database_url,
        var_dir=var,
        QUALITY_MODEL_ENABLED="0" if args.no_model else "1",
        HF_HUB_OFFLINE="1",
    )
    env.pop("REDIS_URL", None)  # Celery eager: the engine runs in this process
    os.environ.pop("REDIS_URL", None)
    manage(["migrate", "--noinput", "-v", "0"], env)
    django_setup(env)

    from labeling.quality.encoder import model_info

    if not args.no_model:
        info = model_info()
        print(f"model: {info.name} {info.version} sha256 {info.sha256[:16]}...")
    targets = [float(t) for t in args.targets.split(",") if t]
    for path in args.paths:
        ds = load(path)
        log(ds.describe())
        print(f"\n== {ds.describe()}")
        ref = _reference(ds)
        per_item = Counter(a.item for a in ds.answers)
        maximum = max(per_item.values())
        full = _replay(ds, minimum=maximum, maximum=maximum, target=1.0, tag=f"{ds.name}-full")
        print(
            f"accuracy vs gold: engine {full['accuracy']:.4f}   majority vote "
            f"{ref['mv_accuracy']:.4f}   crowd-kit Dawid-Skene {ref['ds_accuracy']:.4f}"
        )
        print(
            f"ROC-AUC right vs wrong answers: engine score at decision {full['auc_decided']:.3f}"
            f"   final score {full['auc_final']:.3f}   agreement (own vote out) "
            f"{full['auc_agreement']:.3f}   crowd-kit DS posterior {ref['ds_auc']:.3f}"
        )
        print(f"decisions: {full['statuses']}   project {full['status']}")
        print(
            f"replay: {full['used']} answers in {full['replay_seconds']:.1f} s = "
            f"{full['used'] / full['replay_seconds']:.0f} answers/s through claim + submit + "
            f"score + decide + refits (close {full['close_seconds']:.1f} s)"
        )
        count, seconds = _scoring_rate(full["project"])
        print(f"scoring: {count} submissions in {seconds:.2f} s = {count / seconds:.0f}/s")
        if not args.no_model:
            rates = _embedding_rates(ds)
            if rates is None:
                print("embedding: the items carry no text (no model prior for this dataset)")
            else:
                texts, pipeline, raw = rates
                print(
                    f"embedding {texts} texts: pipeline (read, encode, write) {pipeline:.0f} "
                    f"items/s, raw encoder {raw:.0f} texts/s: {pipeline / raw:.0%}"
                )
        quality = full["project"].quality
        print(f"model prior: {quality.model_status}")
        print("dynamic overlap (min answers, target): accuracy, share of answers used")
        for target in targets:
            run = _replay(
                ds,
                minimum=min(args.min_answers, maximum),
                maximum=maximum,
                target=target,
                tag=f"{ds.name}-t{target}",
            )
            print(
                f"  min {args.min_answers}, target {target}: accuracy {run['accuracy']:.4f} "
                f"with {run['share']:.0%} of the answers ({run['used']} of {len(ds.answers)}); "
                f"crowd-kit DS on all: {ref['ds_accuracy']:.4f}"
            )
    if not args.skip_refit:
        refit = _refit_25k()
        print(
            f"\nrefit of {refit['answers']} answers (2,500 items, 250 workers, 4 labels): "
            f"end to end cold {refit['refit_cold']:.2f} s (fit {refit['fit_cold']:.3f} s), "
            f"warm {refit['refit_warm']:.2f} s (fit {refit['fit_warm']:.3f} s); crowd-kit DS "
            f"{refit['crowdkit']:.2f} s: fit {refit['crowdkit'] / refit['fit_warm']:.0f}x faster"
        )


if __name__ == "__main__":
    main()

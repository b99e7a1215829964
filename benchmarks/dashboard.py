"""Benchmark: the project page over a project of 100,000 answers.

    .venv/bin/python benchmarks/dashboard.py [--answers 100000] [--contributors 500]

What it does (prints figures, asserts nothing):

1. Drops, recreates and migrates the benchmark database (its name must contain "bench"),
   and seeds one project with bulk inserts: --answers answers, three per item, from
   --contributors contributors over the last 20 days, most decided, some in review, with
   final labels, scores and a standing for each contributor.
2. Times each read of the page (the figures, the two time series, the confusion matrix,
   the quality and the leaderboard), then the whole page and the polled figures as the
   owner's browser gets them (Django's test client in this process, debug off), and
   the review queue. Each is run --repeat times; the table shows the median and the
   slowest, and the number of queries of one run.
"""

from __future__ import annotations

import sys
from pathlib import Path

_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

import argparse  # noqa: E402
import random  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from datetime import timedelta  # noqa: E402
from typing import Any  # noqa: E402

from benchmarks._common import (  # noqa: E402
    bench_env,
    database_recreate,
    django_setup,
    log,
    manage,
    table,
)

DATABASE_URL = "postgres://postgres@127.0.0.1:5432/nearlabel_dashboard_bench"
LABELS = ["cat", "dog", "bird", "fish"]


def seed(*, answers: int, contributors: int) -> Any:
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from labeling.models import Assignment, ContributorQuality, Item, Project, Submission
    from payouts.money import near_to_yocto

    rng = random.Random(8)
    user_model = get_user_model()
    owner = user_model.objects.create_user(username="owner", password="x")  # noqa: S106
    now = timezone.now()
    project = Project.objects.create(
        owner=owner,
        title="Benchmark",
        task_type="classification",
        label_config={"labels": LABELS},
        reward_per_answer=near_to_yocto("0.01"),
        platform_fee_bps=1000,
        status=Project.Status.ACTIVE,
        published_at=now - timedelta(days=20),
    )
    users = user_model.objects.bulk_create(
        [user_model(username=f"c{n}") for n in range(contributors)]
    )
    n_items = answers // 3
    span = timedelta(days=20).total_seconds()
    items = []
    for n in range(n_items):
        truth = rng.choice(LABELS)
        at = now - timedelta(seconds=span * (1 - n / n_items))
        items.append(
            Item(
                project=project,
                data={"text": f"item {n}"},
                status=Item.Status.RESOLVED,
                final_answer={"label": truth},
                resolved_at=at,
            )
        )
    items = Item.objects.bulk_create(items, batch_size=5000)
    log(f"{len(items)} items")
    assignments, picks = [], []
    for item in items:
        for user in rng.sample(users, 3):
            assignments.append(
                Assignment(
                    project=project,
                    item=item,
                    contributor=user,
                    status=Assignment.Status.SUBMITTED,
                    expires_at=now,
                )
            )
            right = rng.random() < 0.8
            picks.append(item.final_answer if right else {"label": rng.choice(LABELS)})
    assignments = Assignment.objects.bulk_create(assignments, batch_size=5000)
    log(f"{len(assignments)} assignments")
    submissions = []
    for assignment, answer in zip(assignments, picks, strict=True):
        score = rng.random()
        status = (
            Submission.Status.ACCEPTED
            if score >= 0.5
            else Submission.Status.REJECTED
            if score < 0.2
            else Submission.Status.REVIEW
        )
        submissions.append(
            Submission(assignment=assignment, answer=answer, status=status, score=score)
        )
    Submission.objects.bulk_create(submissions, batch_size=5000)
    # Answers arrived over the 20 days, like their items.
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE labeling_submission s SET created_at = i.resolved_at "
            "FROM labeling_assignment a JOIN labeling_item i ON i.id = a.item_id "
            "WHERE a.id = s.assignment_id"
        )
        cursor.execute("ANALYZE")
    ContributorQuality.objects.bulk_create(
        [
            ContributorQuality(
                project=project,
                contributor=user,
                answers=1,
                reputation=rng.random(),
                reliability=rng.random(),
            )
            for user in users
        ]
    )
    log(f"{len(submissions)} submissions")
    return project


def timed(fn: Any, repeat: int) -> tuple[float, float, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    times = []
    queries = 0
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as captured:
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        queries = len(captured.captured_queries)
    return statistics.median(times), max(times), queries


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--answers", type=int, default=100_000)
    parser.add_argument("--contributors", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--database-url", default=DATABASE_URL)
    parser.add_argument("--reuse", action="store_true", help="keep the last run's database")
    args = parser.parse_args()

    env = bench_env(
        database_url=args.database_url,
        var_dir=Path(tempfile.mkdtemp(prefix="nearlabel-bench-dashboard-")),
        ALLOWED_HOSTS="testserver",
    )
    if not args.reuse:
        log(f"recreating and migrating {args.database_url}")
        database_recreate(args.database_url)
        manage(["migrate", "--noinput", "-v", "0"], env)
    django_setup(env)

    from django.test import Client, override_settings

    from labeling import selectors
    from labeling.models import Project

    # Pages name their static files without the manifest `collectstatic` would write.
    override_settings(
        STORAGES={
            "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        }
    ).enable()
    if args.reuse:
        project = Project.objects.order_by("-pk").first()
        assert project is not None, "nothing to reuse: run without --reuse first"
    else:
        project = seed(answers=args.answers, contributors=args.contributors)
    client = Client()
    client.force_login(project.owner)
    page = f"/projects/{project.public_id}/"

    def get(path: str, **headers: str) -> None:
        response = client.get(path, headers=headers)
        if response.status_code != 200:
            raise SystemExit(f"{path}: {response.status_code}")

    quality = selectors.project_quality(project=project)
    rows = []
    for name, fn in [
        ("project_figures", lambda: selectors.project_figures(project=project)),
        ("project_decided_series", lambda: selectors.project_decided_series(project=project)),
        ("project_answers_series", lambda: selectors.project_answers_series(project=project)),
        ("project_confusion", lambda: selectors.project_confusion(project=project)),
        ("project_quality", lambda: selectors.project_quality(project=project)),
        (
            "project_leaderboard",
            lambda: selectors.project_leaderboard(
                project=project, standings=quality["contributors"]
            ),
        ),
        ("GET the page", lambda: get(page)),
        ("GET the figures (htmx)", lambda: get(f"{page}figures/", HX_Request="true")),
        ("GET the review queue", lambda: get(f"{page}review/")),
    ]:
        median, slowest, queries = timed(fn, args.repeat)
        rows.append((name, f"{median * 1000:.0f}", f"{slowest * 1000:.0f}", queries))
        log(f"{name}: {median * 1000:.0f} ms")
    print(f"The project page, {args.answers} answers, {args.contributors} contributors")
    print(table(["read", "median ms", "slowest ms", "queries"], rows))


if __name__ == "__main__":
    main()

"""Benchmark: the assignment queue (next + submit) over HTTP, against raw psycopg.

    .venv/bin/python benchmarks/queue.py [--items 10000] [--duration 15] [--levels 1,10,50]

What it does (prints figures, asserts nothing):

1. Drops and recreates the benchmark database (its name must contain "bench"), migrates it
   with `manage.py migrate`, and seeds it in this process: one requester, one active
   project with --items items and --answers-per-item overlap, its escrow funded, and
   --contributors users with DRF tokens.
2. Baseline: for each level N, N threads with one psycopg connection each run the SQL
   statements the queue service runs per claim + submit (labeling/services/queue.py),
   with nothing else around them (no HTTP, no auth, no serializers, no ORM).
3. App: gunicorn serves config.wsgi as in production (DJANGO_DEBUG=0); N asyncio
   "contributors" in this process loop GET /api/projects/{id}/next then
   POST /api/assignments/{id}/submit over keep-alive connections (httpx2).

The queue state (assignments, submissions, events, item status) is reset before every
run, so each level starts from the same 10,000 open items. Each run has a warm-up, then a
fixed measured window, and a bound on round trips, so it always ends.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as `python benchmarks/queue.py`, Python puts benchmarks/ first on sys.path, where
# this file would shadow the standard library's `queue` (and payouts.py the `payouts`
# app). Put the project root there instead, before anything imports `queue`.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

import argparse  # noqa: E402
import asyncio  # noqa: E402
import collections  # noqa: E402
import random  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from datetime import UTC, datetime, timedelta  # noqa: E402
from typing import Any  # noqa: E402

from benchmarks._common import (  # noqa: E402
    DEFAULT_DATABASE_URL,
    PYTHON,
    Child,
    bench_env,
    children,
    cpu_sample,
    cpu_share,
    database_recreate,
    django_setup,
    free_port,
    log,
    manage,
    ms,
    percentile,
    spawn,
    table,
    wait_until,
)

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/13"
LABELS = ("cat", "dog", "bird")


@dataclass(frozen=True)
class Seed:
    project_pk: int
    project_public_id: str
    answers_per_item: int
    reservation_seconds: int
    contributors: list[tuple[int, str]]  # (user id, token key)


@dataclass
class RunResult:
    """One run (raw or app) at one concurrency level, measured window only."""

    kind: str
    level: int
    duration: float  # seconds of the measured window
    round_trips: list[float] = field(default_factory=list)  # seconds, next start -> submit end
    nexts: list[float] = field(default_factory=list)  # seconds per claim (request / txn)
    submits: list[float] = field(default_factory=list)
    errors: collections.Counter[str] = field(default_factory=collections.Counter)
    empty: int = 0  # 204 / no item left for that contributor
    cpu: tuple[int, int, int] = (0, 0, 0)  # % of one core: client, server tree, postgres

    @property
    def rate(self) -> float:
        return len(self.round_trips) / self.duration if self.duration else 0.0


# --- seeding (Django, in this process) -----------------------------------------------------


def seed(*, items: int, answers_per_item: int, contributors: int) -> Seed:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.db import connection
    from rest_framework.authtoken.models import Token

    from labeling.models import Item
    from tests.factories import ProjectFactory, UserFactory, escrow_fund

    user_model = get_user_model()
    requester = UserFactory(username="bench-requester")
    project = ProjectFactory(
        owner=requester, title="Queue benchmark", answers_per_item=answers_per_item
    )
    Item.objects.bulk_create(
        (Item(project=project, data={"text": f"item {n}"}) for n in range(items)),
        batch_size=2000,
    )
    escrow_fund(project)
    unusable = make_password(None)  # no hashing cost: the benchmark authenticates by token
    users = user_model.objects.bulk_create(
        [
            user_model(username=f"bench-contributor-{n}", password=unusable)
            for n in range(contributors)
        ]
    )
    tokens = Token.objects.bulk_create([Token(key=Token.generate_key(), user=u) for u in users])
    result = Seed(
        project_pk=project.pk,
        project_public_id=str(project.public_id),
        answers_per_item=project.answers_per_item,
        reservation_seconds=project.reservation_seconds,
        contributors=[(t.user.pk, t.key) for t in tokens],
    )
    connection.close()  # hold no connection while the benchmark runs
    return result


def queue_reset(database_url: str, project_pk: int) -> None:
    """Back to every item open and no assignment, then fresh planner statistics."""
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            "TRUNCATE labeling_assignmentevent, labeling_submission, labeling_assignment"
            " RESTART IDENTITY"
        )
        conn.execute(
            "UPDATE labeling_item SET status = 'open', final_answer = NULL,"
            " confidence = NULL, resolved_at = NULL WHERE project_id = %s",
            (project_pk,),
        )
        conn.execute("VACUUM ANALYZE")


# --- the raw baseline: the queue's SQL through psycopg --------------------------------------

SQL_PROJECT = (
    "SELECT id, public_id, owner_id, title, instructions, task_type, label_config,"
    " reward_per_answer, platform_fee_bps, answers_per_item, reservation_seconds, status,"
    " created_at, published_at FROM labeling_project WHERE id = %s LIMIT 21"
)
SQL_HELD = (
    "SELECT id, public_id, project_id, item_id, contributor_id, status, reserved_at,"
    " expires_at, finished_at FROM labeling_assignment WHERE contributor_id = %(c)s"
    " AND expires_at > %(now)s AND project_id = %(p)s AND status = 'reserved'"
    " ORDER BY id LIMIT 1"
)
SQL_FRONTIER = (
    "SELECT MAX(item_id) FROM labeling_assignment WHERE project_id = %s AND contributor_id = %s"
)
SQL_CANDIDATES = (
    "SELECT i.id, i.public_id, i.project_id, i.data FROM labeling_item i"
    " WHERE i.project_id = %(p)s AND i.status = 'open' AND i.id > %(after)s"
    " AND NOT EXISTS (SELECT 1 FROM labeling_assignment a WHERE a.item_id = i.id"
    "   AND a.contributor_id = %(c)s)"
    " AND (SELECT COUNT(*) FROM labeling_assignment a WHERE a.item_id = i.id"
    "   AND (a.status = 'submitted' OR (a.status = 'reserved' AND a.expires_at > %(now)s)))"
    "   < %(n)s"
    " AND NOT (i.id = ANY(%(skipped)s))"
    " ORDER BY i.id LIMIT 1 FOR NO KEY UPDATE OF i SKIP LOCKED"
)
SQL_LIVE_COUNT = (
    "SELECT COUNT(*) FROM labeling_assignment WHERE (status = 'submitted'"
    " OR (expires_at > %(now)s AND status = 'reserved')) AND item_id = %(i)s"
)
SQL_ASSIGNMENT_INSERT = (
    "INSERT INTO labeling_assignment (public_id, project_id, item_id, contributor_id, status,"
    " reserved_at, expires_at, finished_at) VALUES (%s, %s, %s, %s, 'reserved', %s, %s, NULL)"
    " RETURNING id"
)
SQL_EVENT_INSERT = (
    "INSERT INTO labeling_assignmentevent (assignment_id, kind, created_at)"
    " VALUES (%s, %s, %s) RETURNING id"
)
SQL_ASSIGNMENT_FOR = (
    "SELECT a.id, a.public_id, a.project_id, a.item_id, a.contributor_id, a.status,"
    " a.reserved_at, a.expires_at, a.finished_at, p.id, p.public_id, p.owner_id, p.title,"
    " p.instructions, p.task_type, p.label_config, p.reward_per_answer, p.platform_fee_bps,"
    " p.answers_per_item, p.reservation_seconds, p.status, p.created_at, p.published_at"
    " FROM labeling_assignment a JOIN labeling_project p ON a.project_id = p.id"
    " WHERE a.contributor_id = %s AND a.public_id = %s ORDER BY a.id LIMIT 1"
)
SQL_SUBMISSION_EXISTING = (
    "SELECT id, public_id, assignment_id, answer, time_on_task_ms, status, created_at,"
    " decided_at FROM labeling_submission WHERE assignment_id = %s ORDER BY id LIMIT 1"
)
SQL_ITEM_LOCK = (
    "SELECT id, public_id, project_id, external_id, data, status, final_answer, confidence,"
    " resolved_at, created_at FROM labeling_item WHERE id = %s LIMIT 21 FOR NO KEY UPDATE"
)
SQL_ASSIGNMENT_LOCK = (
    "SELECT id, public_id, project_id, item_id, contributor_id, status, reserved_at,"
    " expires_at, finished_at FROM labeling_assignment WHERE id = %s LIMIT 21 FOR NO KEY UPDATE"
)
SQL_SUBMISSION_INSERT = (
    "INSERT INTO labeling_submission (public_id, assignment_id, answer, time_on_task_ms,"
    " status, created_at, decided_at) VALUES (%s, %s, %s, NULL, 'pending', %s, NULL)"
    " RETURNING id"
)
SQL_ASSIGNMENT_SUBMITTED = (
    "UPDATE labeling_assignment SET status = 'submitted', finished_at = %s WHERE id = %s"
)
SQL_SUBMITTED_COUNT = (
    "SELECT COUNT(*) FROM labeling_assignment WHERE item_id = %s AND status = 'submitted'"
)
SQL_ITEM_COMPLETE = "UPDATE labeling_item SET status = 'complete' WHERE id = %s"


def _raw_claim(conn: Any, seed_: Seed, user_id: int) -> tuple[int, uuid.UUID] | None:
    """assignment_claim_next's statements. Returns (item id, assignment public id)."""
    with conn.transaction():
        now = datetime.now(UTC)
        conn.execute(SQL_PROJECT, (seed_.project_pk,)).fetchone()
        held = conn.execute(SQL_HELD, {"c": user_id, "now": now, "p": seed_.project_pk}).fetchone()
        if held is not None:
            return int(held[3]), held[1]
        skipped: list[int] = []
        item_id: int | None = None
        after = conn.execute(SQL_FRONTIER, (seed_.project_pk, user_id)).fetchone()[0] or 0
        while item_id is None:
            batch = conn.execute(
                SQL_CANDIDATES,
                {
                    "p": seed_.project_pk,
                    "c": user_id,
                    "now": now,
                    "n": seed_.answers_per_item,
                    "skipped": skipped,
                    "after": after,
                },
            ).fetchall()
            if not batch and after:
                after, skipped = 0, []  # wrap round, as the service does
                continue
            if not batch:
                return None
            for row in batch:
                count = conn.execute(SQL_LIVE_COUNT, {"now": now, "i": row[0]}).fetchone()[0]
                if count < seed_.answers_per_item:
                    item_id = int(row[0])
                    break
                skipped.append(int(row[0]))
        public_id = uuid.uuid4()
        expires = now + timedelta(seconds=seed_.reservation_seconds)
        (assignment_id,) = conn.execute(
            SQL_ASSIGNMENT_INSERT,
            (public_id, seed_.project_pk, item_id, user_id, datetime.now(UTC), expires),
        ).fetchone()
        conn.execute(SQL_EVENT_INSERT, (assignment_id, "reserved", datetime.now(UTC))).fetchone()
    return item_id, public_id


def _raw_submit(conn: Any, seed_: Seed, user_id: int, public_id: uuid.UUID) -> None:
    """assignment_submit's statements for the ordinary case (a live reservation)."""
    from psycopg.types.json import Jsonb

    row = conn.execute(SQL_ASSIGNMENT_FOR, (user_id, public_id)).fetchone()
    assignment_id, item_id = int(row[0]), int(row[3])
    if conn.execute(SQL_SUBMISSION_EXISTING, (assignment_id,)).fetchone() is not None:
        return
    with conn.transaction():
        item = conn.execute(SQL_ITEM_LOCK, (item_id,)).fetchone()
        conn.execute(SQL_ASSIGNMENT_LOCK, (assignment_id,)).fetchone()
        now = datetime.now(UTC)
        conn.execute(
            SQL_SUBMISSION_INSERT,
            (uuid.uuid4(), assignment_id, Jsonb({"label": random.choice(LABELS)}), now),
        ).fetchone()
        conn.execute(SQL_ASSIGNMENT_SUBMITTED, (now, assignment_id))
        conn.execute(SQL_EVENT_INSERT, (assignment_id, "submitted", datetime.now(UTC))).fetchone()
        submitted = conn.execute(SQL_SUBMITTED_COUNT, (item_id,)).fetchone()[0]
        if submitted >= seed_.answers_per_item and item[5] == "open":
            conn.execute(SQL_ITEM_COMPLETE, (item_id,))


def run_raw(
    *, database_url: str, seed_: Seed, level: int, warmup: float, duration: float, budget: int
) -> RunResult:
    import psycopg

    result = RunResult(kind="raw", level=level, duration=duration)
    lock = threading.Lock()
    remaining = [budget]
    start = time.monotonic()
    measure_from = start + warmup
    measure_to = measure_from + duration
    conns = [psycopg.connect(database_url, autocommit=True) for _ in range(level)]

    def contributor(index: int) -> None:
        conn = conns[index]
        user_id = seed_.contributors[index][0]
        while time.monotonic() < measure_to:
            with lock:
                if remaining[0] <= 0:
                    return
                remaining[0] -= 1
            t0 = time.perf_counter()
            m0 = time.monotonic()
            try:
                claimed = _raw_claim(conn, seed_, user_id)
                t1 = time.perf_counter()
                if claimed is None:
                    with lock:
                        result.empty += 1
                    return
                _raw_submit(conn, seed_, user_id, claimed[1])
            except psycopg.Error as exc:
                with lock:
                    result.errors[type(exc).__name__] += 1
                continue
            t2 = time.perf_counter()
            if m0 >= measure_from and time.monotonic() <= measure_to:
                with lock:
                    result.nexts.append(t1 - t0)
                    result.submits.append(t2 - t1)
                    result.round_trips.append(t2 - t0)

    threads = [threading.Thread(target=contributor, args=(i,), daemon=True) for i in range(level)]
    try:
        for thread in threads:
            thread.start()
        time.sleep(max(0.0, measure_from - time.monotonic()))
        before = cpu_sample()
        time.sleep(max(0.0, measure_to - time.monotonic()))
        after = cpu_sample()
        result.cpu = cpu_share(before, after)
        for thread in threads:
            thread.join(timeout=60)
    finally:
        for conn in conns:
            conn.close()
    return result


# --- the app: gunicorn + asyncio HTTP contributors ------------------------------------------


async def _app_load(
    *,
    base_url: str,
    seed_: Seed,
    level: int,
    warmup: float,
    duration: float,
    budget: int,
    server: Child,
) -> RunResult:
    import httpx2

    result = RunResult(kind="app", level=level, duration=duration)
    remaining = [budget]
    loop_start = time.monotonic()
    measure_from = loop_start + warmup
    measure_to = measure_from + duration
    next_url = f"{base_url}/api/projects/{seed_.project_public_id}/next"
    limits = httpx2.Limits(max_connections=level, max_keepalive_connections=level)
    timeout = httpx2.Timeout(60.0)

    async def contributor(client: Any, token: str) -> None:
        headers = {"Authorization": f"Token {token}"}
        while time.monotonic() < measure_to and remaining[0] > 0:
            remaining[0] -= 1
            m0 = time.monotonic()
            t0 = time.perf_counter()
            try:
                got = await client.get(next_url, headers=headers)
                t1 = time.perf_counter()
                if got.status_code == 204:
                    result.empty += 1
                    return
                if got.status_code != 200:
                    result.errors[f"next {got.status_code}"] += 1
                    await asyncio.sleep(0.05)
                    continue
                assignment_id = got.json()["id"]
                sent = await client.post(
                    f"{base_url}/api/assignments/{assignment_id}/submit",
                    json={"answer": {"label": random.choice(LABELS)}},
                    headers=headers,
                )
                t2 = time.perf_counter()
            except httpx2.HTTPError as exc:
                result.errors[type(exc).__name__] += 1
                await asyncio.sleep(0.05)
                continue
            if sent.status_code != 201:
                result.errors[f"submit {sent.status_code}"] += 1
                continue
            if m0 >= measure_from and time.monotonic() <= measure_to:
                result.nexts.append(t1 - t0)
                result.submits.append(t2 - t1)
                result.round_trips.append(t2 - t0)

    async def sampler() -> None:
        await asyncio.sleep(max(0.0, measure_from - time.monotonic()))
        before = cpu_sample(server.proc.pid)
        await asyncio.sleep(max(0.0, measure_to - time.monotonic()))
        after = cpu_sample(server.proc.pid)
        result.cpu = cpu_share(before, after)

    async with httpx2.AsyncClient(limits=limits, timeout=timeout) as client:
        tokens = [token for _, token in seed_.contributors[:level]]
        await asyncio.gather(sampler(), *(contributor(client, t) for t in tokens))
    return result


def gunicorn_start(
    *, env: dict[str, str], port: int, workers: int, threads: int, log_dir: Path
) -> Child:
    cmd = [
        PYTHON,
        "-m",
        "gunicorn",
        "config.wsgi",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--worker-class",
        "gthread",
        "--keep-alive",
        "75",
        "--log-level",
        "warning",
    ]
    child = spawn("gunicorn", cmd, env=env, log_path=log_dir / "gunicorn.log")

    def ready() -> bool:
        import httpx2

        # Unauthenticated: 401, reserves nothing. One request per worker warms the imports.
        for _ in range(workers * 2):
            got = httpx2.get(f"http://127.0.0.1:{port}/api/projects/{uuid.uuid4()}/next")
            if got.status_code != 401:
                return False
        return True

    wait_until(ready, timeout=60, what="gunicorn to answer", child=child)
    return child


# --- reporting ------------------------------------------------------------------------------


def report(raw: dict[int, RunResult], app: dict[int, RunResult]) -> str:
    headers = [
        "level",
        "run",
        "round trips/s",
        "rt p50 ms",
        "rt p99 ms",
        "next p50 ms",
        "next p99 ms",
        "submit p50 ms",
        "submit p99 ms",
        "round trips",
        "errors",
        "app/raw",
    ]
    rows: list[list[Any]] = []
    for level in sorted(set(raw) | set(app)):
        for run in (raw.get(level), app.get(level)):
            if run is None:
                continue
            ratio = ""
            if run.kind == "app" and level in raw and raw[level].rate:
                ratio = f"{run.rate / raw[level].rate:.2f}"
            errors = sum(run.errors.values())
            rows.append(
                [
                    level,
                    run.kind,
                    f"{run.rate:.1f}",
                    ms(percentile(run.round_trips, 50)),
                    ms(percentile(run.round_trips, 99)),
                    ms(percentile(run.nexts, 50)),
                    ms(percentile(run.nexts, 99)),
                    ms(percentile(run.submits, 50)),
                    ms(percentile(run.submits, 99)),
                    len(run.round_trips),
                    errors,
                    ratio,
                ]
            )
    return table(headers, rows)


def report_cpu(raw: dict[int, RunResult], app: dict[int, RunResult]) -> str:
    headers = ["level", "run", "client %core", "gunicorn %core", "postgres %core", "errors by kind"]
    rows: list[list[Any]] = []
    for level in sorted(set(raw) | set(app)):
        for run in (raw.get(level), app.get(level)):
            if run is None:
                continue
            kinds = ", ".join(f"{k}: {v}" for k, v in sorted(run.errors.items())) or "-"
            server = run.cpu[1] if run.kind == "app" else "-"
            rows.append([level, run.kind, run.cpu[0], server, run.cpu[2], kinds])
    return table(headers, rows)


# --- main -----------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--duration", type=float, default=15.0, help="measured seconds per run")
    parser.add_argument("--warmup", type=float, default=3.0, help="unmeasured seconds first")
    parser.add_argument("--levels", default="1,10,50", help="concurrent contributors, comma list")
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL)
    parser.add_argument("--answers-per-item", type=int, default=3)
    parser.add_argument("--contributors", type=int, default=0, help="users (default: max level)")
    parser.add_argument("--max-round-trips", type=int, default=100_000, help="bound per run")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=6, help="gunicorn threads per worker")
    parser.add_argument(
        "--celery",
        choices=("redis", "eager"),
        default="redis",
        help="redis (production: resolve tasks are queued to --redis-url, no worker runs) "
        "or eager (no REDIS_URL: each completed item is resolved inside the submit request)",
    )
    parser.add_argument("--redis-url", default=DEFAULT_REDIS_URL, help="a Redis db of its own")
    parser.add_argument("--skip-raw", action="store_true")
    parser.add_argument("--skip-app", action="store_true")
    args = parser.parse_args()
    levels = [int(x) for x in args.levels.split(",") if x.strip()]
    contributors = max(args.contributors, max(levels))

    var_dir = Path(tempfile.mkdtemp(prefix="nearlabel-bench-queue-"))
    extra = {"REDIS_URL": args.redis_url} if args.celery == "redis" else {}
    env = bench_env(database_url=args.database_url, var_dir=var_dir, **extra)

    log(f"recreating and migrating {args.database_url}")
    database_recreate(args.database_url)
    manage(["migrate", "--noinput", "-v", "0"], env)
    django_setup(env)
    t0 = time.monotonic()
    seed_ = seed(
        items=args.items, answers_per_item=args.answers_per_item, contributors=contributors
    )
    log(f"seeded {args.items} items, {contributors} contributors in {time.monotonic() - t0:.1f} s")
    if args.celery == "redis":
        _redis_flush(args.redis_url)

    raw: dict[int, RunResult] = {}
    app: dict[int, RunResult] = {}
    if not args.skip_raw:
        for level in levels:
            queue_reset(args.database_url, seed_.project_pk)
            log(f"raw psycopg, {level} connections, {args.warmup}+{args.duration} s")
            raw[level] = run_raw(
                database_url=args.database_url,
                seed_=seed_,
                level=level,
                warmup=args.warmup,
                duration=args.duration,
                budget=args.max_round_trips,
            )
    if not args.skip_app:
        with children() as started:
            port = free_port()
            log(f"gunicorn: {args.workers} workers x {args.threads} threads (gthread) on :{port}")
            server = gunicorn_start(
                env=env, port=port, workers=args.workers, threads=args.threads, log_dir=var_dir
            )
            started.append(server)
            for level in levels:
                queue_reset(args.database_url, seed_.project_pk)
                if args.celery == "redis":
                    _redis_flush(args.redis_url)
                log(f"app over HTTP, {level} contributors, {args.warmup}+{args.duration} s")
                app[level] = asyncio.run(
                    _app_load(
                        base_url=f"http://127.0.0.1:{port}",
                        seed_=seed_,
                        level=level,
                        warmup=args.warmup,
                        duration=args.duration,
                        budget=args.max_round_trips,
                        server=server,
                    )
                )
                if sum(app[level].errors.values()):
                    log(f"gunicorn log tail:\n{server.log_tail(10)}")
        if args.celery == "redis":
            _redis_flush(args.redis_url)

    print()
    print(
        f"Queue benchmark: PostgreSQL {args.database_url.rsplit('@', 1)[-1]}, {args.items} items, "
        f"{args.answers_per_item} answers per item, {args.warmup:g} s warm-up + "
        f"{args.duration:g} s measured per run"
    )
    print(
        f"gunicorn config.wsgi: {args.workers} workers x {args.threads} threads (gthread), "
        f"DJANGO_DEBUG=0; Celery: {args.celery}; client: one asyncio process (httpx2); "
        "raw: one psycopg connection per thread"
    )
    print("rt = one next + submit round trip; raw rt = the same service SQL without HTTP/ORM")
    print()
    print(report(raw, app))
    print()
    print("CPU during the measured window, percent of one core (the machine has 2 cores):")
    print(report_cpu(raw, app))
    empties = [f"{r.kind} {r.level}: {r.empty}" for r in [*raw.values(), *app.values()] if r.empty]
    if empties:
        print(f"\ncontributors who ran out of items (204): {', '.join(empties)}")


def _redis_flush(url: str) -> None:
    import redis

    redis.Redis.from_url(url).flushdb()


if __name__ == "__main__":
    main()

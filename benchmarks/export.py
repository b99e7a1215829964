"""Benchmark: exporting a project of N items with 3 answers each, as JSONL, CSV and Parquet.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/nearlabel_export_bench \\
        .venv/bin/python benchmarks/export.py --items 1000000

What it does (prints figures, asserts nothing):

1. Drops, recreates and migrates the benchmark database (its name must contain "bench";
   default `postgres://postgres@127.0.0.1:5432/nearlabel_export_bench`, or DATABASE_URL,
   or --database-url) and seeds it in PostgreSQL itself (INSERT ... SELECT over
   generate_series): one completed project of --items items, 3 answers each from
   --contributors contributors with NEAR accounts, scores and score parts, 80 % of the
   answers accepted with their earning journals (and each answer's link to its earning
   line, Submission.earning_line, as labeling's decide sets it), 10 % rejected, 10 % in
   review; and per contributor four payouts: 40 % of their earnings confirmed, then 10 % failed (and
   refunded), then 30 % confirmed, then 10 % submitted, so the FIFO payout provenance
   has partial withdrawals, a failed payout and unpaid answers to work through.
2. Exports the project in each format to a file, each in a fresh process (so the
   figures are the export's own: `export_write` into a plain file), and prints
   items/s, answers/s, the file's size, and the process's peak RSS (ru_maxrss, which
   includes Python, Django and pyarrow once imported; "base" is the same process's
   RSS just before the export started).

Goals (issue 9): JSONL at least 50,000 items/s and peak RSS under 300 MB whatever the
size. `--reuse` exports the last seeded project again; `--formats jsonl,csv` picks.
"""

from __future__ import annotations

import sys
from pathlib import Path

_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from typing import Any  # noqa: E402

from benchmarks._common import (  # noqa: E402
    PYTHON,
    ROOT,
    bench_env,
    database_recreate,
    django_setup,
    log,
    manage,
    table,
)

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/nearlabel_export_bench"
REWARD = 10**22  # 0.01 NEAR
FEE = 10**21


def seed(*, items: int, contributors: int) -> int:
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction
    from django.utils import timezone

    from labeling.models import Project
    from payouts.models import Journal, JournalLine, NearAccount, Payout
    from payouts.services.ledger import (
        earnings_account,
        escrow_account,
        in_flight_account,
        platform_fees_account,
        world_account,
    )

    user_model = get_user_model()
    owner = user_model.objects.create_user(username="owner", password="x")  # noqa: S106
    now = timezone.now()
    project = Project.objects.create(
        owner=owner,
        title="Export benchmark",
        task_type="classification",
        label_config={"labels": ["cat", "dog", "bird", "fish"]},
        reward_per_answer=REWARD,
        platform_fee_bps=1000,
        status=Project.Status.COMPLETED,
        published_at=now,
        completed_at=now,
    )
    users = user_model.objects.bulk_create(
        [user_model(username=f"c{n}") for n in range(contributors)]
    )
    NearAccount.objects.bulk_create(
        [NearAccount(user=u, account_id=f"c{u.pk}.test.near", verified_at=now) for u in users]
    )
    user_ids = [u.pk for u in users]
    escrow = escrow_account(reference=project.escrow_reference)
    fees = platform_fees_account()
    world = world_account()
    in_flight = in_flight_account()
    for uid in user_ids:
        earnings_account(user_id=uid)
    step = max(1, contributors // 3)
    p = {"p": project.pk, "n": items, "users": user_ids, "c": contributors, "step": step}
    labels = "(ARRAY['cat','dog','bird','fish'])"
    with transaction.atomic(), connection.cursor() as cursor:
        # A benchmark database: foreign keys are not checked for the bulk rows (Django's
        # are deferred to COMMIT, which would check millions of rows one by one).
        cursor.execute("SET LOCAL session_replication_role = replica")
        start = time.perf_counter()
        cursor.execute(
            "INSERT INTO labeling_item (public_id, project_id, external_id, data, status,"  # noqa: S608  (SQL fragments of this module, no input)
            " is_gold, gold_answer, gold_flag, final_answer, confidence, resolved_at, created_at)"
            " SELECT gen_random_uuid(), %(p)s, 'ext-' || g,"
            "  jsonb_build_object('text', 'benchmark item number ' || g, 'source', 'bench',"
            "   'tags', jsonb_build_array(g %% 7, g %% 11)),"
            f"  'resolved', g %% 20 = 0, CASE WHEN g %% 20 = 0 THEN"
            f"   jsonb_build_object('label', {labels}[1 + g %% 4]) END, '',"
            f"  jsonb_build_object('label', {labels}[1 + g %% 4]), 0.5 + (g %% 50) / 100.0,"
            "  now(), now()"
            " FROM generate_series(1, %(n)s) g",
            p,
        )
        log(f"items: {time.perf_counter() - start:.1f} s")
        cursor.execute(
            "INSERT INTO labeling_assignment (public_id, project_id, item_id, contributor_id,"
            " status, reserved_at, expires_at, finished_at)"
            " SELECT gen_random_uuid(), %(p)s, i.id,"
            "  (%(users)s::int[])[1 + ((i.id + k * %(step)s) %% %(c)s)],"
            "  'submitted', now(), now(), now()"
            " FROM labeling_item i CROSS JOIN generate_series(0, 2) k"
            " WHERE i.project_id = %(p)s ORDER BY i.id, k",
            p,
        )
        log(f"assignments: {time.perf_counter() - start:.1f} s")
        cursor.execute(
            "INSERT INTO labeling_submission (public_id, assignment_id, answer, time_on_task_ms,"  # noqa: S608  (SQL fragments of this module, no input)
            " status, score, score_parts, scored_at, decision_reason, created_at, decided_at)"
            " SELECT gen_random_uuid(), a.id,"
            f"  jsonb_build_object('label', {labels}[1 + a.id %% 4]), 1000 + a.id %% 9000,"
            "  CASE WHEN a.id %% 10 < 8 THEN 'accepted' WHEN a.id %% 10 = 8 THEN 'rejected'"
            "   ELSE 'review' END,"
            "  (a.id %% 1000) / 1000.0,"
            "  jsonb_build_object('agreement', (a.id %% 97) / 97.0, 'gold', NULL,"
            "   'reliability', (a.id %% 89) / 89.0),"
            "  now(), CASE WHEN a.id %% 10 = 8 THEN 'score below the threshold' ELSE '' END,"
            "  now(), CASE WHEN a.id %% 10 < 9 THEN now() END"
            " FROM labeling_assignment a WHERE a.project_id = %(p)s ORDER BY a.id",
            p,
        )
        log(f"submissions: {time.perf_counter() - start:.1f} s")
        cursor.execute(
            "INSERT INTO payouts_journal (public_id, kind, idempotency_key, memo, created_at)"
            " VALUES (gen_random_uuid(), 'deposit', 'deposit:bench', 'bench', now())"
            " RETURNING id"
        )
        deposit_journal = cursor.fetchone()[0]
        total = 3 * items * (REWARD + FEE)
        cursor.execute(
            "INSERT INTO payouts_journalline (journal_id, account_id, amount)"
            " VALUES (%s, %s, %s), (%s, %s, %s)",
            [deposit_journal, world.pk, -total, deposit_journal, escrow.pk, total],
        )
        cursor.execute(
            "INSERT INTO payouts_journal (public_id, kind, idempotency_key, memo, created_at)"
            " SELECT gen_random_uuid(), 'earning', 'earning:submission:' || s.public_id::text,"
            "  'accepted submission:' || s.public_id::text, now()"
            " FROM labeling_submission s JOIN labeling_assignment a ON a.id = s.assignment_id"
            " WHERE a.project_id = %(p)s AND s.status = 'accepted' ORDER BY s.id",
            p,
        )
        log(f"earning journals: {time.perf_counter() - start:.1f} s")
        cursor.execute(
            "INSERT INTO payouts_journalline (journal_id, account_id, amount)"
            " SELECT j.id, v.account, v.amount"
            " FROM labeling_submission s JOIN labeling_assignment a ON a.id = s.assignment_id"
            " JOIN payouts_journal j ON j.idempotency_key = "
            "  'earning:submission:' || s.public_id::text"
            " JOIN payouts_ledgeraccount ea ON ea.key = 'earnings:' || a.contributor_id"
            " CROSS JOIN LATERAL (VALUES (0, %(escrow)s::bigint, %(out)s::numeric),"
            "  (1, ea.id, %(reward)s::numeric), (2, %(fees)s::bigint, %(fee)s::numeric))"
            "  v(ord, account, amount)"
            " WHERE a.project_id = %(p)s AND s.status = 'accepted' ORDER BY j.id, v.ord",
            {
                **p,
                "escrow": escrow.pk,
                "fees": fees.pk,
                "out": -(REWARD + FEE),
                "reward": REWARD,
                "fee": FEE,
            },
        )
        log(f"earning lines: {time.perf_counter() - start:.1f} s")
        # Each accepted answer's link to its earning line, as decide.py sets it.
        cursor.execute(
            "UPDATE labeling_submission s SET earning_line_id = l.id"
            " FROM labeling_assignment a, payouts_journal j, payouts_ledgeraccount ea,"
            "  payouts_journalline l"
            " WHERE a.id = s.assignment_id AND a.project_id = %(p)s AND s.status = 'accepted'"
            "  AND j.idempotency_key = 'earning:submission:' || s.public_id::text"
            "  AND ea.key = 'earnings:' || a.contributor_id"
            "  AND l.journal_id = j.id AND l.account_id = ea.id",
            p,
        )
        log(f"earning links: {time.perf_counter() - start:.1f} s")
        cursor.execute(
            "SELECT a.contributor_id, COUNT(*) FROM labeling_submission s"
            " JOIN labeling_assignment a ON a.id = s.assignment_id"
            " WHERE a.project_id = %s AND s.status = 'accepted' GROUP BY a.contributor_id",
            [project.pk],
        )
        earned = {uid: count * REWARD for uid, count in cursor.fetchall()}
    # Four payouts each, as the payout machinery would have left them.
    plan = [
        (40, Payout.Status.CONFIRMED),
        (10, Payout.Status.FAILED),
        (30, Payout.Status.CONFIRMED),
        (10, Payout.Status.SUBMITTED),
    ]
    with transaction.atomic():
        payouts = []
        for uid, amount in earned.items():
            for n, (percent, status) in enumerate(plan):
                payouts.append(
                    Payout(
                        user_id=uid,
                        receiver_id=f"c{uid}.test.near",
                        amount=amount * percent // 100,
                        status=status,
                        tx_hash=f"tx{uid:08d}{n}" + "1" * 30 if status != "pending" else None,
                        finished_at=now if status in ("confirmed", "failed") else None,
                    )
                )
        payouts = Payout.objects.bulk_create(payouts, batch_size=5000)
        journals, lines = [], []
        for payout in payouts:
            earnings_key = f"earnings:{payout.user_id}"
            journals.append(
                (
                    Journal(kind=Journal.Kind.PAYOUT, idempotency_key=f"payout:{payout.public_id}"),
                    [(earnings_key, -payout.amount), (in_flight.key, payout.amount)],
                )
            )
            if payout.status == Payout.Status.CONFIRMED:
                journals.append(
                    (
                        Journal(
                            kind=Journal.Kind.PAYOUT_CONFIRMED,
                            idempotency_key=f"payout:{payout.public_id}:confirmed",
                        ),
                        [(in_flight.key, -payout.amount), (world.key, payout.amount)],
                    )
                )
            elif payout.status == Payout.Status.FAILED:
                journals.append(
                    (
                        Journal(
                            kind=Journal.Kind.PAYOUT_FAILED,
                            idempotency_key=f"payout:{payout.public_id}:failed",
                        ),
                        [(in_flight.key, -payout.amount), (earnings_key, payout.amount)],
                    )
                )
        created = Journal.objects.bulk_create([j for j, _ in journals], batch_size=5000)
        from payouts.models import LedgerAccount

        account_ids = dict(LedgerAccount.objects.values_list("key", "id"))
        for journal, (_, entries) in zip(created, journals, strict=True):
            for key, amount in entries:
                lines.append(
                    JournalLine(journal=journal, account_id=account_ids[key], amount=amount)
                )
        JournalLine.objects.bulk_create(lines, batch_size=5000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    log(f"{len(payouts)} payouts, {len(journals)} payout journals")
    return project.pk


def export_child(*, project_id: int, fmt: str, path: str) -> dict[str, Any]:
    """In a fresh process: export to `path`, return the figures."""
    from labeling.models import Project
    from marketplace.services.exports import export_write

    project = Project.objects.get(pk=project_id)
    base = _rss_now()
    with open(path, "wb") as out:
        start = time.perf_counter()
        stats = export_write(project=project, format=fmt, out=out)
        seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {
        "format": fmt,
        "seconds": seconds,
        "items": stats.items,
        "answers": stats.answers,
        "bytes": stats.size,
        "base_rss": base,
        "peak_rss": peak,
    }


def _rss_now() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--contributors", type=int, default=300)
    parser.add_argument("--formats", default="jsonl,csv,parquet")
    parser.add_argument(
        "--database-url", default=os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    )
    parser.add_argument("--reuse", action="store_true", help="export the last seeded project")
    parser.add_argument("--keep", action="store_true", help="keep the exported files")
    parser.add_argument(
        "--child", nargs=3, metavar=("PROJECT", "FORMAT", "PATH"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()

    var_dir = Path(
        os.environ.get("NEARLABEL_BENCH_VAR") or tempfile.mkdtemp(prefix="nearlabel-bench-export-")
    )
    env = bench_env(database_url=args.database_url, var_dir=var_dir)
    if args.child:
        django_setup(env)
        project_id, fmt, path = args.child
        print(json.dumps(export_child(project_id=int(project_id), fmt=fmt, path=path)))
        return
    if not args.reuse:
        log(f"recreating and migrating {args.database_url}")
        database_recreate(args.database_url)
        manage(["migrate", "--noinput", "-v", "0"], env)
    django_setup(env)
    from labeling.models import Project

    if args.reuse:
        last = Project.objects.order_by("-pk").first()
        if last is None:
            raise SystemExit("nothing to reuse: run without --reuse first")
        project_id = last.pk
    else:
        start = time.perf_counter()
        project_id = seed(items=args.items, contributors=args.contributors)
        log(f"seeded in {time.perf_counter() - start:.0f} s")

    rows = []
    out_dir = Path(tempfile.mkdtemp(prefix="nearlabel-bench-export-files-"))
    child_env = {**env, "NEARLABEL_BENCH_VAR": str(var_dir)}
    for fmt in args.formats.split(","):
        path = out_dir / f"export.{fmt}"
        log(f"exporting {fmt}")
        result = subprocess.run(
            [
                PYTHON,
                str(Path(__file__).resolve()),
                "--database-url",
                args.database_url,
                "--child",
                str(project_id),
                fmt,
                str(path),
            ],
            cwd=ROOT,
            env=child_env,
            check=True,
            capture_output=True,
            text=True,
        )
        figures = json.loads(result.stdout.strip().splitlines()[-1])
        rows.append(
            [
                fmt,
                f"{figures['items']:,}",
                f"{figures['answers']:,}",
                f"{figures['seconds']:.1f}",
                f"{figures['items'] / figures['seconds']:,.0f}",
                f"{figures['answers'] / figures['seconds']:,.0f}",
                f"{figures['bytes'] / 2**20:,.0f}",
                f"{figures['base_rss'] / 2**20:.0f}",
                f"{figures['peak_rss'] / 2**20:.0f}",
            ]
        )
        if not args.keep:
            path.unlink()
    print(
        table(
            [
                "format",
                "items",
                "answers",
                "s",
                "items/s",
                "answers/s",
                "MiB",
                "base RSS MiB",
                "peak RSS MiB",
            ],
            rows,
        )
    )


if __name__ == "__main__":
    main()

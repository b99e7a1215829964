"""Benchmark: payouts confirmed per second against the project's local NEAR RPC.

    .venv/bin/python benchmarks/payouts.py [--payouts 200] [--mode eager|celery|both]
                                           [--keys 1,4,8] [--max-concurrency 4]

What it does (prints figures, asserts nothing):

1. Drops, recreates and migrates the benchmark database (name must contain "bench").
2. Starts the local NEAR RPC (payouts.near.localnet, NOT NEAR) in this process on a free
   port with a fresh state file, and bootstraps the platform account and key file as
   `manage.py demo` does.
3. Raw chain throughput: one funded sender signs --payouts transfers to fresh implicit
   accounts and sends them one after another through NearClient.send_tx (FINAL).
4. Per mode, --payouts contributors with implicit NEAR accounts, earnings credited from a
   funded project escrow through the ledger, then payout_request for each; measured until
   every payout is confirmed (or failed, or --timeout):
   - eager: no worker; payout_request's on-commit send runs inline (Celery eager), so the
     payouts are sent one after another in this process.
   - celery, once per pool size in --keys: the platform account signs with that many
     full-access keys (NEAR_PRIVATE_KEY_FILE plus `manage.py near_keys add` pool keys in a
     NEAR_KEYS_DIR of the run's own); payout_request enqueues to Redis (--redis-url); a
     real `celery -A config worker -Q default,payouts --concurrency N` sends them, N = the
     pool size capped at --max-concurrency (default 2 per core), or --concurrency if given.

Amounts are int yoctoNEAR throughout; they are printed as decimal NEAR strings.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as `python benchmarks/payouts.py`, Python puts benchmarks/ first on sys.path, where
# this file would shadow the `payouts` app (and queue.py the standard `queue`). Put the
# project root there instead, before anything else is imported.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

import argparse  # noqa: E402
import collections  # noqa: E402
import os  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from typing import Any  # noqa: E402

from benchmarks._common import (  # noqa: E402
    ROOT,
    Child,
    bench_env,
    children,
    cpu_sample,
    cpu_share,
    database_recreate,
    django_setup,
    log,
    manage,
    ms,
    percentile,
    spawn,
    table,
    wait_until,
)

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/nearlabel_bench_payouts"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/14"
PLATFORM_ACCOUNT = "nearlabel.localnet"
PAYOUT_NEAR = "0.1"  # each contributor's earnings, paid out in full
PLATFORM_RESERVE_NEAR = "1000"  # platform capital beyond what it owes


@dataclass
class ModeResult:
    mode: str
    requested: int
    wall: float  # seconds from the first payout_request to the last payout finished
    request_wall: float  # seconds spent in the payout_request calls themselves
    statuses: collections.Counter[str] = field(default_factory=collections.Counter)
    latencies: list[float] = field(default_factory=list)  # seconds, created_at -> finished_at
    cpu: tuple[int, int, int] = (0, 0, 0)  # % of one core: this process, worker, postgres
    paid: int = 0  # yoctoNEAR confirmed
    keys: int = 1  # signing keys of the platform account
    concurrency: int = 1  # worker processes (1: eager, in this process)
    keys_used: int = 0  # distinct keys that signed the confirmed payouts
    resigned: int = 0  # payouts signed more than once (their first nonce was overtaken)

    @property
    def confirmed(self) -> int:
        return self.statuses.get("confirmed", 0)

    @property
    def rate(self) -> float:
        return self.confirmed / self.wall if self.wall else 0.0


# --- chain ------------------------------------------------------------------------------------


def raw_chain_throughput(url: str, transfers: int) -> tuple[float, list[float]]:
    """Signed transfers/s sent one after another by one sender, and each send_tx latency."""
    from payouts.money import near_to_yocto
    from payouts.near.client import NearClient
    from payouts.near.keys import key_generate, transfer_sign

    amount = near_to_yocto(PAYOUT_NEAR)
    sender = key_generate(account_id="bench-sender.localnet")
    client = NearClient(url, timeout=30)
    client.sandbox(
        "sandbox_create_account",
        {
            "account_id": sender.account_id,
            "public_key": sender.public_key,
            "amount": str(amount * transfers + near_to_yocto("100")),
        },
    )
    nonce = int(
        client.view_access_key(account_id=sender.account_id, public_key=sender.public_key)["nonce"]
    )
    block_hash = client.latest_block(finality="final")["header"]["hash"]
    receivers = [key_generate().account_id for _ in range(transfers)]
    latencies: list[float] = []
    failures = 0
    start = time.perf_counter()
    for n, receiver in enumerate(receivers, start=1):
        signed = transfer_sign(
            key=sender, receiver_id=receiver, amount=amount, nonce=nonce + n, block_hash=block_hash
        )
        t0 = time.perf_counter()
        result = client.send_tx(signed_tx=signed.signed_bytes, wait_until="FINAL")
        latencies.append(time.perf_counter() - t0)
        if "SuccessValue" not in result.get("status", {}):
            failures += 1
    wall = time.perf_counter() - start
    client.close()
    if failures:
        log(f"raw chain: {failures} transfers did not succeed")
    return transfers / wall, latencies


# --- seeding ----------------------------------------------------------------------------------


def contributors_seed(*, count: int, tag: str) -> list[Any]:
    """`count` users with linked implicit accounts and PAYOUT_NEAR of credited earnings."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.utils import timezone

    from payouts.models import NearAccount
    from payouts.money import near_to_yocto
    from payouts.near.keys import key_generate
    from payouts.services.accounts import near_account_link
    from payouts.services.earnings import earning_credit
    from tests.factories import ProjectFactory, UserFactory, escrow_fund

    reward = near_to_yocto(PAYOUT_NEAR)
    requester = UserFactory(username=f"bench-requester-{tag}")
    project = ProjectFactory(owner=requester, title=f"Payout benchmark {tag}")
    fee = reward * project.platform_fee_bps // 10_000
    escrow_fund(project, amount=count * (reward + fee), key=tag)
    user_model = get_user_model()
    unusable = make_password(None)
    users = user_model.objects.bulk_create(
        [user_model(username=f"bench-payee-{tag}-{n}", password=unusable) for n in range(count)]
    )
    for n, user in enumerate(users):
        near_account_link(user=user, account_id=key_generate().account_id)
        # As if each had proven the account by a signature: payouts go to proven accounts.
        NearAccount.objects.filter(user=user).update(verified_at=timezone.now())
        earning_credit(
            reference=f"bench:{tag}:{n}",
            user_id=user.pk,
            escrow_reference=project.escrow_reference,
            reward=reward,
            fee=fee,
        )
    return users


# --- modes ------------------------------------------------------------------------------------


def payouts_collect(result: ModeResult, ids: list[int]) -> None:
    from payouts.models import Payout

    rows = list(Payout.objects.filter(pk__in=ids))
    result.statuses = collections.Counter(str(p.status) for p in rows)
    confirmed = [p for p in rows if p.status == Payout.Status.CONFIRMED]
    result.keys_used = len({p.signing_key_id for p in confirmed})
    result.resigned = sum(1 for p in rows if p.signatures > 1)
    done = [p for p in rows if p.finished_at is not None]
    result.latencies = [(p.finished_at - p.created_at).total_seconds() for p in done]
    result.paid = sum(p.amount for p in rows if p.status == Payout.Status.CONFIRMED)
    if rows and done:
        first = min(p.created_at for p in rows)
        last = max(p.finished_at for p in done)
        result.wall = (last - first).total_seconds()


def run_eager(users: list[Any]) -> ModeResult:
    from config.celery import app as celery_app
    from payouts.money import near_to_yocto
    from payouts.services.payouts import payout_request

    celery_app.conf.task_always_eager = True  # as `manage.py demo`: send inline on commit
    amount = near_to_yocto(PAYOUT_NEAR)
    result = ModeResult(mode="eager", requested=len(users), wall=0.0, request_wall=0.0)
    ids: list[int] = []
    before = cpu_sample()
    start = time.perf_counter()
    for user in users:
        ids.append(payout_request(user=user, amount=amount).pk)
    result.request_wall = time.perf_counter() - start
    result.cpu = cpu_share(before, cpu_sample())
    payouts_collect(result, ids)
    return result


def pool_prepare(*, keys: int, directory: Path) -> str:
    """A NEAR_KEYS_DIR holding keys - 1 new pool keys registered on the local chain, through
    `manage.py near_keys add`; "" (no pool) for one key. Returns the directory setting."""
    import io

    from django.core.management import call_command
    from django.test import override_settings

    if keys <= 1:
        return ""
    with override_settings(NEAR_IS_LOCALNET=True, NEAR_KEYS_DIR=str(directory)):
        call_command("near_keys", "add", "--count", str(keys - 1), stdout=io.StringIO())
    return str(directory)


def run_celery(
    users: list[Any],
    *,
    env: dict[str, str],
    keys: int,
    concurrency: int,
    timeout: float,
    log_dir: Path,
) -> ModeResult:
    from config.celery import app as celery_app
    from payouts.models import Payout
    from payouts.money import near_to_yocto
    from payouts.services.payouts import payout_request

    celery_app.conf.task_always_eager = False
    amount = near_to_yocto(PAYOUT_NEAR)
    result = ModeResult(
        mode="celery",
        requested=len(users),
        wall=0.0,
        request_wall=0.0,
        keys=keys,
        concurrency=concurrency,
    )
    keys_dir = pool_prepare(keys=keys, directory=log_dir / f"keys-{keys}")
    with children() as started:
        worker = spawn(
            "celery worker",
            [
                str(ROOT / ".venv" / "bin" / "celery"),
                "-A",
                "config",
                "worker",
                "-Q",
                "default,payouts",
                "--concurrency",
                str(concurrency),
                "--loglevel",
                "INFO",
                "--without-gossip",
                "--without-mingle",
            ],
            env={**env, "NEAR_KEYS_DIR": keys_dir},
            log_path=log_dir / f"celery-keys-{keys}.log",
        )
        started.append(worker)
        wait_until(
            lambda: " ready." in worker.log_path.read_text(errors="replace"),
            timeout=60,
            what="the celery worker to be ready",
            child=worker,
        )
        ids: list[int] = []
        before = cpu_sample(worker.proc.pid)
        start = time.perf_counter()
        for user in users:
            ids.append(payout_request(user=user, amount=amount).pk)
        result.request_wall = time.perf_counter() - start
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            still_open = Payout.objects.filter(pk__in=ids, status__in=Payout.OPEN_STATUSES).count()
            if not still_open:
                break
            time.sleep(0.1)
        else:
            log(f"timed out after {timeout:.0f} s; worker log tail:\n{worker.log_tail(15)}")
        result.cpu = cpu_share(before, cpu_sample(worker.proc.pid))
        _worker_log_summary(worker)
    payouts_collect(result, ids)
    return result


def _worker_log_summary(worker: Child) -> None:
    text = worker.log_path.read_text(errors="replace")
    retries = text.count("Retry in")
    errors = text.count(" ERROR/")
    if retries or errors:
        log(f"celery worker: {retries} task retries, {errors} error lines ({worker.log_path})")


# --- reporting --------------------------------------------------------------------------------


def report(results: list[ModeResult]) -> str:
    from payouts.money import yocto_to_near

    headers = [
        "mode",
        "keys",
        "payouts",
        "confirmed",
        "other states",
        "keys used",
        "re-signed",
        "confirmed/s",
        "wall s",
        "request calls s",
        "p50 ms",
        "p95 ms",
        "max ms",
        "NEAR paid",
        "cpu this/worker/pg %core",
    ]
    rows: list[list[Any]] = []
    for r in results:
        others = ", ".join(f"{k}: {v}" for k, v in sorted(r.statuses.items()) if k != "confirmed")
        label = r.mode if r.mode == "eager" else f"celery x{r.concurrency}"
        rows.append(
            [
                label,
                r.keys,
                r.requested,
                r.confirmed,
                others or "-",
                r.keys_used,
                r.resigned,
                f"{r.rate:.1f}",
                f"{r.wall:.2f}",
                f"{r.request_wall:.2f}",
                ms(percentile(r.latencies, 50)),
                ms(percentile(r.latencies, 95)),
                ms(max(r.latencies, default=0.0)),
                yocto_to_near(r.paid),
                "/".join(str(c) for c in r.cpu),
            ]
        )
    return table(headers, rows)


# --- main -------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--payouts", type=int, default=200, help="payouts per mode")
    parser.add_argument("--mode", choices=("eager", "celery", "both"), default="both")
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL)
    parser.add_argument("--redis-url", default=DEFAULT_REDIS_URL, help="a Redis db of its own")
    parser.add_argument(
        "--keys",
        type=_pool_sizes,
        default=[1, 4, 8],
        help="comma-separated signing-key pool sizes, one celery run each (default 1,4,8)",
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=None,
        help="celery worker processes for every run (default: the pool size, capped)",
    )
    parser.add_argument(
        "--max-concurrency",
        type=int,
        default=2 * (os.cpu_count() or 1),
        help="cap of the default concurrency (default: 2 per core)",
    )
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds to wait, per mode")
    parser.add_argument(
        "--no-fsync", action="store_true", help="localnet without fsync per change (not default)"
    )
    args = parser.parse_args()

    var_dir = Path(tempfile.mkdtemp(prefix="nearlabel-bench-payouts-"))
    log(f"recreating and migrating {args.database_url}")
    database_recreate(args.database_url)
    manage(
        ["migrate", "--noinput", "-v", "0"],
        bench_env(database_url=args.database_url, var_dir=var_dir),
    )

    from payouts.near.localnet import localnet_serve

    server = localnet_serve(
        state_path=var_dir / "localnet" / "state.json", port=0, fsync=not args.no_fsync
    )
    try:
        env = bench_env(
            database_url=args.database_url,
            var_dir=var_dir,
            REDIS_URL=args.redis_url,
            NEAR_RPC_URL=server.url,
            NEAR_ACCOUNT_ID=PLATFORM_ACCOUNT,
            NEAR_PRIVATE_KEY_FILE=str(var_dir / "platform.json"),
            NEAR_KEYS_DIR="",  # one key unless a run names its pool
            AUTO_PAYOUT_NEAR="",  # only the payouts the benchmark requests
        )
        django_setup(env)
        _run(args, env=env, server_url=server.url, var_dir=var_dir)
    finally:
        server.shutdown()


def _run(args: argparse.Namespace, *, env: dict[str, str], server_url: str, var_dir: Path) -> None:
    import redis
    from django.db import connection
    from django.test import override_settings

    from payouts.money import near_to_yocto
    from payouts.services import chain as chain_services

    runs: list[tuple[str, int]] = []  # (mode, keys)
    if args.mode in ("eager", "both"):
        runs.append(("eager", 1))
    if args.mode in ("celery", "both"):
        runs.extend(("celery", keys) for keys in args.keys)
    owed = near_to_yocto(PAYOUT_NEAR) * args.payouts * len(runs)
    with override_settings(NEAR_IS_LOCALNET=True):  # bootstrap refuses anything else
        chain_services.localnet_platform_bootstrap(
            capital=owed + near_to_yocto(PLATFORM_RESERVE_NEAR)
        )

    log(f"raw chain: {args.payouts} signed transfers, one sender, send_tx FINAL, sequential")
    raw_rate, raw_latencies = raw_chain_throughput(server_url, args.payouts)

    results: list[ModeResult] = []
    for mode, keys in runs:
        tag = mode if mode == "eager" else f"{mode}-{keys}"
        log(f"seeding {args.payouts} contributors with earnings ({tag})")
        users = contributors_seed(count=args.payouts, tag=tag)
        if mode == "eager":
            log(f"eager: requesting {args.payouts} payouts")
            results.append(run_eager(users))
        else:
            concurrency = args.concurrency or max(1, min(keys, args.max_concurrency))
            log(f"celery: {keys} key(s), {concurrency} worker process(es), {args.payouts} payouts")
            redis.Redis.from_url(args.redis_url).flushdb()
            connection.close()  # no open transaction or idle lock while the worker runs
            results.append(
                run_celery(
                    users,
                    env=env,
                    keys=keys,
                    concurrency=concurrency,
                    timeout=args.timeout,
                    log_dir=var_dir,
                )
            )
            redis.Redis.from_url(args.redis_url).flushdb()

    print()
    print(
        f"Payout benchmark: local NEAR RPC (payouts.near.localnet, not NEAR) at {server_url}, "
        f"fsync={'off' if args.no_fsync else 'on'}; PostgreSQL "
        f"{args.database_url.rsplit('@', 1)[-1]}; {PAYOUT_NEAR} NEAR per payout "
        "to a fresh implicit account"
    )
    print(
        f"raw chain: {raw_rate:.1f} signed transfers/s through NearClient.send_tx "
        f"(sequential, one sender); send_tx p50 {ms(percentile(raw_latencies, 50))} ms, "
        f"p95 {ms(percentile(raw_latencies, 95))} ms"
    )
    print(
        "latency = acceptance to confirmation (Payout.created_at, set by payout_request, -> "
        "finished_at); wall = first created_at -> last finished_at"
    )
    print()
    print(report(results))
    for r in results:
        if r.rate and raw_rate:
            label = r.mode if r.mode == "eager" else f"celery, {r.keys} key(s)"
            print(f"{label}: {r.rate / raw_rate:.2f} of the raw chain rate")


def _pool_sizes(text: str) -> list[int]:
    try:
        sizes = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of integers: {text!r}") from None
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError("pool sizes are integers of at least 1")
    return sizes


if __name__ == "__main__":
    main()

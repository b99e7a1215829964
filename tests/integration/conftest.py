"""Real services for integration tests: PostgreSQL, Redis and a Celery worker process."""

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from django.db import connection

from config.celery import app as celery_app

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _require(reason: str) -> None:
    if os.environ.get("NEARLABEL_REQUIRE_SERVICES") == "1":
        pytest.fail(f"integration services missing: {reason}")
    pytest.skip(reason)


@pytest.fixture
def real_services(transactional_db) -> str:
    """PostgreSQL and Redis must be there; returns the Redis URL (emptied)."""
    if connection.vendor != "postgresql":
        _require("the integration tests run on PostgreSQL (set DATABASE_URL)")
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).flushdb()
    except redis.RedisError as exc:
        _require(f"Redis at {REDIS_URL} is not answering ({exc})")
    return REDIS_URL


def _database_url() -> str:
    s = connection.settings_dict
    user = s.get("USER") or "postgres"
    password = f":{s['PASSWORD']}" if s.get("PASSWORD") else ""
    host = f"{s.get('HOST') or '127.0.0.1'}:{s.get('PORT') or 5432}"
    return f"postgres://{user}{password}@{host}/{s['NAME']}"


@pytest.fixture
def celery_worker_process(real_services, chain) -> Iterator[subprocess.Popen]:
    """A real `celery worker` on the test database, Redis and the test's local chain.

    The test process itself enqueues to Redis (not eagerly) while this runs.
    """
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "REDIS_URL": real_services,
        "NEAR_RPC_URL": chain.url,
        "NEAR_ACCOUNT_ID": chain.platform_key.account_id,
        "NEAR_PRIVATE_KEY_FILE": str(chain.key_file),
        "DJANGO_DEBUG": "1",
        "DB_CONN_MAX_AGE": "0",
    }
    log_path = chain.key_file.parent / "worker.log"
    log = log_path.open("wb")
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "-Q",
            "default,payouts",
            "--concurrency",
            "2",
            "--loglevel",
            "INFO",
            "--without-gossip",
            "--without-mingle",
            "-n",
            f"test-{os.getpid()}@%h",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: the pool children die with it
    )
    previous = (celery_app.conf.task_always_eager, celery_app.conf.broker_url)
    _celery_pools_reset()  # pools made by eager tasks earlier point at the memory broker
    celery_app.conf.task_always_eager = False
    celery_app.conf.broker_url = real_services
    try:
        deadline = time.monotonic() + 60
        while b"ready" not in log_path.read_bytes():
            if worker.poll() is not None or time.monotonic() > deadline:
                pytest.fail("celery worker did not start:\n" + log_path.read_text()[-3000:])
            time.sleep(0.2)
        yield worker
    finally:
        celery_app.conf.task_always_eager, celery_app.conf.broker_url = previous
        _celery_pools_reset()
        _stop(worker)
        log.close()
        print("--- celery worker log (tail) ---\n" + log_path.read_text()[-4000:])


def _celery_pools_reset() -> None:
    """Forget the broker connection and producer pools; new ones follow the current conf."""
    celery_app.close()
    celery_app.amqp._producer_pool = None


def _stop(worker: subprocess.Popen) -> None:
    """Warm shutdown of the worker and its pool, then SIGKILL whatever is left."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(worker.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        worker.wait(timeout=20)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(worker.pid, signal.SIGKILL)
    worker.wait(timeout=10)

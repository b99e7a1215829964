"""Real Celery worker processes for integration and fault tests."""

import contextlib
import fcntl
import hashlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connection

from config.celery import app as celery_app

ROOT = Path(__file__).resolve().parents[1]
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def require_services(reason: str) -> None:
    """Skip, or fail when `make test` said the services must be there."""
    if os.environ.get("NEARLABEL_REQUIRE_SERVICES") == "1":
        pytest.fail(f"integration services missing: {reason}")
    pytest.skip(reason)


@contextlib.contextmanager
def redis_db_held(url: str) -> Iterator[None]:
    """Hold `url`'s Redis db for this process until the block ends: a lock file every
    test process of this machine (xdist workers, another run) takes for the same URL."""
    name = hashlib.sha256(url.encode()).hexdigest()[:16]
    path = Path(tempfile.gettempdir()) / f"nearlabel-test-redis-{name}.lock"
    with path.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # waits for the test holding it
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def database_url() -> str:
    """A URL of the test database (pytest-django's), for processes outside this one."""
    s = connection.settings_dict
    user = s.get("USER") or "postgres"
    password = f":{s['PASSWORD']}" if s.get("PASSWORD") else ""
    host = f"{s.get('HOST') or '127.0.0.1'}:{s.get('PORT') or 5432}"
    return f"postgres://{user}{password}@{host}/{s['NAME']}"


class CeleryWorker:
    """One `celery worker` process group, logging to a file."""

    def __init__(self, *, env: dict[str, str], log_path: Path, name: str, concurrency: int = 2):
        self.log_path = log_path
        self._log = log_path.open("ab")
        self._start_offset = log_path.stat().st_size
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "-Q",
                "default,payouts,quality",
                "--concurrency",
                str(concurrency),
                "--loglevel",
                "INFO",
                "--without-gossip",
                "--without-mingle",
                "-n",
                f"{name}@%h",
            ],
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: the pool children die with it
        )

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while True:
            with self.log_path.open("rb") as log:
                log.seek(self._start_offset)
                if b"ready" in log.read():
                    return
            if self.process.poll() is not None or time.monotonic() > deadline:
                pytest.fail("celery worker did not start:\n" + self.log_path.read_text()[-3000:])
            time.sleep(0.2)

    def kill(self) -> None:
        """SIGKILL the worker and its pool at once: a crash, not a shutdown."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        self._log.close()

    def stop(self) -> None:
        """Warm shutdown, then SIGKILL whatever is left."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=20)
        self.kill()


def worker_env(*, redis_url: str, chain) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url(),
        "REDIS_URL": redis_url,
        "NEAR_RPC_URL": chain.url,
        "NEAR_ACCOUNT_ID": chain.platform_key.account_id,
        "NEAR_PRIVATE_KEY_FILE": str(chain.key_file),
        # The suite's settings (debug off, over plain HTTP; see tests/settings.py).
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DB_CONN_MAX_AGE": "0",
    }


def celery_pools_reset() -> None:
    """Forget the broker connection and producer pools; new ones follow the current conf."""
    celery_app.close()
    celery_app.amqp._producer_pool = None


@contextlib.contextmanager
def tasks_sent_to(broker_url: str) -> Iterator[None]:
    """While inside, this process enqueues tasks to the broker instead of running them."""
    previous = (celery_app.conf.task_always_eager, celery_app.conf.broker_url)
    celery_pools_reset()  # pools made by eager tasks earlier point at the memory broker
    celery_app.conf.task_always_eager = False
    celery_app.conf.broker_url = broker_url
    try:
        yield
    finally:
        celery_app.conf.task_always_eager, celery_app.conf.broker_url = previous
        celery_pools_reset()

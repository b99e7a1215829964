"""Shared fixtures: users, funded projects, API clients and the local NEAR RPC."""

import contextlib
import copy
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import override_settings
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from payouts.money import near_to_yocto
from payouts.near.keys import NearKey, key_generate, key_save
from tests.factories import UserFactory

PLATFORM_ACCOUNT = "nearlabel.localnet"
PLATFORM_CAPITAL = near_to_yocto("1000")  # the platform wallet's balance at genesis
# The test chain's polling timeout (nearcore's is 10 s): how long a send or lookup that
# waits for a transaction which never comes takes to answer TIMEOUT_ERROR.
POLLING_TIMEOUT = 0.5  # seconds
BLOCK_INTERVAL = 0.02  # seconds between the blocks the chain produces while a call waits


class Chain:
    """A running local NEAR RPC with the platform account and a faucet for tests."""

    def __init__(self, server, platform_key: NearKey, key_file: Path) -> None:
        from payouts.near.client import NearClient

        self.server = server
        self.url = server.url
        self.platform_key = platform_key
        self.key_file = key_file
        self.client = NearClient(server.url, timeout=10)

    def account_create(self, *, amount_near: str = "100", account_id: str | None = None) -> NearKey:
        key = key_generate(account_id=account_id)
        self.client.sandbox(
            "sandbox_create_account",
            {
                "account_id": key.account_id,
                "public_key": key.public_key,
                "amount": str(near_to_yocto(amount_near)),
            },
        )
        return key

    def balance(self, account_id: str) -> int:
        from payouts.near.client import NearRpcError

        try:
            return int(self.client.view_account(account_id=account_id)["amount"])
        except NearRpcError as exc:
            if exc.is_unknown_account:
                return 0
            raise

    def transfer(
        self, *, key: NearKey, receiver_id: str, amount: int, wait_until: str = "FINAL"
    ) -> str:
        """Sign and send a transfer from a test account, waiting until `wait_until`;
        returns its hash."""
        from payouts.near.keys import transfer_sign

        access_key = self.client.view_access_key(
            account_id=key.account_id, public_key=key.public_key
        )
        block = self.client.latest_block()
        signed = transfer_sign(
            key=key,
            receiver_id=receiver_id,
            amount=amount,
            nonce=int(access_key["nonce"]) + 1,
            block_hash=block["header"]["hash"],
        )
        self.client.send_tx(signed_tx=signed.signed_bytes, wait_until=wait_until)
        return signed.tx_hash


def chain_start(directory: Path) -> tuple[object, Chain]:
    from payouts.near.localnet import localnet_serve

    server = localnet_serve(
        state_path=directory / "state.json",
        port=0,
        polling_timeout=POLLING_TIMEOUT,
        block_interval=BLOCK_INTERVAL,
    )
    platform_key = key_generate(account_id=PLATFORM_ACCOUNT)
    key_file = directory / "platform.json"
    key_save(platform_key, key_file)
    chain = Chain(server, platform_key, key_file)
    chain.client.sandbox(
        "sandbox_create_account",
        {
            "account_id": PLATFORM_ACCOUNT,
            "public_key": platform_key.public_key,
            "amount": str(PLATFORM_CAPITAL),
        },
    )
    return server, chain


# What gives a test the database: without one of these pytest-django refuses it any query.
DATABASE_FIXTURES = {
    "db",
    "transactional_db",
    "live_server",
    "django_db_reset_sequences",
    "django_db_serialized_rollback",
}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--db-tests-only",
        action="store_true",
        help="run only the tests that may use the database (the SQLite pass of make test)",
    )


def _database_test(item: pytest.Item) -> bool:
    from django.test import TransactionTestCase

    cls = getattr(item, "cls", None)
    return (
        (cls is not None and issubclass(cls, TransactionTestCase))
        or item.get_closest_marker("django_db") is not None
        or bool(DATABASE_FIXTURES & set(getattr(item, "fixturenames", ())))
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """`--db-tests-only` leaves out the tests that cannot reach the database (pytest-django
    blocks them from it): they pass or fail alike whichever database is configured, and
    the PostgreSQL pass of `make test` has run them already."""
    if not config.getoption("--db-tests-only"):
        return
    kept = [item for item in items if _database_test(item)]
    if len(kept) < len(items):
        config.hook.pytest_deselected(items=[item for item in items if item not in kept])
        items[:] = kept


@pytest.fixture(scope="session", autouse=True)
def _stray_connections_closed(django_db_setup, django_db_blocker) -> Iterator[None]:
    """End sessions left by live-server threads and worker processes, so that the test
    database can be dropped at the end of the run (and a rerun starts clean)."""
    yield
    from django.db import connection

    with django_db_blocker.unblock():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )


@contextlib.contextmanager
def rows_shared(django_db_blocker, create: Callable[[], Any]) -> Iterator[Callable[[], Any]]:
    """Django's setUpTestData for a module- or class-scoped fixture: `create()` runs once,
    inside a transaction that stays open while the tests run and is rolled back after the
    last; each test's own transaction is a savepoint inside it, so what one test writes is
    gone before the next. Yields a function returning a deep copy of what `create` returned
    (model instances a test may change without the next test seeing it).

    Only for tests that are not transactional (`django_db`, not `transaction=True`, no
    live server): those would commit, or flush the tables, under it.
    """
    from django.db import transaction

    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        # As TestCase marks its own: durable blocks (journal_post) may run inside it.
        atomic._from_testcase = True
        atomic.__enter__()
        try:
            with override_settings(PASSWORD_HASHERS=FAST_HASHERS):
                rows = create()
        except BaseException:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)
            raise
    try:
        yield lambda: copy.deepcopy(rows)
    finally:
        with django_db_blocker.unblock():
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings) -> None:
    settings.PASSWORD_HASHERS = FAST_HASHERS


@pytest.fixture(scope="session")
def _platform_key_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("platform-key")
    key_save(key_generate(account_id=PLATFORM_ACCOUNT), directory / "platform.json")
    return directory / "platform.json"


@pytest.fixture(autouse=True)
def _platform_key_file(_platform_key_path: Path) -> Iterator[Path]:
    """Exports and dataset builds sign their manifests with the platform's key: every
    test has one (a key file of the session, on no chain); the `chain` fixture puts its
    own platform key in place instead, registered on its chain."""
    from payouts.services import chain as chain_services

    chain_services._key_from_file.cache_clear()
    with override_settings(
        NEAR_ACCOUNT_ID=PLATFORM_ACCOUNT,
        NEAR_PRIVATE_KEY_FILE=str(_platform_key_path),
        NEAR_KEYS_DIR=str(_platform_key_path.parent / "keys"),
    ):
        yield _platform_key_path
    chain_services._key_from_file.cache_clear()


@pytest.fixture(autouse=True)
def _throttle_state_cleared() -> Iterator[None]:
    """Rate-limit counters live in the shared cache: every test starts and ends with none."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[Chain]:
    """A fresh local chain for one test, with settings pointing the app at it."""
    from payouts.services import chain as chain_services

    server, chain = chain_start(tmp_path)
    chain_services._key_from_file.cache_clear()
    with override_settings(
        NEAR_RPC_URL=chain.url,
        NEAR_IS_LOCALNET=True,
        NEAR_ACCOUNT_ID=PLATFORM_ACCOUNT,
        NEAR_PRIVATE_KEY_FILE=str(chain.key_file),
        NEAR_KEYS_DIR=str(tmp_path / "keys"),
    ):
        yield chain
    chain_services._key_from_file.cache_clear()
    server.shutdown()


def api_client_for(user) -> APIClient:
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def requester(db):
    return UserFactory(username="requester")


@pytest.fixture
def requester_api(requester) -> APIClient:
    return api_client_for(requester)


@pytest.fixture
def real_services(transactional_db) -> Iterator[str]:
    """PostgreSQL and Redis must be there; returns the Redis URL (emptied).

    The test holds the Redis db to itself: under pytest-xdist (`make test` runs two
    workers) the other worker's tests that use it wait, rather than empty its queues or
    have their tasks run by this test's Celery workers (on another test database)."""
    import redis
    from django.db import connection

    from tests.workers import REDIS_URL, redis_db_held, require_services

    if connection.vendor != "postgresql":
        require_services("the integration tests run on PostgreSQL (set DATABASE_URL)")
    with redis_db_held(REDIS_URL):
        try:
            redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).flushdb()
        except redis.RedisError as exc:
            require_services(f"Redis at {REDIS_URL} is not answering ({exc})")
        yield REDIS_URL


@pytest.fixture
def celery_worker_process(real_services, chain):
    """A real `celery worker` on the test database, Redis and the test's local chain;
    this process enqueues to Redis (not eagerly) while it runs."""
    from tests.workers import CeleryWorker, tasks_sent_to, worker_env

    log_path = chain.key_file.parent / "worker.log"
    log_path.touch()
    worker = CeleryWorker(
        env=worker_env(redis_url=real_services, chain=chain), log_path=log_path, name="test"
    )
    try:
        worker.wait_ready()
        with tasks_sent_to(real_services):
            yield worker
    finally:
        worker.stop()
        print("--- celery worker log (tail) ---\n" + log_path.read_text()[-4000:])


# --- NEP-413 proofs (Sign in with NEAR) -------------------------------------------------


def nep413_body(key: NearKey, challenge: dict, **overrides) -> dict:
    """The body a wallet holding `key` would send for an API `challenge` (the JSON of
    POST /api/auth/near/challenge); `overrides` replace fields after signing, to forge."""
    from payouts.near.nep413 import nep413_signed_body

    body = nep413_signed_body(key=key, challenge=challenge)
    body.update(overrides)
    return body


def nep413_proof(key: NearKey, challenge=None, **overrides) -> dict:
    """As nep413_body, for an AuthChallenge row (a new one by default)."""
    from payouts.services.auth import auth_challenge_create, nonce_to_wire

    challenge = challenge or auth_challenge_create()
    wire = {
        "nonce": nonce_to_wire(challenge.nonce),
        "message": challenge.message,
        "recipient": challenge.recipient,
    }
    return nep413_body(key, wire, **overrides)


def near_account_prove(user, key: NearKey):
    """Link `key`'s account to `user` as verified, through the real service and a signature.

    Implicit accounts need no chain; a named account must hold `key` on the `chain`."""
    from payouts.services.accounts import near_account_link_verified
    from payouts.services.auth import NearProof

    return near_account_link_verified(user=user, proof=NearProof(**nep413_proof(key)))

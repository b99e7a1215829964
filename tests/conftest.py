"""Shared fixtures: users, funded projects, API clients and the local NEAR RPC."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from django.test import override_settings
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from payouts.money import near_to_yocto
from payouts.near.keys import NearKey, key_generate, key_save
from tests.factories import UserFactory

PLATFORM_ACCOUNT = "nearlabel.localnet"
PLATFORM_CAPITAL = near_to_yocto("1000")  # the platform wallet's balance at genesis


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

    def transfer(self, *, key: NearKey, receiver_id: str, amount: int) -> str:
        """Sign and send a transfer from a test account; returns its hash."""
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
        self.client.send_tx(signed_tx=signed.signed_bytes, wait_until="FINAL")
        return signed.tx_hash


def chain_start(directory: Path) -> tuple[object, Chain]:
    from payouts.near.localnet import localnet_serve

    server = localnet_serve(state_path=directory / "state.json", port=0)
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


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


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

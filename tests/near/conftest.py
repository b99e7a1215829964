"""Fixtures for the NEAR tests: an in-process localnet on a free port, in a tmp dir."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from payouts.near import keys
from payouts.near.client import NearClient
from payouts.near.localnet import LocalNetServer, localnet_serve

NEAR = 10**24  # yoctoNEAR
POLLING_TIMEOUT = 0.5  # seconds a waiting call polls before TIMEOUT_ERROR (nearcore: 10)
BLOCK_INTERVAL = 0.02  # seconds between the blocks produced while a call waits


@pytest.fixture
def state_path(tmp_path: Path) -> Path:
    return tmp_path / "localnet" / "state.json"


@pytest.fixture
def server(state_path: Path) -> Iterator[LocalNetServer]:
    srv = localnet_serve(
        state_path=state_path, polling_timeout=POLLING_TIMEOUT, block_interval=BLOCK_INTERVAL
    )
    yield srv
    srv.shutdown()


@pytest.fixture
def near(server: LocalNetServer) -> Iterator[NearClient]:
    client = NearClient(server.url, timeout=5.0)
    yield client
    client.close()


@pytest.fixture
def fund(near: NearClient) -> Callable[..., keys.NearKey]:
    """Create an account through the faucet; returns its full-access key."""

    def _fund(account_id: str | None = None, *, amount: int = 10 * NEAR) -> keys.NearKey:
        key = keys.key_generate(account_id=account_id)
        near.sandbox(
            "sandbox_create_account",
            {"account_id": key.account_id, "public_key": key.public_key, "amount": str(amount)},
        )
        return key

    return _fund

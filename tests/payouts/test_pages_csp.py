"""The Content-Security-Policy lets the pages' wallets reach only what they need: the NEAR
RPC everywhere, and HERE Wallet's relay only where wallets are offered (testnet, mainnet),
never on the local chain. And sessions stay on secure cookies in production."""

import pytest

from tests.test_deploy_settings import _production_env, _settings

RPC = "https://rpc.testnet.near.org"

pytestmark = pytest.mark.django_db


def _connect_src(response) -> list[str]:
    header = response["Content-Security-Policy"]
    [directive] = [part.split() for part in header.split(";") if "connect-src" in part]
    return directive[1:]


def test_on_testnet_the_rpc_and_the_here_wallet_relay_only(client, settings) -> None:
    settings.NEAR_IS_LOCALNET = False
    settings.NEAR_RPC_URL = RPC
    assert _connect_src(client.get("/signin/")) == ["'self'", RPC, "https://h4n.app"]


def test_on_the_local_chain_the_local_rpc_only(client, settings) -> None:
    settings.NEAR_IS_LOCALNET = True
    settings.NEAR_RPC_URL = "http://127.0.0.1:3030"
    assert _connect_src(client.get("/signin/")) == ["'self'", "http://127.0.0.1:3030"]


def test_production_on_testnet_names_the_network_and_keeps_cookies_secure(tmp_path) -> None:
    env = _production_env(
        tmp_path,
        NEAR_RPC_URL=RPC,
        NEAR_ACCOUNT_ID="nearlabel.testnet",
        NEAR_PRIVATE_KEY_FILE=str(tmp_path / "key.json"),
    )
    assert _settings(env, "NEAR_NETWORK_ID", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE") == [
        "'testnet'",
        "True",
        "True",
    ]

"""The Content-Security-Policy lets the pages' wallets reach only what they need: the NEAR
RPC everywhere, and HERE Wallet's relay only where wallets are offered (testnet, mainnet),
never on the local chain. And sessions stay on secure cookies in production."""

import ast

from tests.test_deploy_settings import _production_env, _settings

RPC = "https://rpc.testnet.near.org"


def _connect_src(env) -> list[str]:
    [policy] = _settings(env, "CONTENT_SECURITY_POLICY")
    return ast.literal_eval(policy)["DIRECTIVES"]["connect-src"]


def test_on_testnet_the_rpc_and_the_here_wallet_relay_only(tmp_path) -> None:
    env = _production_env(
        tmp_path,
        NEAR_RPC_URL=RPC,
        NEAR_ACCOUNT_ID="nearlabel.testnet",
        NEAR_PRIVATE_KEY_FILE=str(tmp_path / "key.json"),
    )
    assert _connect_src(env) == ["'self'", RPC, "https://h4n.app"]
    assert _settings(env, "NEAR_NETWORK_ID", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE") == [
        "'testnet'",
        "True",
        "True",
    ]


def test_on_the_local_chain_the_local_rpc_only(tmp_path) -> None:
    env = _production_env(tmp_path)
    assert _connect_src(env) == ["'self'", "http://127.0.0.1:3030"]
    assert _settings(env, "NEAR_NETWORK_ID") == ["'localnet'"]

"""The browser's NEAR library (static/vendor/near/near-lib.js, built from
frontend/src/near-lib.js) and the server's agree byte for byte: the same key gives the same
account, NEP-413 signature and signed transfer, and what the browser signs verifies here.

The committed bundle itself runs under node (ed25519 is deterministic, so equal inputs must
give equal bytes); tests/browser/test_signin_browser.py runs it in chromium as well.
"""

import base64
import json
import shutil
import subprocess
from pathlib import Path

import base58
import pytest

from payouts.near.keys import NearKey, implicit_account_id, key_generate, transfer_sign
from payouts.near.nep413 import nep413_payload, nep413_sign, nep413_verify

BUNDLE = Path(__file__).resolve().parents[2] / "static" / "vendor" / "near" / "near-lib.js"
NODE = shutil.which("node")

pytestmark = pytest.mark.skipif(NODE is None, reason="node is not installed")


def run_bundle(tmp_path: Path, calls: list[dict]) -> list:
    """Run each {"fn": name, "args": {...}} through the bundle under node; their results.

    Byte arrays travel as {"$bytes": base64} both ways.
    """
    module = tmp_path / "near-lib.mjs"  # node reads a .js file as CommonJS
    module.write_bytes(BUNDLE.read_bytes())
    script = (
        f"import * as lib from {json.dumps(module.as_uri())};"
        + """
const revive = (_k, v) => (v && typeof v === "object" && "$bytes" in v)
  ? Uint8Array.from(Buffer.from(v.$bytes, "base64")) : v;
const calls = JSON.parse(process.argv[1], revive);
const out = calls.map(({fn, args}) => {
  const value = lib[fn](args);
  return value instanceof Uint8Array ? {$bytes: Buffer.from(value).toString("base64")} : value;
});
process.stdout.write(JSON.stringify(out));
"""
    )
    done = subprocess.run(
        [NODE, "--input-type=module", "-e", script, json.dumps(calls)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _bytes(value: bytes) -> dict:
    return {"$bytes": base64.b64encode(value).decode()}


def _account(key: NearKey) -> dict:
    return {
        "accountId": key.account_id,
        "publicKey": key.public_key,
        "secretKey": key.secret_key_reveal(),
    }


def test_a_key_made_in_the_browser_is_a_valid_implicit_account_here(tmp_path) -> None:
    [made] = run_bundle(tmp_path, [{"fn": "accountCreate", "args": {}}])
    key = NearKey.from_secret_key(account_id=made["accountId"], secret_key=made["secretKey"])
    assert key.public_key == made["publicKey"]
    assert made["accountId"] == implicit_account_id(made["publicKey"])
    assert len(made["accountId"]) == 64


def test_a_pasted_secret_key_restores_the_same_account(tmp_path) -> None:
    key = key_generate()
    seed = base58.b58decode(key.secret_key_reveal().removeprefix("ed25519:"))[:32]
    seed_only = "ed25519:" + base58.b58encode(seed).decode()
    restored, from_seed = run_bundle(
        tmp_path,
        [
            {"fn": "accountFromSecretKey", "args": key.secret_key_reveal()},
            {"fn": "accountFromSecretKey", "args": seed_only},
        ],
    )
    assert restored == _account(key)
    assert from_seed == _account(key)  # stored in the canonical 64-byte form


def test_the_nep413_payload_is_the_servers_byte_for_byte(tmp_path) -> None:
    nonce = bytes(range(32))
    cases = [
        {"message": "Sign in to Nearlabel", "recipient": "nearlabel.localhost"},
        {"message": "é ☃ 𝄞", "recipient": "x.near", "callbackUrl": "https://a.example/b?c=d"},
        {"message": "", "recipient": "", "callbackUrl": ""},
    ]
    results = run_bundle(
        tmp_path,
        [{"fn": "nep413Payload", "args": {**case, "nonce": _bytes(nonce)}} for case in cases],
    )
    for case, result in zip(cases, results, strict=True):
        expected = nep413_payload(
            message=case["message"],
            nonce=nonce,
            recipient=case["recipient"],
            callback_url=case.get("callbackUrl"),
        )
        assert base64.b64decode(result["$bytes"]) == expected


@pytest.mark.parametrize("callback_url", [None, "http://localhost:8000/signin/?next=/me/"])
def test_a_challenge_signed_in_the_browser_verifies_on_the_server(tmp_path, callback_url) -> None:
    key = key_generate()
    nonce = bytes(range(100, 132))
    challenge = {
        "nonce": base64.b64encode(nonce).decode(),
        "recipient": "nearlabel.localhost",
        "message": "Sign in to Nearlabel",
    }
    [body] = run_bundle(
        tmp_path,
        [
            {
                "fn": "nep413Sign",
                "args": {
                    "account": _account(key),
                    "challenge": challenge,
                    "callbackUrl": callback_url,
                },
            }
        ],
    )
    signature = base64.b64decode(body["signature"])
    assert nep413_verify(
        public_key=body["public_key"],
        signature=signature,
        message=body["message"],
        nonce=base64.b64decode(body["nonce"]),
        recipient=body["recipient"],
        callback_url=body.get("callback_url"),
    )
    # ed25519 is deterministic: the very bytes the server's own signer makes
    assert signature == nep413_sign(
        key=key,
        message=challenge["message"],
        nonce=nonce,
        recipient=challenge["recipient"],
        callback_url=callback_url,
    )
    assert body["account_id"] == key.account_id
    assert body.get("callback_url") == callback_url
    # and a changed field does not verify (the test can fail)
    assert not nep413_verify(
        public_key=body["public_key"],
        signature=signature,
        message=body["message"] + ".",
        nonce=nonce,
        recipient=body["recipient"],
        callback_url=callback_url,
    )


def test_a_transfer_signed_in_the_browser_is_the_servers_byte_for_byte(tmp_path) -> None:
    key = key_generate()
    block_hash = "4reLvkAWfqk5fsqio1KLudk46cqRz9erQdaHkWZKMJDZ"
    amount = 12_345_678_901_234_567_890_123_456  # > 2**64: u128 on the wire
    [signed] = run_bundle(
        tmp_path,
        [
            {
                "fn": "transferSign",
                "args": {
                    "account": _account(key),
                    "receiverId": "nearlabel.localnet",
                    "amount": str(amount),
                    "nonce": "18446744073709551615",  # u64's largest
                    "blockHash": block_hash,
                },
            }
        ],
    )
    expected = transfer_sign(
        key=key,
        receiver_id="nearlabel.localnet",
        amount=amount,
        nonce=2**64 - 1,
        block_hash=block_hash,
    )
    assert base64.b64decode(signed["signedBase64"]) == expected.signed_bytes
    assert signed["txHash"] == expected.tx_hash


def test_the_wallet_selector_bundle_parses_as_a_module(tmp_path) -> None:
    """The 2 MB bundle is only loaded on a click in testnet/mainnet pages: a syntax error
    in it (esbuild output of a shim, say) would show nowhere else."""
    module = tmp_path / "near-selector.mjs"
    module.write_bytes((BUNDLE.parent / "near-selector.js").read_bytes())
    done = subprocess.run(
        [NODE, "--check", str(module)], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]

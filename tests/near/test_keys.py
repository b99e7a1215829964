"""Keys: generation, NEAR CLI key files, transfer signing, signature checks, account ids."""

from __future__ import annotations

import hashlib
import json
import stat
from pathlib import Path

import base58
import nacl.signing
import pytest

from payouts.near import keys
from payouts.near.keys import KeyFileError, NearKey, NearKeyError

# RFC 8032 section 7.1, test 1: seed, public key, and the signature of the empty message.
RFC_SEED = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
RFC_PUBLIC = bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
RFC_SIGNATURE = bytes.fromhex(
    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
)
RFC_SECRET = "ed25519:" + base58.b58encode(RFC_SEED + RFC_PUBLIC).decode()
RFC_PUBLIC_KEY = "ed25519:" + base58.b58encode(RFC_PUBLIC).decode()
BLOCK_HASH = base58.b58encode(bytes(range(32))).decode()


def test_key_from_rfc8032_vector_signs_like_the_rfc() -> None:
    key = NearKey.from_secret_key(account_id="alice.near", secret_key=RFC_SECRET)
    assert key.public_key == RFC_PUBLIC_KEY
    assert key.sign(b"") == RFC_SIGNATURE
    assert keys.implicit_account_id(key.public_key) == RFC_PUBLIC.hex()


def test_key_generate_implicit_and_named() -> None:
    implicit = keys.key_generate()
    assert implicit.account_id == keys.implicit_account_id(implicit.public_key)
    assert len(implicit.account_id) == 64
    named = keys.key_generate(account_id="payouts.nearlabel.testnet")
    assert named.account_id == "payouts.nearlabel.testnet"
    assert named.public_key != implicit.public_key
    with pytest.raises(NearKeyError):
        keys.key_generate(account_id="Bad..Id")


def test_secret_never_in_repr_str_or_vars() -> None:
    key = NearKey.from_secret_key(account_id="alice.near", secret_key=RFC_SECRET)
    secret_b58 = RFC_SECRET.split(":")[1]
    for dump in (repr(key), str(key), repr(vars(key)), str(vars(key)), f"{key}", f"{key!r}"):
        assert secret_b58 not in dump
        assert RFC_SECRET not in dump
    assert repr(key) == f"NearKey(account_id='alice.near', public_key='{RFC_PUBLIC_KEY}')"
    assert key.secret_key_reveal() == RFC_SECRET


def test_inconsistent_secret_refused() -> None:
    other = keys.key_generate()
    wrong = (
        "ed25519:" + base58.b58encode(RFC_SEED + keys.public_key_bytes(other.public_key)).decode()
    )
    with pytest.raises(NearKeyError, match="does not match its seed"):
        NearKey.from_secret_key(account_id="alice.near", secret_key=wrong)


def test_key_save_and_load_roundtrip(tmp_path: Path) -> None:
    key = keys.key_generate(account_id="alice.near")
    path = tmp_path / "deep" / "er" / "alice.near.json"
    keys.key_save(key, path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in path.parent.iterdir()) == ["alice.near.json"]  # no temp left
    data = json.loads(path.read_text())
    assert data == {
        "account_id": "alice.near",
        "public_key": key.public_key,
        "private_key": key.secret_key_reveal(),
    }
    assert keys.key_load(path) == key
    keys.key_save(key, path)  # a repeat rewrites the same file
    assert keys.key_load(path) == key


def test_key_load_accepts_secret_key_field(tmp_path: Path) -> None:
    path = tmp_path / "k.json"
    path.write_text(
        json.dumps(
            {"account_id": "bob.near", "public_key": RFC_PUBLIC_KEY, "secret_key": RFC_SECRET}
        )
    )
    key = keys.key_load(path)
    assert key.account_id == "bob.near"
    assert key.public_key == RFC_PUBLIC_KEY


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "does not exist"),
        ("{not json " + RFC_SECRET, "not valid JSON"),
        ("[1, 2]", "JSON object"),
        (json.dumps({"account_id": "a.near", "public_key": RFC_PUBLIC_KEY}), "private_key"),
        (
            json.dumps({"public_key": RFC_PUBLIC_KEY, "private_key": RFC_SECRET}),
            "account_id",
        ),
        (
            json.dumps(
                {
                    "account_id": "a.near",
                    "public_key": keys.key_generate().public_key,
                    "private_key": RFC_SECRET,
                }
            ),
            "does not match the private key",
        ),
        (
            json.dumps(
                {
                    "account_id": "a.near",
                    "public_key": RFC_PUBLIC_KEY,
                    "private_key": "ed25519:0OIl",
                }
            ),
            "base58",
        ),
        (
            json.dumps(
                {"account_id": "A..near", "public_key": RFC_PUBLIC_KEY, "private_key": RFC_SECRET}
            ),
            "invalid NEAR account id",
        ),
        (
            json.dumps(
                {"account_id": "a.near", "public_key": "ed25519:xyz", "private_key": RFC_SECRET}
            ),
            "public key",
        ),
    ],
)
def test_key_load_errors_are_clear_and_secret_free(
    tmp_path: Path, content: str | None, message: str
) -> None:
    path = tmp_path / "key.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(KeyFileError, match=message) as excinfo:
        keys.key_load(path)
    text = str(excinfo.value) + repr(excinfo.value)
    assert RFC_SECRET.split(":")[1] not in text
    assert str(path) in text


# A known-good signed transfer: the key from seed bytes 0..31, alice.test.near ->
# bob.test.near, nonce 1000001, 1 NEAR, on this block hash. Its hash and length are pinned as
# literals, so a change in how the bytes are built (or hashed) cannot go unnoticed.
VECTOR_SEED = bytes(range(32))
VECTOR_BLOCK_HASH = "GMtr54Rf8gxNEnbosJrHfYTNrbHyLh1UQzdwHnPv2EqX"
VECTOR_TX_HASH = "4oVoijnZyXXwR3fHxfWPXCsjYU8FVDG8fz3STPjiZPSw"
VECTOR_SIGNED_LENGTH = 195  # bytes


def test_transfer_sign_matches_the_known_good_vector() -> None:
    public = bytes(nacl.signing.SigningKey(VECTOR_SEED).verify_key)
    key = NearKey.from_secret_key(
        account_id="alice.test.near",
        secret_key="ed25519:" + base58.b58encode(VECTOR_SEED + public).decode(),
    )
    signed = keys.transfer_sign(
        key=key,
        receiver_id="bob.test.near",
        amount=10**24,
        nonce=1_000_001,
        block_hash=VECTOR_BLOCK_HASH,
    )
    assert signed.tx_hash == VECTOR_TX_HASH
    assert len(signed.signed_bytes) == VECTOR_SIGNED_LENGTH


def test_transfer_sign_hash_signature_and_determinism() -> None:
    key = NearKey.from_secret_key(account_id="alice.near", secret_key=RFC_SECRET)
    signed = keys.transfer_sign(
        key=key, receiver_id="bob.near", amount=10**24, nonce=7, block_hash=BLOCK_HASH
    )
    tx_bytes = signed.signed_bytes[:-65]
    assert signed.signed_bytes[-65] == 0  # ed25519 signature type
    signature = signed.signed_bytes[-64:]
    assert keys.signature_verify(
        public_key=key.public_key, message=hashlib.sha256(tx_bytes).digest(), signature=signature
    )
    assert (signed.signer_id, signed.receiver_id, signed.nonce, signed.amount) == (
        "alice.near",
        "bob.near",
        7,
        10**24,
    )
    again = keys.transfer_sign(
        key=key, receiver_id="bob.near", amount=10**24, nonce=7, block_hash=BLOCK_HASH
    )
    assert again == signed
    assert base58.b58decode(signed.block_hash) == bytes(range(32))
    import base64

    assert base64.b64decode(signed.base64()) == signed.signed_bytes
    other = keys.transfer_sign(
        key=key, receiver_id="bob.near", amount=10**24, nonce=8, block_hash=BLOCK_HASH
    )
    assert other.tx_hash != signed.tx_hash


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"amount": -1}, "amount"),
        ({"amount": 2**128}, "amount"),
        ({"amount": 1.5}, "amount"),
        ({"amount": True}, "amount"),
        ({"nonce": 0}, "nonce"),
        ({"nonce": 2**64}, "nonce"),
        ({"receiver_id": "Bob.near"}, "receiver"),
        ({"block_hash": "short"}, "32 bytes"),
        ({"block_hash": "0OIl"}, "base58"),
    ],
)
def test_transfer_sign_refuses_bad_arguments(kwargs: dict[str, object], message: str) -> None:
    key = keys.key_generate(account_id="alice.near")
    args: dict[str, object] = {
        "key": key,
        "receiver_id": "bob.near",
        "amount": 1,
        "nonce": 1,
        "block_hash": BLOCK_HASH,
    }
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        keys.transfer_sign(**args)  # type: ignore[arg-type]


def test_signature_verify() -> None:
    assert keys.signature_verify(public_key=RFC_PUBLIC_KEY, message=b"", signature=RFC_SIGNATURE)
    tampered = bytes([RFC_SIGNATURE[0] ^ 1]) + RFC_SIGNATURE[1:]
    assert not keys.signature_verify(public_key=RFC_PUBLIC_KEY, message=b"", signature=tampered)
    assert not keys.signature_verify(
        public_key=RFC_PUBLIC_KEY, message=b"x", signature=RFC_SIGNATURE
    )
    assert not keys.signature_verify(public_key="ed25519:bad", message=b"", signature=RFC_SIGNATURE)
    assert not keys.signature_verify(public_key=RFC_PUBLIC_KEY, message=b"", signature=b"short")
    other = keys.key_generate().public_key
    assert not keys.signature_verify(public_key=other, message=b"", signature=RFC_SIGNATURE)


@pytest.mark.parametrize(
    "account_id",
    [
        "ok",
        "bowen",
        "ek-2",
        "ek.near",
        "com",
        "google.com",
        "bowen.google.com",
        "near",
        "illia.cheap-accounts.near",
        "max_99.near",
        "100",
        "near2019",
        "over.9000",
        "a.bro",
        "a" * 64,
        "b-o_w_e-n",
        "no_lols",
        "0" * 64,
        "0123456789012345678901234567890123456789012345678901234567890123",
        "0x" + "ab" * 20,
    ],
)
def test_account_ids_valid(account_id: str) -> None:
    assert keys.account_id_is_valid(account_id)


@pytest.mark.parametrize(
    "account_id",
    [
        "",
        "a",
        "A",
        "Abc",
        "-near",
        "near-",
        "-near-",
        "near.",
        ".near",
        "near@",
        "@near",
        "неар",
        "$$$",
        "a..near",
        "a-_b",
        "a__b",
        "a--b",
        "a.-b",
        "a_.b",
        "a b",
        "a" * 65,
        "0x" + "AB" * 20,
        "near\n",
        123,
    ],
)
def test_account_ids_invalid(account_id: str) -> None:
    assert not keys.account_id_is_valid(account_id)
    assert keys.ACCOUNT_ID_RE.fullmatch("near") is not None


def test_implicit_account_id_and_public_key_errors() -> None:
    assert keys.implicit_account_id(RFC_PUBLIC_KEY) == RFC_PUBLIC.hex()
    with pytest.raises(NearKeyError):
        keys.implicit_account_id("secp256k1:abc")
    with pytest.raises(NearKeyError):
        keys.implicit_account_id("ed25519:" + base58.b58encode(b"x" * 31).decode())

"""Borsh decoding of SignedTransaction: round trips, every classic action, strict refusal."""

from __future__ import annotations

import contextlib

import base58
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from near_api.transactions import (
    Action as NearApiAction,
)
from near_api.transactions import (
    DeleteAccount as NearApiDeleteAccount,
)
from near_api.transactions import (
    DeleteKey as NearApiDeleteKey,
)
from near_api.transactions import (
    PublicKey as NearApiPublicKey,
)
from near_api.transactions import (
    create_create_account_action,
    create_deploy_contract_action,
    create_full_access_key_action,
    create_function_call_action,
    create_staking_action,
    create_transfer_action,
    sign_and_serialize_transaction,
)

from payouts.near import borsh, keys

BLOCK_HASH = base58.b58encode(bytes(range(32))).decode()


def _signed_transfer() -> tuple[keys.NearKey, keys.SignedTransaction]:
    key = keys.key_generate(account_id="alice.near")
    signed = keys.transfer_sign(
        key=key, receiver_id="bob.near", amount=123 * 10**24 + 7, nonce=42, block_hash=BLOCK_HASH
    )
    return key, signed


def test_roundtrip_transfer_sign() -> None:
    key, signed = _signed_transfer()
    decoded = borsh.decode_signed_transaction(signed.signed_bytes)
    tx = decoded.transaction
    assert tx.signer_id == "alice.near"
    assert str(tx.public_key) == key.public_key
    assert tx.nonce == 42
    assert tx.receiver_id == "bob.near"
    assert tx.block_hash == bytes(range(32))
    assert tx.block_hash_b58 == BLOCK_HASH
    assert tx.actions == [borsh.Transfer(deposit=123 * 10**24 + 7)]
    assert decoded.hash == signed.tx_hash
    assert decoded.tx_bytes == signed.signed_bytes[:-65]
    assert decoded.signature.key_type == 0
    assert keys.signature_verify(
        public_key=key.public_key, message=decoded.hash_bytes, signature=decoded.signature.data
    )
    assert borsh.decode_transaction(decoded.tx_bytes) == tx
    assert borsh.action_view(tx.actions[0]) == {"Transfer": {"deposit": str(123 * 10**24 + 7)}}


def _delete_key(pk: bytes) -> NearApiAction:
    public_key = NearApiPublicKey()
    public_key.keyType = 0
    public_key.data = pk
    delete_key = NearApiDeleteKey()
    delete_key.publicKey = public_key
    action = NearApiAction()
    action.enum = "deleteKey"
    action.deleteKey = delete_key
    return action


def _delete_account(beneficiary: str) -> NearApiAction:
    delete_account = NearApiDeleteAccount()
    delete_account.beneficiaryId = beneficiary
    action = NearApiAction()
    action.enum = "deleteAccount"
    action.deleteAccount = delete_account
    return action


def test_all_classic_actions_decode() -> None:
    key = keys.key_generate(account_id="alice.near")
    other = keys.key_generate()
    other_pk = keys.public_key_bytes(other.public_key)
    actions = [
        create_create_account_action(),
        create_deploy_contract_action(b"\x00asm\x01"),
        create_function_call_action("ft_transfer", b'{"a":1}', 30 * 10**12, 1),
        create_transfer_action(5),
        create_staking_action(10**24, other_pk),
        create_full_access_key_action(other_pk),
        _delete_key(other_pk),
        _delete_account("bob.near"),
    ]
    signed = sign_and_serialize_transaction(
        "new.alice.near", 9, actions, bytes(range(32)), key._near_api_signer()
    )
    decoded = borsh.decode_signed_transaction(signed).transaction
    other_key = borsh.PublicKey(key_type=0, data=other_pk)
    assert decoded.actions == [
        borsh.CreateAccount(),
        borsh.DeployContract(code=b"\x00asm\x01"),
        borsh.FunctionCall(method_name="ft_transfer", args=b'{"a":1}', gas=30 * 10**12, deposit=1),
        borsh.Transfer(deposit=5),
        borsh.Stake(stake=10**24, public_key=other_key),
        borsh.AddKey(
            public_key=other_key,
            access_key=borsh.AccessKey(nonce=0, permission=borsh.FullAccessPermission()),
        ),
        borsh.DeleteKey(public_key=other_key),
        borsh.DeleteAccount(beneficiary_id="bob.near"),
    ]
    views = [borsh.action_view(a) for a in decoded.actions]
    assert views[0] == "CreateAccount"
    assert views[2] == {
        "FunctionCall": {
            "method_name": "ft_transfer",
            "args": "eyJhIjoxfQ==",
            "gas": 30 * 10**12,
            "deposit": "1",
        }
    }
    assert views[5] == {
        "AddKey": {
            "public_key": other.public_key,
            "access_key": {"nonce": 0, "permission": "FullAccess"},
        }
    }
    assert views[7] == {"DeleteAccount": {"beneficiary_id": "bob.near"}}


def test_function_call_permission_decodes() -> None:
    # near-api-py cannot serialize FunctionCallPermission (its schema is broken), so by hand.
    def string(text: str) -> bytes:
        raw = text.encode()
        return len(raw).to_bytes(4, "little") + raw

    other_pk = bytes(range(1, 33))
    access_key = (
        (5).to_bytes(8, "little")
        + b"\x00"  # FunctionCall permission
        + b"\x01"
        + (10**24).to_bytes(16, "little")  # Some(allowance)
        + string("contract.near")
        + (2).to_bytes(4, "little")
        + string("a")
        + string("b")
    )
    tx = (
        string("alice.near")
        + b"\x00"
        + bytes(32)
        + (1).to_bytes(8, "little")
        + string("alice.near")
        + bytes(32)
        + (1).to_bytes(4, "little")
        + b"\x05"
        + b"\x00"
        + other_pk
        + access_key
    )
    decoded = borsh.decode_transaction(tx)
    assert decoded.actions[0] == borsh.AddKey(
        public_key=borsh.PublicKey(key_type=0, data=other_pk),
        access_key=borsh.AccessKey(
            nonce=5,
            permission=borsh.FunctionCallPermission(
                allowance=10**24, receiver_id="contract.near", method_names=["a", "b"]
            ),
        ),
    )
    assert borsh.action_view(decoded.actions[0])["AddKey"]["access_key"]["permission"] == {
        "FunctionCall": {
            "allowance": str(10**24),
            "receiver_id": "contract.near",
            "method_names": ["a", "b"],
        }
    }
    with pytest.raises(borsh.BorshError):
        borsh.decode_signed_transaction(tx)  # no signature


def test_every_truncation_refused() -> None:
    _, signed = _signed_transfer()
    data = signed.signed_bytes
    for end in range(len(data)):
        with pytest.raises(borsh.BorshError):
            borsh.decode_signed_transaction(data[:end])


def test_trailing_bytes_refused() -> None:
    _, signed = _signed_transfer()
    with pytest.raises(borsh.BorshError, match="trailing"):
        borsh.decode_signed_transaction(signed.signed_bytes + b"\x00")


def test_unknown_action_and_key_types_refused() -> None:
    _, signed = _signed_transfer()
    data = bytearray(signed.signed_bytes)
    # The single action's tag sits right after the u32 action count; it is the Transfer (3).
    tag_at = len(data) - 65 - 17
    assert data[tag_at] == 3
    data[tag_at] = 8  # Delegate: not a classic action
    with pytest.raises(borsh.BorshError, match="unsupported action tag 8"):
        borsh.decode_signed_transaction(bytes(data))
    data = bytearray(signed.signed_bytes)
    data[4 + len("alice.near")] = 2  # public key type
    with pytest.raises(borsh.BorshError, match="public key type"):
        borsh.decode_signed_transaction(bytes(data))
    data = bytearray(signed.signed_bytes)
    data[-65] = 9  # signature type
    with pytest.raises(borsh.BorshError, match="signature type"):
        borsh.decode_signed_transaction(bytes(data))


def test_garbage_refused() -> None:
    for garbage in (
        b"",
        b"\xff" * 4,
        b"\xff\xff\xff\xff" + b"x" * 100,
        b"\x02\x00\x00\x00\xff\xfe",
    ):
        with pytest.raises(borsh.BorshError):
            borsh.decode_signed_transaction(garbage)
    with pytest.raises(borsh.BorshError):
        borsh.decode_signed_transaction("not bytes")  # type: ignore[arg-type]


def test_invalid_utf8_refused() -> None:
    bad = (2).to_bytes(4, "little") + b"\xff\xfe"
    with pytest.raises(borsh.BorshError, match="UTF-8"):
        borsh.decode_transaction(bad)


def test_huge_vec_count_refused_without_allocating() -> None:
    _, signed = _signed_transfer()
    data = bytearray(signed.signed_bytes)
    count_at = len(data) - 65 - 17 - 4
    assert data[count_at : count_at + 4] == (1).to_bytes(4, "little")
    data[count_at : count_at + 4] = (2**32 - 1).to_bytes(4, "little")
    with pytest.raises(borsh.BorshError, match="claims"):
        borsh.decode_signed_transaction(bytes(data))


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=400))
def test_fuzz_random_bytes_only_borsh_error(data: bytes) -> None:
    with contextlib.suppress(borsh.BorshError):
        borsh.decode_signed_transaction(data)


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_fuzz_mutated_transactions_only_borsh_error(data: st.DataObject) -> None:
    _, signed = _signed_transfer()
    raw = bytearray(signed.signed_bytes)
    for _ in range(data.draw(st.integers(min_value=1, max_value=4))):
        index = data.draw(st.integers(min_value=0, max_value=len(raw) - 1))
        raw[index] = data.draw(st.integers(min_value=0, max_value=255))
    cut = data.draw(st.integers(min_value=0, max_value=len(raw)))
    try:
        decoded = borsh.decode_signed_transaction(bytes(raw[:cut]))
    except borsh.BorshError:
        return
    assert cut == len(raw)
    assert isinstance(decoded.transaction, borsh.Transaction)

"""Attestations: the platform key signs bytes; the chain's access keys say whether it counts."""

import base58
import pytest

from payouts.errors import AttestationChainUnavailableError, AttestationError
from payouts.near.client import NearClient
from payouts.near.keys import key_generate
from payouts.services.attestation import Attestation, attest, attestation_verify
from tests.conftest import PLATFORM_ACCOUNT

MESSAGE = b"test-attestation/1:hello"


def _code(message: bytes, attestation: Attestation, *, account=PLATFORM_ACCOUNT, client=None):
    try:
        attestation_verify(
            message=message, attestation=attestation, expected_account_id=account, client=client
        )
    except AttestationError as exc:
        return exc.code
    return "ok"


def test_the_platform_key_attests_and_the_chain_confirms(chain) -> None:
    attestation = attest(message=MESSAGE)
    assert attestation.account_id == PLATFORM_ACCOUNT
    assert attestation.public_key == chain.platform_key.public_key
    assert attest(message=MESSAGE) == attestation  # deterministic
    assert _code(MESSAGE, attestation) == "ok"
    assert _code(MESSAGE, attestation, client=chain.client) == "ok"


def test_each_failed_check_has_its_code(chain) -> None:
    attestation = attest(message=MESSAGE)
    assert _code(MESSAGE + b"!", attestation) == "signature_invalid"
    assert _code(MESSAGE, Attestation(PLATFORM_ACCOUNT, attestation.public_key, "x")) == (
        "signature_invalid"
    )
    assert _code(MESSAGE, attestation, account="other.localnet") == "signer_unexpected"
    other = key_generate(account_id=PLATFORM_ACCOUNT)
    forged = Attestation(
        account_id=PLATFORM_ACCOUNT,
        public_key=other.public_key,
        signature="ed25519:" + base58.b58encode(other.sign(MESSAGE)).decode(),
    )
    assert _code(MESSAGE, forged) == "key_not_on_chain"
    chain.client.sandbox(
        "sandbox_add_key",
        {
            "account_id": PLATFORM_ACCOUNT,
            "public_key": other.public_key,
            "permission": {"FunctionCall": {"receiver_id": PLATFORM_ACCOUNT, "method_names": []}},
        },
    )
    assert _code(MESSAGE, forged) == "key_not_full_access"


def test_an_unreachable_chain_is_not_a_verdict(chain) -> None:
    attestation = attest(message=MESSAGE)
    with (
        NearClient("http://127.0.0.1:9", timeout=2) as client,
        pytest.raises(AttestationChainUnavailableError) as caught,
    ):
        attestation_verify(
            message=MESSAGE,
            attestation=attestation,
            expected_account_id=PLATFORM_ACCOUNT,
            client=client,
        )
    assert (caught.value.code, caught.value.http_status) == ("chain_unavailable", 503)


def test_attest_refuses_what_a_transaction_signs(chain) -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        attest(message=bytes(32))

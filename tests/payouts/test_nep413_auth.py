"""Sign in with NEAR (NEP-413): a wallet signs our nonce; we check it, once, and sign in.

Also: money moves only for accounts proven that way, and re-linking needs a signature
from the new account.
"""

import base64
import hashlib
import threading
from datetime import timedelta

import pytest
import requests
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from payouts.models import AuthChallenge, Deposit, NearAccount, Payout
from payouts.money import near_to_yocto
from payouts.near.keys import NearKey, key_generate
from payouts.near.nep413 import NEP413_TAG, nep413_payload, nep413_sign, nep413_verify
from payouts.services import auth as auth_services
from payouts.services import chain as chain_services
from payouts.services.accounts import near_account_link
from tests.conftest import PLATFORM_ACCOUNT, api_client_for, near_account_prove, nep413_proof
from tests.factories import ProjectFactory, UserFactory, earnings_give

pytestmark = pytest.mark.django_db

User = get_user_model()
VERIFY = "/api/auth/near/verify"


def _challenge(client: APIClient | None = None) -> dict:
    response = (client or APIClient()).post("/api/auth/near/challenge")
    assert response.status_code == 201, response.content
    return response.json()


def _signed(key: NearKey, challenge: dict, **overrides) -> dict:
    from tests.conftest import nep413_body

    return nep413_body(key, challenge, **overrides)


def _verify(body: dict, client: APIClient | None = None):
    return (client or APIClient()).post(VERIFY, body, format="json")


def _code(response) -> str:
    return response.json()["error"]["code"]


def _no_chain(monkeypatch) -> None:
    def refuse():
        raise AssertionError("the chain was asked")

    monkeypatch.setattr(chain_services, "near_client", refuse)


# --- the payload ------------------------------------------------------------------------


def test_payload_bytes_are_the_nep413_layout() -> None:
    """tag u32 LE, then borsh {message: String, nonce: [u8; 32], recipient: String,
    callback_url: Option<String>}; built here byte by byte from the NEP's text."""
    nonce = bytes(range(32))
    expected = (
        bytes.fromhex("9d010080")  # 2147484061 = 0x8000019d, little-endian
        + bytes.fromhex("14000000")  # len("Sign in to Nearlabel") = 20
        + b"Sign in to Nearlabel"
        + nonce  # fixed-size array: no length prefix
        + bytes.fromhex("13000000")  # len("nearlabel.localhost") = 19
        + b"nearlabel.localhost"
        + b"\x00"  # callback_url: None
    )
    payload = nep413_payload(
        message="Sign in to Nearlabel", nonce=nonce, recipient="nearlabel.localhost"
    )
    assert NEP413_TAG == 2147484061
    assert payload == expected
    assert len(payload) == 4 + 4 + 20 + 32 + 4 + 19 + 1

    with_callback = nep413_payload(
        message="hi", nonce=b"\xff" * 32, recipient="r", callback_url="https://a.b/c"
    )
    assert with_callback == (
        bytes.fromhex("9d010080")
        + bytes.fromhex("02000000")
        + b"hi"
        + b"\xff" * 32
        + bytes.fromhex("01000000")
        + b"r"
        + b"\x01"  # Some
        + bytes.fromhex("0d000000")
        + b"https://a.b/c"
    )


def test_signature_is_over_the_sha256_of_the_payload() -> None:
    key = key_generate()
    nonce = bytes(32)
    signature = nep413_sign(key=key, message="m", nonce=nonce, recipient="r")
    digest = hashlib.sha256(nep413_payload(message="m", nonce=nonce, recipient="r")).digest()
    assert signature == key.sign(digest)
    assert nep413_verify(
        public_key=key.public_key, signature=signature, message="m", nonce=nonce, recipient="r"
    )
    assert not nep413_verify(
        public_key=key.public_key, signature=signature, message="m", nonce=nonce, recipient="x"
    )
    assert not nep413_verify(
        public_key=key.public_key, signature=signature, message="m", nonce=b"short", recipient="r"
    )


def test_a_wallet_signature_from_near_api_js_docs_verifies() -> None:
    """Interoperability: the verifyMessage example of near-api-js's NEP-413 reference
    (message "log me in", recipient http://localhost:3000, nonce 0..31)."""
    assert nep413_verify(
        public_key="ed25519:AtH7GEjv2qmBVoT8qoRhWXizXM5CC12DC6tiqY9iNoRm",
        signature=base64.b64decode(
            "IfModLa3g3czlyPhkg/LSkTFSy7XCGreStZJTDIO1m3viEnYFLdXfpz1gYUVKYv3W2vwcV77TmGEzc9y0Nz+AA=="
        ),
        message="log me in",
        nonce=bytes(range(32)),
        recipient="http://localhost:3000",
    )


# --- challenges and sign-in --------------------------------------------------------------


def test_challenge_is_fresh_random_and_ours(settings) -> None:
    first, second = _challenge(), _challenge()
    assert first["nonce"] != second["nonce"]
    assert len(base64.b64decode(first["nonce"])) == 32
    assert first["recipient"] == settings.NEAR_AUTH_RECIPIENT == "nearlabel.localhost"
    assert first["message"] == "Sign in to Nearlabel"
    row = AuthChallenge.objects.get(nonce=base64.b64decode(first["nonce"]).hex())
    assert row.used_at is None
    assert timedelta(seconds=299) < row.expires_at - timezone.now() <= timedelta(seconds=300)


def test_signin_creates_the_user_and_a_token_that_works(chain) -> None:
    key = chain.account_create(account_id="alice.localnet")
    response = _verify(_signed(key, _challenge()))
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["username"] == "alice.localnet"
    assert data["account_id"] == "alice.localnet"
    assert data["created"] is True

    user = User.objects.get(username="alice.localnet")
    assert not user.has_usable_password()
    assert user.near_account.account_id == "alice.localnet"
    assert user.near_account.verified_at is not None
    assert AuthChallenge.objects.get().used_at is not None
    assert AuthChallenge.objects.get().account_id == "alice.localnet"

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {data['token']}")
    me = api.get("/api/me/")
    assert me.status_code == 200
    assert me.json()["username"] == "alice.localnet"
    assert me.json()["near_account_id"] == "alice.localnet"
    assert me.json()["near_account_verified"] is True


def test_second_signin_finds_the_same_user(chain) -> None:
    key = chain.account_create(account_id="alice.localnet")
    first = _verify(_signed(key, _challenge())).json()
    second = _verify(_signed(key, _challenge())).json()
    assert second["created"] is False
    assert second["username"] == first["username"]
    assert second["token"] == first["token"]
    assert User.objects.count() == 1


def test_implicit_account_signs_in_without_asking_the_chain(monkeypatch) -> None:
    """A key made in the browser: its implicit account need not exist on chain."""
    _no_chain(monkeypatch)
    key = key_generate()
    response = _verify(_signed(key, _challenge()))
    assert response.status_code == 200, response.content
    assert response.json()["account_id"] == key.account_id
    assert User.objects.get().username == key.account_id


def test_session_mode_logs_the_browser_in(monkeypatch) -> None:
    _no_chain(monkeypatch)
    key = key_generate()
    browser = APIClient()
    response = _verify({**_signed(key, _challenge(browser)), "mode": "session"}, browser)
    assert response.status_code == 200, response.content
    assert "token" not in response.json()
    assert "sessionid" in browser.cookies
    me = browser.get("/api/me/")
    assert me.status_code == 200
    assert me.json()["username"] == key.account_id


def test_session_mode_needs_the_csrf_token(monkeypatch) -> None:
    """A cross-site page cannot log a browser into the attacker's account."""
    _no_chain(monkeypatch)
    browser = APIClient(enforce_csrf_checks=True)
    body = {**_signed(key_generate(), _challenge(browser)), "mode": "session"}
    response = _verify(body, browser)
    assert response.status_code == 403
    assert "sessionid" not in browser.cookies
    assert not User.objects.exists()


def test_a_user_named_like_the_account_keeps_their_name(monkeypatch) -> None:
    _no_chain(monkeypatch)
    key = key_generate()
    UserFactory(username=key.account_id)
    response = _verify(_signed(key, _challenge()))
    assert response.status_code == 200
    assert response.json()["username"].startswith(f"{key.account_id}~")
    assert User.objects.count() == 2


# --- refusals -----------------------------------------------------------------------------


def _refused(response, code: str, status: int = 400) -> None:
    assert response.status_code == status, response.content
    assert _code(response) == code
    assert not User.objects.exists()
    assert not AuthChallenge.objects.filter(used_at__isnull=False).exists()


def test_wrong_recipient_is_refused(monkeypatch) -> None:
    _no_chain(monkeypatch)
    challenge = _challenge()
    # Validly signed, but for another site (e.g. a phishing page relaying our nonce).
    body = _signed(key_generate(), {**challenge, "recipient": "evil.example"})
    _refused(_verify(body), "auth_wrong_recipient")


def test_expired_nonce_is_refused(monkeypatch) -> None:
    _no_chain(monkeypatch)
    challenge = _challenge()
    AuthChallenge.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    _refused(_verify(_signed(key_generate(), challenge)), "auth_nonce_expired")


def test_reused_nonce_is_refused(monkeypatch) -> None:
    _no_chain(monkeypatch)
    body = _signed(key_generate(), _challenge())
    assert _verify(body).status_code == 200
    again = _verify(body)
    assert again.status_code == 400
    assert _code(again) == "auth_nonce_used"
    assert User.objects.count() == 1


def test_unknown_nonce_is_refused(monkeypatch) -> None:
    _no_chain(monkeypatch)
    made_up = {
        "nonce": base64.b64encode(b"\x07" * 32).decode(),
        "message": "Sign in to Nearlabel",
        "recipient": "nearlabel.localhost",
    }
    _refused(_verify(_signed(key_generate(), made_up)), "auth_nonce_unknown")
    _refused(
        _verify(_signed(key_generate(), _challenge(), nonce="not base64!")), "auth_nonce_unknown"
    )


def test_other_message_is_refused(monkeypatch) -> None:
    _no_chain(monkeypatch)
    body = _signed(key_generate(), {**_challenge(), "message": "Transfer everything"})
    _refused(_verify(body), "auth_message_mismatch")


def test_bad_signature_is_refused(monkeypatch) -> None:
    _no_chain(monkeypatch)
    key = key_generate()
    body = _signed(key, _challenge())
    raw = bytearray(base64.b64decode(body["signature"]))
    raw[0] ^= 1
    _refused(
        _verify({**body, "signature": base64.b64encode(raw).decode()}), "auth_signature_invalid"
    )
    _refused(_verify({**body, "signature": "%%%"}), "auth_signature_invalid")
    # Signed by one key, presented with another.
    other = key_generate()
    forged = {**body, "public_key": other.public_key, "account_id": other.account_id}
    _refused(_verify(forged), "auth_signature_invalid")


def test_function_call_key_is_refused(chain) -> None:
    alice = chain.account_create(account_id="alice.localnet")
    limited = key_generate(account_id="alice.localnet")
    chain.client.sandbox(
        "sandbox_add_key",
        {
            "account_id": "alice.localnet",
            "public_key": limited.public_key,
            "permission": {
                "FunctionCall": {
                    "allowance": None,
                    "receiver_id": "app.localnet",
                    "method_names": [],
                }
            },
        },
    )
    _refused(_verify(_signed(limited, _challenge())), "auth_key_not_full_access")
    assert _verify(_signed(alice, _challenge())).status_code == 200


def test_an_added_full_access_key_signs_in(chain) -> None:
    chain.account_create(account_id="alice.localnet")
    second = key_generate(account_id="alice.localnet")
    chain.client.sandbox(
        "sandbox_add_key",
        {
            "account_id": "alice.localnet",
            "public_key": second.public_key,
            "permission": "FullAccess",
        },
    )
    response = _verify(_signed(second, _challenge()))
    assert response.status_code == 200, response.content
    assert response.json()["username"] == "alice.localnet"


def test_key_of_another_account_is_refused(chain) -> None:
    chain.account_create(account_id="alice.localnet")
    bob = chain.account_create(account_id="bob.localnet")
    # Bob signs validly, but claims to be Alice.
    claim = NearKey(account_id="alice.localnet", public_key=bob.public_key, secret=bob.secret)
    _refused(_verify(_signed(claim, _challenge())), "auth_key_not_found")
    # An account that does not exist has no keys at all.
    ghost = NearKey(account_id="ghost.localnet", public_key=bob.public_key, secret=bob.secret)
    _refused(_verify(_signed(ghost, _challenge())), "auth_key_not_found")
    # Another key's implicit account.
    other_implicit = key_generate().account_id
    claim = NearKey(account_id=other_implicit, public_key=bob.public_key, secret=bob.secret)
    _refused(_verify(_signed(claim, _challenge())), "auth_key_not_found")


def test_invalid_account_id_is_refused(monkeypatch) -> None:
    _no_chain(monkeypatch)
    body = _signed(key_generate(), _challenge(), account_id="Alice..near")
    _refused(_verify(body), "near_account_invalid")


def test_unreachable_chain_is_503(settings) -> None:
    settings.NEAR_RPC_URL = "http://127.0.0.1:9"  # nothing listens on the discard port
    settings.NEAR_RPC_TIMEOUT = 2
    key = key_generate(account_id="alice.localnet")
    _refused(_verify(_signed(key, _challenge())), "chain_unavailable", status=503)


@pytest.mark.django_db(transaction=True)
def test_concurrent_uses_of_one_nonce_sign_in_once(live_server) -> None:
    """Eight requests carry the same signature at once: one signs in, seven are refused."""
    body = _signed(key_generate(), _challenge())
    start = threading.Barrier(8)
    results: list[tuple[int, str]] = []
    lock = threading.Lock()

    def post() -> None:
        start.wait()
        response = requests.post(f"{live_server.url}{VERIFY}", json=body, timeout=60)
        code = response.json().get("error", {}).get("code", "") if response.content else ""
        with lock:
            results.append((response.status_code, code))

    threads = [threading.Thread(target=post) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [(200, "")] + [(400, "auth_nonce_used")] * 7
    assert User.objects.count() == 1
    assert NearAccount.objects.count() == 1


# --- proven accounts and money -----------------------------------------------------------


def test_payouts_are_refused_to_an_unverified_account() -> None:
    user = UserFactory()
    near_account_link(user=user, account_id=key_generate().account_id)
    earnings_give(user, near_to_yocto("1"))
    response = api_client_for(user).post("/api/me/payouts", {"amount": "1"}, format="json")
    assert response.status_code == 409
    assert _code(response) == "near_account_unverified"
    assert not Payout.objects.exists()


def test_deposits_are_refused_from_an_unverified_account(chain, requester, requester_api) -> None:
    key = chain.account_create(account_id="alice.localnet")
    near_account_link(user=requester, account_id=key.account_id)
    project = ProjectFactory(owner=requester, status="draft")
    tx_hash = chain.transfer(key=key, receiver_id=PLATFORM_ACCOUNT, amount=near_to_yocto("1"))
    response = requester_api.post(
        f"/api/projects/{project.public_id}/deposits/", {"tx_hash": tx_hash}, format="json"
    )
    assert response.status_code == 409
    assert _code(response) == "near_account_unverified"
    assert not Deposit.objects.exists()


def test_relinking_needs_a_signature_from_the_new_account(chain) -> None:
    user = UserFactory()
    old, new = key_generate(), key_generate()
    near_account_prove(user, old)
    api = api_client_for(user)

    # The old account's key cannot vouch for the new account.
    claim = NearKey(account_id=new.account_id, public_key=old.public_key, secret=old.secret)
    response = api.post("/api/me/near-account", nep413_proof(claim), format="json")
    assert response.status_code == 400
    assert _code(response) == "auth_key_not_found"
    # A bare account id, as the API used to take, is no longer enough.
    response = api.post("/api/me/near-account", {"account_id": new.account_id}, format="json")
    assert response.status_code == 400
    assert _code(response) == "invalid"
    user.near_account.refresh_from_db()
    assert user.near_account.account_id == old.account_id

    response = api.post("/api/me/near-account", nep413_proof(new), format="json")
    assert response.status_code == 200, response.content
    assert response.json()["account_id"] == new.account_id
    assert response.json()["verified_at"] is not None
    user.near_account.refresh_from_db()
    assert user.near_account.account_id == new.account_id
    assert user.near_account.verified_at is not None


def test_an_account_proven_by_another_user_is_taken(monkeypatch) -> None:
    _no_chain(monkeypatch)
    key = key_generate()
    first, second = UserFactory(), UserFactory()
    near_account_prove(first, key)
    response = api_client_for(second).post("/api/me/near-account", nep413_proof(key), format="json")
    assert response.status_code == 409
    assert _code(response) == "near_account_taken"
    assert not NearAccount.objects.filter(user=second).exists()
    # Nothing was written, so the challenge is still unused.
    assert AuthChallenge.objects.filter(used_at__isnull=True).count() == 1


def test_signin_finds_the_user_who_proved_the_account(monkeypatch) -> None:
    """A password user who proved an account is the one signing in with it."""
    _no_chain(monkeypatch)
    key = key_generate()
    requester = UserFactory(username="req")
    near_account_prove(requester, key)
    response = _verify(_signed(key, _challenge()))
    assert response.json()["username"] == "req"
    assert response.json()["created"] is False


def test_an_unproven_claim_does_not_capture_the_signin(monkeypatch) -> None:
    """Anyone can type an account id; only a signature makes it identify a user."""
    _no_chain(monkeypatch)
    key = key_generate()
    squatter = UserFactory(username="squatter")
    near_account_link(user=squatter, account_id=key.account_id)
    response = _verify(_signed(key, _challenge()))
    assert response.json()["username"] == key.account_id
    assert response.json()["created"] is True


def test_the_periodic_job_purges_challenges_an_hour_past_their_expiry() -> None:
    now = timezone.now()
    ages = {"fresh": -300, "just_expired": 60, "long_expired": 3700, "long_used": 7200}
    for name, expired_for in ages.items():
        challenge = auth_services.auth_challenge_create()
        AuthChallenge.objects.filter(pk=challenge.pk).update(
            expires_at=now - timedelta(seconds=expired_for),
            account_id=name,
            used_at=now if name == "long_used" else None,
        )
    call_command("periodic", "--once")
    left = set(AuthChallenge.objects.values_list("account_id", flat=True))
    assert left == {"fresh", "just_expired"}
    assert auth_services.auth_challenges_purge() == 0  # a repeat deletes nothing more


def test_the_purge_is_on_the_beat_schedule(settings) -> None:
    from config.celery import app

    names = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "payouts.tasks.auth_challenges_purge_task" in names
    assert "payouts.tasks.auth_challenges_purge_task" in app.tasks

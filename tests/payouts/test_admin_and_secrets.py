"""The payouts admin, and the platform's private key never leaking anywhere."""

import base64
import io
import json
import logging

import base58
import pytest
from django.core.management import call_command
from django.utils import timezone

from payouts.models import NearAccount, Payout
from payouts.money import near_to_yocto
from payouts.near.keys import KeyFileError, key_generate, key_load
from payouts.services.payouts import PayoutOutcomeUnknownError, payout_request, payout_send
from tests.conftest import api_client_for
from tests.factories import UserFactory, earnings_give

pytestmark = pytest.mark.django_db


def _verified_user(account_id: str | None = None):
    user = UserFactory()
    NearAccount.objects.create(
        user=user,
        account_id=account_id or key_generate().account_id,
        verified_at=timezone.now(),
    )
    earnings_give(user, near_to_yocto("2"))
    return user


def test_admin_lists_payouts_and_settles_the_selected(chain, admin_client) -> None:
    user = _verified_user()
    payout = payout_request(user=user, amount=near_to_yocto("1"))
    chain.client.sandbox("sandbox_fault", {"fault": "drop_response_after_apply"})
    with pytest.raises(PayoutOutcomeUnknownError):
        payout_send(payout_id=payout.pk)
    page = admin_client.get("/admin/payouts/payout/")
    assert page.status_code == 200
    assert payout.receiver_id[:10] in page.content.decode()
    response = admin_client.post(
        "/admin/payouts/payout/",
        {"action": "reconcile_selected", "_selected_action": [payout.pk]},
        follow=True,
    )
    assert "1 confirmed" in response.content.decode()
    payout.refresh_from_db()
    assert payout.status == Payout.Status.CONFIRMED
    detail = admin_client.get(f"/admin/payouts/payout/{payout.pk}/change/").content.decode()
    assert payout.tx_hash in detail
    assert "confirmed" in detail


def test_private_key_appears_nowhere_after_a_full_run(chain, admin_client, caplog, tmp_path):
    """Database, admin pages, API answers, logs and error messages are all scanned."""
    caplog.set_level(logging.DEBUG)
    secret = chain.platform_key.secret_key_reveal()
    raw = base58.b58decode(secret.split(":", 1)[1])
    needles = {
        secret,
        secret.split(":", 1)[1],
        base58.b58encode(raw[:32]).decode(),
        raw[:32].hex(),
        base64.b64encode(raw[:32]).decode(),
        base64.b64encode(raw).decode(),
    }
    texts: list[str] = []

    # A full run of payouts: confirmed, lost response, failed, refused.
    ok_user = _verified_user()
    api = api_client_for(ok_user)
    texts.append(json.dumps(api.post("/api/me/payouts", {"amount": "1"}, format="json").json()))
    payout_send(payout_id=Payout.objects.get(user=ok_user).pk)
    chain.client.sandbox("sandbox_fault", {"fault": "invalid_nonce"})
    second = payout_request(user=ok_user, amount=near_to_yocto("1"))
    with pytest.raises(PayoutOutcomeUnknownError):
        payout_send(payout_id=second.pk)
    payout_send(payout_id=second.pk)
    missing = _verified_user(account_id="nobody-here.localnet")
    payout_send(payout_id=payout_request(user=missing, amount=near_to_yocto("1")).pk)
    for path in ("/api/me/", "/api/me/payouts"):
        texts.append(api.get(path).content.decode())
    texts.append(api_client_for(missing).get("/api/me/payouts").content.decode())

    # Error messages of a broken key file never quote the key.
    broken = tmp_path / "broken.json"
    broken.write_text(
        json.dumps(
            {
                "account_id": "x.localnet",
                "public_key": key_generate().public_key,
                "private_key": secret,
            }
        )
    )
    with pytest.raises(KeyFileError) as error:
        key_load(broken)
    texts.append(str(error.value))
    texts.append(repr(chain.platform_key))
    texts.append(str(chain.platform_key))

    for url in (
        "/admin/payouts/payout/",
        f"/admin/payouts/payout/{second.pk}/change/",
        "/admin/payouts/signingkey/",
        "/admin/payouts/nearaccount/",
        "/admin/payouts/journal/",
        "/admin/payouts/ledgeraccount/",
        "/api/schema/",
    ):
        response = admin_client.get(url)
        assert response.status_code == 200, url
        texts.append(response.content.decode())
    dump = io.StringIO()
    call_command("dumpdata", stdout=dump)
    texts.append(dump.getvalue())
    texts.append("\n".join(record.getMessage() for record in caplog.records))

    everything = "\n".join(texts)
    assert Payout.objects.filter(status=Payout.Status.CONFIRMED).count() == 2
    assert Payout.objects.filter(status=Payout.Status.FAILED).count() == 1
    assert len(everything) > 10_000  # the scan really read the run
    for needle in needles:
        assert needle not in everything

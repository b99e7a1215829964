"""Rate limits on signing in, NEAR challenges, deposits and the admin login: 429 in the
error envelope with Retry-After, per client IP (behind NUM_PROXIES proxies), per
username and per user, counted in the cache every web process shares."""

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.test import Client, override_settings
from rest_framework.test import APIClient

from config.settings import env_rate
from payouts.models import AuthChallenge
from tests.conftest import api_client_for
from tests.factories import ProjectFactory, UserFactory

pytestmark = pytest.mark.django_db

TOKEN = "/api/auth/token"
CHALLENGE = "/api/auth/near/challenge"
VERIFY = "/api/auth/near/verify"
ADMIN_LOGIN = "/admin/login/"
PASSWORD = "correct horse battery"  # UserFactory's


def _rates(settings, **rates: str) -> None:
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, **rates}


def _assert_throttled(response) -> None:
    assert response.status_code == 429, response.content
    assert response.json()["error"]["code"] == "throttled"
    assert int(response["Retry-After"]) > 0


def _sign_in(client, username: str, password: str | None = None):
    return client.post(TOKEN, {"username": username, "password": password or "wrong"})


def test_token_sign_in_is_limited_per_client_ip(settings) -> None:
    _rates(settings, auth_token="3/min")
    UserFactory(username="ann")
    client = APIClient()
    assert [_sign_in(client, f"guess{n}").status_code for n in range(3)] == [400, 400, 400]
    _assert_throttled(_sign_in(client, "ann", PASSWORD))  # even the right password
    assert _sign_in(APIClient(REMOTE_ADDR="10.0.0.2"), "ann", PASSWORD).status_code == 200


def test_token_sign_in_is_limited_per_username_from_any_ip(settings) -> None:
    _rates(settings, auth_token_username="3/hour")
    UserFactory(username="ann")
    for n in range(3):
        assert _sign_in(APIClient(REMOTE_ADDR=f"10.0.1.{n}"), " Ann ").status_code == 400
    _assert_throttled(_sign_in(APIClient(REMOTE_ADDR="10.0.1.9"), "ann", PASSWORD))
    assert _sign_in(APIClient(REMOTE_ADDR="10.0.1.9"), "bob").status_code == 400


def test_near_challenge_and_verify_are_limited_per_client_ip(settings) -> None:
    _rates(settings, auth_near_challenge="2/min", auth_near_verify="2/min")
    client = APIClient()
    assert [client.post(CHALLENGE).status_code for _ in range(2)] == [201, 201]
    _assert_throttled(client.post(CHALLENGE))
    assert AuthChallenge.objects.count() == 2  # the refused one made no row
    assert [client.post(VERIFY, {}, format="json").status_code for _ in range(2)] == [400, 400]
    _assert_throttled(client.post(VERIFY, {}, format="json"))


def test_deposits_are_limited_per_user(settings, requester, requester_api) -> None:
    _rates(settings, deposit="2/min")
    project = ProjectFactory(owner=requester, status="draft")
    url = f"/api/projects/{project.public_id}/deposits/"
    for _ in range(2):
        response = requester_api.post(url, {"tx_hash": "not-a-hash"}, format="json")
        assert response.json()["error"]["code"] == "deposit_hash_invalid"
    _assert_throttled(requester_api.post(url, {"tx_hash": "not-a-hash"}, format="json"))
    other = UserFactory()
    theirs = ProjectFactory(owner=other, status="draft")
    response = api_client_for(other).post(  # same IP, another user
        f"/api/projects/{theirs.public_id}/deposits/", {"tx_hash": "not-a-hash"}, format="json"
    )
    assert response.status_code == 400


def test_x_forwarded_for_is_not_trusted_without_proxies(settings) -> None:
    _rates(settings, auth_near_challenge="1/min")
    client = APIClient()
    assert client.post(CHALLENGE, HTTP_X_FORWARDED_FOR="1.1.1.1").status_code == 201
    _assert_throttled(client.post(CHALLENGE, HTTP_X_FORWARDED_FOR="2.2.2.2"))


def test_behind_a_proxy_the_client_is_the_address_the_proxy_saw(settings) -> None:
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    _rates(settings, auth_near_challenge="1/min", admin_login="1/min")
    proxy = APIClient(REMOTE_ADDR="10.9.9.9")
    assert proxy.post(CHALLENGE, HTTP_X_FORWARDED_FOR="1.1.1.1").status_code == 201
    _assert_throttled(proxy.post(CHALLENGE, HTTP_X_FORWARDED_FOR="1.1.1.1"))
    # A client's own X-Forwarded-For comes before the address the proxy appends.
    _assert_throttled(proxy.post(CHALLENGE, HTTP_X_FORWARDED_FOR="6.6.6.6, 1.1.1.1"))
    assert proxy.post(CHALLENGE, HTTP_X_FORWARDED_FOR="3.3.3.3").status_code == 201
    # The admin login sees the same client address.
    browser = Client(REMOTE_ADDR="10.9.9.9")
    form = {"username": "x", "password": "y"}
    assert browser.post(ADMIN_LOGIN, form, HTTP_X_FORWARDED_FOR="4.4.4.4").status_code == 200
    _assert_throttled(browser.post(ADMIN_LOGIN, form, HTTP_X_FORWARDED_FOR="4.4.4.4"))
    assert browser.post(ADMIN_LOGIN, form, HTTP_X_FORWARDED_FOR="5.5.5.5").status_code == 200


def test_admin_login_posts_are_limited_per_client_ip(settings) -> None:
    _rates(settings, admin_login="3/min")
    UserFactory(username="root", is_staff=True, is_superuser=True)
    browser = Client()
    for n in range(3):
        response = browser.post(ADMIN_LOGIN, {"username": f"guess{n}", "password": "x"})
        assert response.status_code == 200  # the form again, with its error
    _assert_throttled(browser.post(ADMIN_LOGIN, {"username": "root", "password": PASSWORD}))
    assert browser.get(ADMIN_LOGIN).status_code == 200  # showing the form is not limited
    elsewhere = Client(REMOTE_ADDR="10.0.3.1")
    response = elsewhere.post(ADMIN_LOGIN, {"username": "root", "password": PASSWORD})
    assert response.status_code == 302  # signed in


def test_admin_login_is_limited_per_username_from_any_ip(settings) -> None:
    _rates(settings, admin_login_username="2/hour")
    UserFactory(username="root", is_staff=True, is_superuser=True)
    for n in range(2):
        browser = Client(REMOTE_ADDR=f"10.0.2.{n}")
        assert browser.post(ADMIN_LOGIN, {"username": "ROOT", "password": "x"}).status_code == 200
    browser = Client(REMOTE_ADDR="10.0.2.9")
    _assert_throttled(browser.post(ADMIN_LOGIN, {"username": "root", "password": PASSWORD}))
    assert browser.post(ADMIN_LOGIN, {"username": "other", "password": "x"}).status_code == 200


def test_an_unreachable_cache_lets_requests_through(settings, caplog) -> None:
    """The cache is the broker's Redis: its outage must not lock everyone out."""
    _rates(settings, auth_near_challenge="1/min", admin_login="1/min")
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    dead = {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": f"redis://127.0.0.1:{port}/0",
    }
    with override_settings(CACHES={"default": dead}):
        assert [APIClient().post(CHALLENGE).status_code for _ in range(2)] == [201, 201]
        form = {"username": "x", "password": "y"}
        assert [Client().post(ADMIN_LOGIN, form).status_code for _ in range(2)] == [200, 200]
    assert "the cache is unreachable" in caplog.text


def test_the_embedded_cache_is_shared_by_processes(settings) -> None:
    """Without REDIS_URL, what one process (a gunicorn worker) counts, another sees."""
    if settings.REDIS_URL:
        pytest.skip("with REDIS_URL the cache is Redis")
    root = Path(__file__).resolve().parents[1]
    code = "from django.core.cache import cache; cache.set('shared-probe', 42, 60)"
    subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=root,
        env=os.environ.copy(),
        check=True,
        capture_output=True,
    )
    assert cache.get("shared-probe") == 42


def test_rates_come_from_the_environment(monkeypatch) -> None:
    monkeypatch.delenv("THROTTLE_X", raising=False)
    assert env_rate("THROTTLE_X", "10/min") == "10/min"
    monkeypatch.setenv("THROTTLE_X", "5/hour")
    assert env_rate("THROTTLE_X", "10/min") == "5/hour"
    for off in ("", "off", "none"):
        monkeypatch.setenv("THROTTLE_X", off)
        assert env_rate("THROTTLE_X", "10/min") is None
    monkeypatch.setenv("THROTTLE_X", "ten/min")
    with pytest.raises(ImproperlyConfigured):
        env_rate("THROTTLE_X", "10/min")


def test_a_scope_turned_off_is_not_limited(settings) -> None:
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "auth_near_challenge": None}
    client = APIClient()
    assert {client.post(CHALLENGE).status_code for _ in range(40)} == {201}

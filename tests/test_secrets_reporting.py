"""No page, report or log line shows a secret, debug on or not: passwords in REDIS_URL,
the broker URL, database URLs, SECRET_KEY, secret query parameters."""

import io
import logging
import sys
from urllib.parse import urlsplit

import pytest
from django.http import HttpResponse
from django.test import Client, RequestFactory
from django.urls import path
from django.views.debug import technical_500_response

from config.reporting import CLEANSED, redact
from config.urls import urlpatterns as project_urlpatterns

pytestmark = pytest.mark.django_db

REDIS_PASSWORD = "redis-Pa55word-&<x>"  # HTML-special characters: escaped on the page
BROKER_PASSWORD = "broker%40pass-9f8e7d"  # percent-encoded "@" in the URL
DB_PASSWORD = "db-password-5c4b3a"
QUERY_TOKEN = "query-token-0a1b2c3d"
UNKNOWN_TOKEN = "tok-unknown-to-settings-e5f6a7"
REDIS_URL = f"redis://:{REDIS_PASSWORD}@redis.internal:6379/0"
BROKER_URL = f"redis://default:{BROKER_PASSWORD}@redis.internal:6379/1"


def failing_view(request):
    redis_url = REDIS_URL  # a local variable holding the URL
    parts = urlsplit(redis_url)  # ... and one holding its parts (the password verbatim)
    password = parts.password  # a variable whose name says what it is
    api_token = UNKNOWN_TOKEN  # a secret no setting holds: hidden by its name only
    assert api_token
    raise ConnectionError(f"cannot reach {redis_url} ({parts!r}, {password})")


def ok(request):
    return HttpResponse("ok")


urlpatterns = [path("boom", failing_view), path("ok", ok), *project_urlpatterns]


@pytest.fixture
def secret_settings(settings, monkeypatch):
    settings.REDIS_URL = REDIS_URL
    settings.CELERY_BROKER_URL = BROKER_URL
    settings.ANALYTICS_DSN = f"postgres://reader:{DB_PASSWORD}@db.internal/analytics"
    settings.NEAR_RPC_URL = f"https://rpc.example.org/?apikey={QUERY_TOKEN}"
    monkeypatch.setenv("DATABASE_URL", f"postgres://app:{DB_PASSWORD}@db.internal/app")
    return settings


def _needles() -> list[str]:
    return [
        REDIS_PASSWORD,
        "redis-Pa55word-&amp;",  # the HTML-escaped form
        BROKER_PASSWORD,
        "broker@pass-9f8e7d",  # its decoded form
        DB_PASSWORD,
        QUERY_TOKEN,
        UNKNOWN_TOKEN,
    ]


def _assert_clean(text: str) -> None:
    for needle in _needles():
        assert needle not in text, needle


@pytest.mark.urls(__name__)
@pytest.mark.parametrize("debug", [True, False], ids=["debug on", "debug off"])
@pytest.mark.parametrize("accept", ["text/html", "text/plain"])
def test_the_technical_500_page_shows_no_password(secret_settings, debug, accept) -> None:
    """Django's debug page, rendered for a real request (settings, META with the process
    environment as runserver passes it, frame variables, the exception message)."""
    secret_settings.DEBUG = debug
    secret_settings.SECRET_KEY = "k" * 20 + "-the-secret-key-itself-" + "k" * 20
    request = RequestFactory().get(
        f"/boom?token={QUERY_TOKEN}",
        HTTP_ACCEPT=accept,
        REDIS_URL=REDIS_URL,  # runserver copies the environment into META
        CELERY_BROKER_URL=BROKER_URL,
    )
    try:
        failing_view(request)
    except ConnectionError:
        response = technical_500_response(request, *sys.exc_info())
    page = response.content.decode()
    assert "ConnectionError" in page  # it is the debug page
    assert "redis.internal" in page  # ... with the URL, less its password
    assert CLEANSED in page
    _assert_clean(page)
    assert "the-secret-key-itself" not in page


@pytest.mark.urls(__name__)
def test_the_debug_page_served_for_a_request_shows_no_password(secret_settings) -> None:
    secret_settings.DEBUG = True
    response = Client(raise_request_exception=False).get(
        "/boom", REDIS_URL=REDIS_URL, CELERY_BROKER_URL=BROKER_URL
    )
    assert response.status_code == 500
    page = response.content.decode()
    assert "cannot reach" in page
    _assert_clean(page)


def test_logs_show_no_password(secret_settings, caplog) -> None:
    log = logging.getLogger("tests.secrets")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)  # a handler of its own: no filter of ours on it
    log.addHandler(handler)
    try:
        with caplog.at_level(logging.INFO, logger="tests.secrets"):
            log.info("broker is %s", BROKER_URL)
            log.warning("db %s", f"postgres://app:{DB_PASSWORD}@db.internal/app")
            try:
                failing_view(None)
            except ConnectionError:
                log.exception("redis failed")
    finally:
        log.removeHandler(handler)
    written = stream.getvalue()
    assert "redis failed" in written
    assert "Traceback" in written
    _assert_clean(written)
    _assert_clean(caplog.text)
    _assert_clean(" ".join(r.getMessage() for r in caplog.records))


def test_a_redis_failure_under_the_api_answers_no_password(secret_settings, monkeypatch) -> None:
    from rest_framework.test import APIClient

    from labeling.api import views

    def down(**kwargs):
        raise ConnectionError(f"Error connecting to {REDIS_URL}")

    monkeypatch.setattr(views, "project_create", down)
    secret_settings.DEBUG = True
    from tests.conftest import api_client_for
    from tests.factories import UserFactory

    client = api_client_for(UserFactory())
    assert isinstance(client, APIClient)
    client.raise_request_exception = False
    response = client.post(
        "/api/projects/",
        {
            "title": "t",
            "task_type": "classification",
            "label_config": ["a", "b"],
            "reward_per_answer": "1",
        },
        format="json",
    )
    assert response.status_code == 500
    assert response.json() == {
        "error": {"code": "internal_error", "message": response.json()["error"]["message"]}
    }
    _assert_clean(response.content.decode())


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("redis://:pw-123456@h:6379/0", f"redis://:{CLEANSED}@h:6379/0"),
        ("amqp://user:p@ss:w0rd@h/v", f"amqp://user:{CLEANSED}@h/v"),
        ("postgres://u@h/db", "postgres://u@h/db"),  # no password, nothing to hide
        ("https://h/x?api_key=abc&page=2", f"https://h/x?api_key={CLEANSED}&page=2"),
        (
            "see 'redis://:x@h' and 'redis://:y@k'",
            f"see 'redis://:{CLEANSED}@h' and 'redis://:{CLEANSED}@k'",
        ),
    ],
)
def test_redact(text, expected) -> None:
    assert redact(text) == expected

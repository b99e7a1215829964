"""Every error answer under /api/ is the JSON envelope, whatever produced it, debug on or
off: unknown paths, ids that are not UUIDs, wrong methods, unexpected exceptions."""

import logging

import pytest
from django.http import HttpResponse
from django.urls import URLPattern, URLResolver, get_resolver, path
from rest_framework.permissions import AllowAny
from rest_framework.test import APIClient
from rest_framework.views import APIView

from config.parsers import StrictFormParser, StrictJSONParser, StrictMultiPartParser
from config.urls import urlpatterns as project_urlpatterns

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]

SECRET = "s3cr3t-in-the-message"


class Boom(APIView):
    permission_classes = [AllowAny]

    def get(self, request):
        raise RuntimeError(f"redis://:{SECRET}@127.0.0.1:6379/0 is down")


def plain_boom(request):
    raise RuntimeError(f"redis://:{SECRET}@127.0.0.1:6379/0 is down")


def plain_ok(request):
    return HttpResponse("ok")


urlpatterns = [
    path("api/test/boom", Boom.as_view()),
    path("api/test/plain-boom", plain_boom),
    path("api/test/slash/", plain_ok),
    path("boom", plain_boom),
    *project_urlpatterns,
]


def _envelope(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"] == "application/json", response["Content-Type"]
    error = response.json()["error"]
    assert error["code"] == code, error
    return error


@pytest.fixture(params=[False, True], ids=["debug off", "debug on"])
def debug(request, settings) -> bool:
    settings.DEBUG = request.param
    return request.param


@pytest.mark.parametrize(
    "url",
    [
        "/api/projects/not-a-uuid/",
        "/api/projects/12345/next",
        "/api/projects/%00/",
        "/api/projects/0F8FAD5B-D9CB-469F-A165-70867728950E/",  # the converter wants lowercase
        "/api/assignments/..%2f..%2fetc/submit",
        "/api/nothing-here",
        "/api/",
        "/api",
    ],
)
def test_unknown_api_paths_are_404_json(requester_api, debug, url) -> None:
    for method in ("get", "post"):
        response = getattr(requester_api, method)(url)
        error = _envelope(response, 404, "not_found")
        assert "details" not in error


def test_a_missing_trailing_slash_on_a_post_is_404_json(requester_api, debug) -> None:
    """Not a redirect (the client would repeat it as a GET without its body), and not
    Django's RuntimeError with debug on."""
    response = requester_api.post("/api/projects", {"title": "x"}, format="json")
    _envelope(response, 404, "not_found")
    assert requester_api.get("/api/test/slash").status_code == 301  # GETs still redirect


def test_wrong_method_is_405_json(requester_api, debug) -> None:
    response = requester_api.delete("/api/me/payouts")
    _envelope(response, 405, "method_not_allowed")


def test_html_only_clients_get_json_errors(requester_api, debug) -> None:
    response = requester_api.get("/api/projects/not-a-uuid/", HTTP_ACCEPT="text/html")
    _envelope(response, 404, "not_found")
    response = requester_api.get("/api/me/payouts", HTTP_ACCEPT="text/html")
    _envelope(response, 406, "not_acceptable")


def test_a_disallowed_host_is_400_json(debug) -> None:
    response = APIClient(raise_request_exception=False).get(
        "/api/projects/", HTTP_HOST="evil.example"
    )
    error = _envelope(response, 400, "bad_request")
    assert "evil" not in error["message"]


@pytest.mark.parametrize("url", ["/api/test/boom", "/api/test/plain-boom"])
def test_an_unexpected_exception_is_500_json_and_logged(debug, url, caplog) -> None:
    client = APIClient(raise_request_exception=False)
    with caplog.at_level(logging.ERROR, logger="django.request"):
        response = client.get(url)
    error = _envelope(response, 500, "internal_error")
    assert set(error) == {"code", "message"}
    assert SECRET not in response.content.decode()
    logged = [r for r in caplog.records if r.name == "django.request" and r.levelno >= 40]
    assert len(logged) == 1, caplog.text
    assert logged[0].exc_info is not None  # with the traceback
    assert "RuntimeError" in logged[0].exc_text
    # ... which names no secret (config.reporting)
    assert SECRET not in caplog.text


def test_the_exception_still_reaches_the_test_client(debug) -> None:
    """got_request_exception is sent, as for any exception Django handles: error trackers
    and the test client see it."""
    with pytest.raises(RuntimeError):
        APIClient().get("/api/test/boom")


def test_pages_outside_the_api_keep_django_errors(client) -> None:
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert not response["Content-Type"].startswith("application/json")


def test_every_api_view_parses_strictly() -> None:
    """No view falls back to DRF's own parsers (unbounded, RecursionError, NUL...)."""
    strict = (StrictJSONParser, StrictMultiPartParser, StrictFormParser)

    def views(patterns):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from views(pattern.url_patterns)
            elif isinstance(pattern, URLPattern):
                yield str(pattern.pattern), pattern.callback

    checked = 0
    for route, callback in views(get_resolver("config.urls").url_patterns):
        view_class = getattr(callback, "cls", None)
        if view_class is None or not issubclass(view_class, APIView):
            continue
        view = view_class(**getattr(callback, "initkwargs", {}))
        parsers = view.get_parsers()
        assert parsers, route
        for parser in parsers:
            assert isinstance(parser, strict), (route, parser)
        checked += 1
    assert checked >= 15

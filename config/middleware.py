"""Middleware that keeps every /api/ answer in the API's JSON error envelope.

DRF views answer their own errors (config.errors.api_exception_handler). The rest never
reaches a DRF view: a path no URL matches (a non-UUID id fails the `<uuid:...>`
converter), an exception DRF re-raises, a refusal by another middleware. Django answers
those as usual (an exception is logged with its traceback and `got_request_exception` is
sent), with HTML, and with debug on with its technical pages; under /api/ this
middleware then replaces the answer with JSON, debug or not: 500 `internal_error` with
no details (they could hold anything, secrets included).
"""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.middleware.common import CommonMiddleware as DjangoCommonMiddleware

from config.errors import error_response, status_error

API_PREFIX = "/api/"
# Headers an error answer keeps when its body is replaced.
_KEPT_HEADERS = ("Allow", "Retry-After", "WWW-Authenticate", "Vary")


def is_api(request: HttpRequest) -> bool:
    return request.path_info.startswith(API_PREFIX) or request.path_info == API_PREFIX[:-1]


def _is_json(response: HttpResponse) -> bool:
    content_type = response.get("Content-Type", "")
    return content_type.startswith("application/json")


class ApiErrorMiddleware:
    """Outermost: sees the answer of every layer below it, exceptions included (Django
    turns an exception into an answer at each layer)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code >= 400 and is_api(request) and not _is_json(response):
            # Django's own page (404, a middleware's 400 or 403, a 500 for an exception);
            # Django has logged it already. Keep only the status.
            code, message = status_error(response.status_code)
            replacement: HttpResponse = error_response(response.status_code, code, message)
            for header in _KEPT_HEADERS:
                if header in response:
                    replacement[header] = response[header]
            # Django's private flag (django.utils.log.log_response), not in its stubs.
            replacement._has_been_logged = getattr(  # type: ignore[attr-defined]
                response, "_has_been_logged", False
            )
            response.close()
            response = replacement
        return response


class CommonMiddleware(DjangoCommonMiddleware):
    """Django's CommonMiddleware, but an unsafe request under /api/ to a path without its
    trailing slash is a 404 like any unknown path. Django would redirect it (the client
    then repeats it as a GET, without its body) or, with debug on, raise RuntimeError."""

    def should_redirect_with_slash(self, request: HttpRequest) -> bool:
        if is_api(request) and request.method not in ("GET", "HEAD"):
            return False
        return super().should_redirect_with_slash(request)

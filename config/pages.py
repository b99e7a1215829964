"""What the HTML pages share: a domain refusal shown to a person, with its stable code.

Pages call the same services as the API; a service's ApplicationError becomes a
message on the page (and, for an htmx request, an error fragment with the API's
status) instead of the API's JSON envelope. Nothing is stored by a refused request.
"""

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.utils.http import url_has_allowed_host_and_scheme
from django_htmx.http import HttpResponseClientRedirect

from config.errors import ApplicationError


def error_message(request: HttpRequest, exc: ApplicationError) -> None:
    """Show `exc` on the next page rendered for this request (Django messages)."""
    messages.error(request, f"{exc.message} [{exc.code}]")


def error_fragment(request: HttpRequest, exc: ApplicationError) -> HttpResponse:
    """An htmx answer for a refusal: the message and code, with the API's HTTP status."""
    html = render_to_string("partials/error.html", {"error": exc}, request=request)
    return HttpResponse(html, status=exc.http_status)


def _page_path(request: HttpRequest) -> str:
    """Where an htmx request's page is: HX-Current-URL's path and query when it is a page
    of this site, else the request's own path. The header is the client's word, so it
    never makes the sign-in's next= point elsewhere (//host, a backslash, a scheme)."""
    current = request.headers.get("HX-Current-URL", "")
    parts = urlsplit(current)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    host = request.get_host()
    if (
        current
        and url_has_allowed_host_and_scheme(current, allowed_hosts={host})
        and url_has_allowed_host_and_scheme(path, allowed_hosts={host})
        and path.startswith("/")
    ):
        return path
    return request.get_full_path()


def login_required_page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """login_required that also answers htmx: a request from a page whose session ended
    sends the whole page to the sign-in (HX-Redirect), not the sign-in into a fragment."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.user.is_authenticated:
            return view(request, *args, **kwargs)
        if getattr(request, "htmx", False):
            return HttpResponseClientRedirect(redirect_to_login(_page_path(request)).url)
        return redirect_to_login(request.get_full_path())

    return wrapper

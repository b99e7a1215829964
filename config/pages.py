"""What the HTML pages share: a domain refusal shown to a person, with its stable code.

Pages call the same services as the API; a service's ApplicationError becomes a
message on the page (and, for an htmx request, an error fragment with the API's
status) instead of the API's JSON envelope. Nothing is stored by a refused request.
"""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string

from config.errors import ApplicationError


def error_message(request: HttpRequest, exc: ApplicationError) -> None:
    """Show `exc` on the next page rendered for this request (Django messages)."""
    messages.error(request, f"{exc.message} [{exc.code}]")


def error_fragment(request: HttpRequest, exc: ApplicationError) -> HttpResponse:
    """An htmx answer for a refusal: the message and code, with the API's HTTP status."""
    html = render_to_string("partials/error.html", {"error": exc}, request=request)
    return HttpResponse(html, status=exc.http_status)

"""Domain errors and the one place that turns them into HTTP answers.

Every refusal carries a stable, machine-readable `code`; clients branch on it, never
on the message. Services raise `ApplicationError` subclasses; DRF's own validation
errors are mapped to `invalid` with the field details. What DRF does not see (no URL
matched, an exception nobody handled) is answered in the same envelope by
config.middleware.ApiErrorMiddleware.
"""

from typing import Any

from django.core.exceptions import PermissionDenied, RequestDataTooBig, SuspiciousOperation
from django.http import Http404, JsonResponse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, status
from rest_framework.response import Response


class ApplicationError(Exception):
    """A refusal the caller can act on. `code` is stable API."""

    code = "error"
    http_status: int = status.HTTP_400_BAD_REQUEST

    def __init__(self, message: str, *, code: str | None = None, extra: Any = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.extra = extra


class NotFoundError(ApplicationError):
    code = "not_found"
    http_status = status.HTTP_404_NOT_FOUND


class ConflictError(ApplicationError):
    code = "conflict"
    http_status = status.HTTP_409_CONFLICT


class PermissionError_(ApplicationError):
    code = "permission_denied"
    http_status = status.HTTP_403_FORBIDDEN


def _body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    body: dict[str, Any] = {"error": {"code": code, "message": message}}
    if details is not None:
        body["error"]["details"] = details
    return body


# The envelope of an error answer nothing more specific described, by HTTP status.
STATUS_ERRORS: dict[int, tuple[str, Any]] = {
    400: ("bad_request", _("The request is not valid.")),
    401: ("not_authenticated", _("Authentication credentials were not provided.")),
    403: ("permission_denied", _("You do not have permission to perform this action.")),
    404: ("not_found", _("Not found.")),
    405: ("method_not_allowed", _("Method not allowed.")),
    406: ("not_acceptable", _("This API answers in JSON only.")),
    413: ("request_too_large", _("The request body is too large.")),
    415: ("unsupported_media_type", _("Unsupported media type.")),
    429: ("throttled", _("Too many requests.")),
    500: ("internal_error", _("An unexpected error occurred; it has been logged.")),
}


def status_error(http_status: int) -> tuple[str, str]:
    """(code, message) for an error answer known only by its status."""
    code, message = STATUS_ERRORS.get(
        http_status, STATUS_ERRORS[500] if http_status >= 500 else ("error", _("Error."))
    )
    return code, str(message)


def error_response(http_status: int, code: str, message: str, details: Any = None) -> JsonResponse:
    """The envelope as a plain Django response, for answers outside DRF views."""
    return JsonResponse(_body(code, message, details), status=http_status)


def django_exception_error(exc: Exception) -> tuple[int, str, str] | None:
    """(status, code, message) for Django's own client-error exceptions, else None."""
    if isinstance(exc, Http404):
        return status.HTTP_404_NOT_FOUND, "not_found", gettext("Not found.")
    if isinstance(exc, RequestDataTooBig):
        return (
            status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
            "request_too_large",
            gettext("The request body is too large."),
        )
    if isinstance(exc, SuspiciousOperation):  # bad Host header, too many fields, ...
        # Its message may quote the request: say nothing more than the status.
        return status.HTTP_400_BAD_REQUEST, "bad_request", gettext("The request is not valid.")
    return None


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, ApplicationError):
        return Response(_body(exc.code, exc.message, exc.extra), status=exc.http_status)
    django_error = django_exception_error(exc)
    if django_error is not None:
        http_status, code, message = django_error
        return Response(_body(code, message), status=http_status)
    # Imported here: rest_framework.views reads DEFAULT_PARSER_CLASSES when imported, and
    # those parsers (config.parsers) raise this module's errors.
    from rest_framework.views import exception_handler

    if isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ParseError):
        response.data = _body("malformed_request", str(exc.detail))
    elif isinstance(exc, exceptions.ValidationError):
        response.data = _body("invalid", "The request is not valid.", exc.detail)
    elif isinstance(exc, exceptions.APIException):
        codes = exc.get_codes()
        code = codes if isinstance(codes, str) else exc.default_code
        response.data = _body(str(code), str(exc.detail))
    return response

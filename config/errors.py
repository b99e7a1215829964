"""Domain errors and the one place that turns them into HTTP answers.

Every refusal carries a stable, machine-readable `code`; clients branch on it, never
on the message. Services raise `ApplicationError` subclasses; DRF's own validation
errors are mapped to `invalid` with the field details.
"""

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler


class ApplicationError(Exception):
    """A refusal the caller can act on. `code` is stable API."""

    code = "error"
    http_status = status.HTTP_400_BAD_REQUEST

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


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, ApplicationError):
        return Response(_body(exc.code, exc.message, exc.extra), status=exc.http_status)
    if isinstance(exc, Http404):
        return Response(_body("not_found", "Not found."), status=status.HTTP_404_NOT_FOUND)
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
        code = exc.get_codes() if isinstance(exc.get_codes(), str) else exc.default_code
        response.data = _body(str(code), str(exc.detail))
    return response

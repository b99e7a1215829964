"""The OpenAPI schema: every operation documents the error answers it can give.

drf-spectacular documents what a view returns when it succeeds. `ApiAutoSchema` adds,
to each operation, the error answers the API's shared machinery can give it, all in the
one error envelope (`Error`), each with the stable codes it may carry:

- 400: the body, a query parameter or a header is refused (operations that take any);
- 401, 403: no or bad credentials; not allowed, or a session without its CSRF token
  (operations that authenticate);
- 404: an id in the path names nothing the caller may see (operations with path ids);
- 409: the state does not allow it now (operations that change state);
- 413, 415: the body is too large, or not of a type taken (operations with a body);
- 422: an `Idempotency-Key` reused for another request (operations taking the header);
- 429: rate-limited, `Retry-After` says when to try again (throttled views);
- 500: a bug, logged and never detailed (every operation);
- 503: the NEAR RPC did not answer (views whose `error_statuses` name it).

A view adds statuses its service can give with an `error_statuses` class attribute
(e.g. `error_statuses = (409, 503)`).
"""

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.openapi import AutoSchema
from rest_framework import serializers

from config.serializers import RequestSerializer

# The stable codes each status may carry (docs/ARCHITECTURE.md, "Errors").
ERROR_CODES: dict[int, tuple[str, ...]] = {
    400: (
        "invalid",
        "malformed_request",
        "import_invalid",
        "import_format_unknown",
        "import_empty",
        "export_format_unknown",
        "label_config_invalid",
        "answer_invalid",
        "near_account_invalid",
        "payout_below_minimum",
        "deposit_hash_invalid",
        "deposit_unknown",
        "deposit_wrong_sender",
        "deposit_failed",
        "deposit_wrong_receiver",
        "deposit_empty",
        "deposit_already_used",
        "deposit_sender_invalid",
        "deposit_invalid",
        "purchase_method_invalid",
        "idempotency_key_invalid",
        "auth_nonce_unknown",
        "auth_nonce_expired",
        "auth_nonce_used",
        "auth_wrong_recipient",
        "auth_message_mismatch",
        "auth_signature_invalid",
        "auth_key_not_full_access",
        "auth_key_not_found",
        "auth_credentials_invalid",
        "manifest_missing",
        "manifest_not_json",
        "manifest_text_invalid",
        "manifest_too_deep",
        "manifest_number_invalid",
        "manifest_schema_unknown",
        "manifest_duplicate_key",
        "manifest_invalid",
        "verify_files_too_many",
        "dataset_publish_invalid",
        "dataset_licence_unknown",
        "dataset_empty",
    ),
    401: ("not_authenticated", "authentication_failed"),
    403: ("permission_denied", "auth_user_inactive", "dataset_not_purchased", "export_forbidden"),
    404: (
        "not_found",
        "project_not_found",
        "assignment_not_found",
        "dataset_not_found",
        "dataset_version_not_found",
        "dataset_file_not_found",
        "purchase_not_found",
        "export_not_found",
    ),
    409: (
        "conflict",
        "project_not_funded",
        "project_state_invalid",
        "project_not_active",
        "assignment_expired",
        "assignment_closed",
        "insufficient_funds",
        "near_account_missing",
        "near_account_unverified",
        "near_account_taken",
        "dataset_not_for_sale",
        "dataset_own_purchase",
        "dataset_already_owned",
        "export_empty",
        "export_not_ready",
        "export_failed",
    ),
    410: ("export_file_gone",),
    413: ("request_too_large", "import_too_large", "manifest_too_large"),
    415: ("unsupported_media_type",),
    422: ("idempotency_key_reused",),
    429: ("throttled", "export_jobs_limit"),
    500: ("internal_error",),
    503: ("chain_unavailable",),
}

_DESCRIPTIONS: dict[int, Any] = {
    400: _("The request is refused; `error.code` says why."),
    401: _("Sign in first: no or bad credentials."),
    403: _("Not allowed."),
    404: _("Not found, or not yours to see."),
    409: _("Not possible in the current state."),
    410: _("It existed but is gone."),
    413: _("The body is larger than this operation takes."),
    415: _("The body's content type is not one this operation takes."),
    422: _("The Idempotency-Key was used for a different request."),
    429: _("Too many requests; try again after Retry-After seconds."),
    500: _("An error on our side; it is logged."),
    503: _("The NEAR RPC did not answer; try again."),
}


# A string with at least one character that Python's str.strip() (hence DRF's
# trim_whitespace) keeps: every character str.isspace() is excluded, no more, no less.
# (tests/test_schema.py checks this list against str.isspace over all of Unicode.)
WHITESPACE = (
    "\u0009\u000a\u000b\u000c\u000d\u001c\u001d\u001e\u001f\u0020"
    "\u0085\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
    "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
NOT_ONLY_WHITESPACE = "[^" + "".join(f"\\u{ord(c):04x}" for c in WHITESPACE) + "]"


class ErrorDetailSerializer(serializers.Serializer[dict[str, Any]]):
    code = serializers.CharField(help_text=_("Stable and machine-readable: branch on this."))
    message = serializers.CharField(help_text=_("For people; its wording may change."))
    details = serializers.JSONField(
        required=False, help_text=_("Field errors or facts about the refusal, when there are.")
    )


class ErrorSerializer(serializers.Serializer[dict[str, Any]]):
    error = ErrorDetailSerializer()


class ApiAutoSchema(AutoSchema):
    """drf-spectacular's AutoSchema, plus the error answers of every operation, and
    request strings that say they must not be blank when the API refuses blank ones."""

    def _map_serializer_field(
        self, field: Any, direction: Any, bypass_extensions: bool = False
    ) -> dict[str, Any]:
        # drf-spectacular leaves its private hooks unannotated.
        schema: dict[str, Any] = super()._map_serializer_field(  # type: ignore[no-untyped-call]
            field, direction, bypass_extensions
        )
        if (
            direction == "request"
            and isinstance(field, serializers.CharField)
            and not field.allow_blank
            and schema.get("type") == "string"
        ):
            schema.setdefault("minLength", 1)
            if field.trim_whitespace:
                # Blank once trimmed is refused too: at least one character str.strip()
                # keeps.
                schema.setdefault("pattern", NOT_ONLY_WHITESPACE)
        return schema

    def _map_basic_serializer(self, serializer: Any, direction: Any) -> dict[str, Any]:
        schema: dict[str, Any] = super()._map_basic_serializer(  # type: ignore[no-untyped-call]
            serializer, direction
        )
        if direction == "request" and isinstance(serializer, RequestSerializer):
            schema["additionalProperties"] = False  # unknown fields are refused
        return schema

    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses: dict[str, Any] = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        for status in sorted(self._error_statuses()):
            # drf-spectacular ships types, but leaves this (private) method unannotated.
            response = self._get_response_for_code(  # type: ignore[no-untyped-call]
                ErrorSerializer, str(status)
            )
            codes = ", ".join(f"`{code}`" for code in ERROR_CODES[status])
            response["description"] = f"{_DESCRIPTIONS[status]} Codes: {codes}."
            responses.setdefault(str(status), response)
        return responses

    def _error_statuses(self) -> set[int]:
        view = self.view
        statuses = {500}
        has_body = self.method in ("POST", "PUT", "PATCH")
        parameters = self._get_parameters()
        if has_body or any(p.get("in") in ("query", "header") for p in parameters):
            statuses.add(400)
        if has_body:
            statuses |= {409, 413, 415}
        if view.get_authenticators():
            # Credentials sent are checked even where none are needed.
            statuses |= {401, 403}
        if "{" in self.path:
            statuses.add(404)
        if any(p.get("in") == "header" and p.get("name") == "Idempotency-Key" for p in parameters):
            statuses.add(422)
        if view.get_throttles():
            statuses.add(429)
        statuses |= set(getattr(view, "error_statuses", ()))
        return statuses

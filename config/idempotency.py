"""Idempotency keys for the API's money-moving POSTs (withdrawals, deposits).

A client that does not know whether its request went through (timeout, lost
response, a 5xx) sends it again with the same `Idempotency-Key` header, as with
Stripe's API:

- same key, same request: the object the first request made, with the header
  `Idempotent-Replayed: true`; nothing moves twice;
- same key, another request: 422 `idempotency_key_reused`;
- a key that is not 1 to 255 visible ASCII characters: 400 `idempotency_key_invalid`.

Keys belong to the signed-in user and to one operation. The guarantee lives in the
database, not here: the service stores the key and the request's fingerprint on the
row it creates in the same transaction as the money movement, under a unique
constraint per user and key, so no crash or race makes two. A refused request
writes nothing and stores no key: sent again, it runs again.
"""

import hashlib
import json
import re
from typing import Any, Protocol, TypeVar

from django.utils.translation import gettext, gettext_lazy
from drf_spectacular.utils import OpenApiParameter
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from config.errors import ApplicationError

IDEMPOTENCY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
_META_KEY = "HTTP_IDEMPOTENCY_KEY"
_KEY_RE = re.compile(r"[\x21-\x7e]{1,255}")  # visible ASCII: no spaces, no controls

IDEMPOTENCY_KEY_PARAMETER = OpenApiParameter(
    IDEMPOTENCY_HEADER,
    {"type": "string", "pattern": "^[\\x21-\\x7e]{1,255}$", "minLength": 1, "maxLength": 255},
    location=OpenApiParameter.HEADER,
    required=False,
    description=gettext_lazy(
        "Optional; 1 to 255 visible ASCII characters, a fresh UUID per operation is a "
        "good key. Sending the same request again with the same key returns the "
        "original result (with the response header `Idempotent-Replayed: true`) "
        "instead of doing it twice; the same key with a different request is refused "
        "(422 `idempotency_key_reused`). Keys are per user. A refused request is not "
        "remembered: sent again, it runs again."
    ),
)


class IdempotencyKeyInvalidError(ApplicationError):
    code = "idempotency_key_invalid"


class IdempotencyKeyReusedError(ApplicationError):
    code = "idempotency_key_reused"
    http_status = status.HTTP_422_UNPROCESSABLE_ENTITY


class Keyed(Protocol):
    request_fingerprint: str


K = TypeVar("K", bound=Keyed)


def idempotency_key_from_request(request: Request) -> str | None:
    """The request's Idempotency-Key, or None without one. IdempotencyKeyInvalidError
    (400) if it is empty, too long or not visible ASCII. A structured-field string
    (`"..."`, as the IETF draft writes it) is unquoted."""
    raw: str | None = request.META.get(_META_KEY)
    if raw is None:
        return None
    key = raw.strip()
    if len(key) >= 2 and key[0] == key[-1] == '"':
        key = key[1:-1]
    if not _KEY_RE.fullmatch(key):
        raise IdempotencyKeyInvalidError(
            gettext("The Idempotency-Key header must be 1 to 255 visible ASCII characters.")
        )
    return key


def request_fingerprint(operation: str, **params: Any) -> str:
    """A digest of what a request asks for: the same for the same request only."""
    canonical = json.dumps({"operation": operation, **params}, sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def idempotent_replay(earlier: K, *, fingerprint: str) -> K:
    """The row an earlier request with this key made, if it asked for the same thing;
    IdempotencyKeyReusedError (422) otherwise."""
    if earlier.request_fingerprint != fingerprint:
        raise IdempotencyKeyReusedError(
            gettext(
                "This Idempotency-Key was used for a different request. Use a new key "
                "for a new request."
            )
        )
    return earlier


def mark_replayed(response: Response, *, created: bool) -> Response:
    """Say on the response that it replays an earlier request's result."""
    if not created:
        response[REPLAYED_HEADER] = "true"
    return response

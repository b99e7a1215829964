"""Rate limits: sign-in, NEAR challenges, deposit look-ups and the admin login.

Counters live in the default cache, which every web process shares (Redis with
REDIS_URL, else files in $NEARLABEL_VAR_DIR/cache; see config/settings.py). Rates come
from `settings.THROTTLE_RATES` ("10/min", "20/hour"; None turns a scope off) and are
read on each request. A client is its IP address as DRF sees it: REMOTE_ADDR, or with
NUM_PROXIES = n the n-th address from the right of X-Forwarded-For.

A refused API request is DRF's `Throttled`: 429 with the error envelope
(`{"error": {"code": "throttled", ...}}`) and `Retry-After`. The admin login, a Django
view, is limited by `AdminLoginThrottleMiddleware` and answers the same way. The pages'
own sign-in and sign-up forms (payouts/views/account.py) ask `page_attempt_wait` and show
the same message, code `throttled`, with status 429.

If the cache cannot be reached, requests are let through and the failure is logged:
the cache is the same Redis as the broker, and an outage of it should not also lock
every user out of signing in.
"""

import hashlib
import logging
import math
import unicodedata
from collections.abc import Callable
from typing import Any, cast

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse
from django.utils.translation import gettext
from redis.exceptions import RedisError
from rest_framework.request import Request
from rest_framework.throttling import ScopedRateThrottle, SimpleRateThrottle
from rest_framework.views import APIView

log = logging.getLogger(__name__)

# What a cache backend raises when its store is unreachable: redis-py's errors for the
# Redis cache, OSError for the file cache (a full or read-only disk).
_CACHE_ERRORS = (RedisError, OSError)


def _rate(scope: str) -> str | None:
    try:
        return settings.THROTTLE_RATES[scope]
    except KeyError as exc:
        raise ImproperlyConfigured(f"No rate for throttle scope {scope!r}.") from exc


def _hashed(text: str) -> str:
    """A cache-key-safe, fixed-length stand-in for user input (a username)."""
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _username(value: Any) -> str:
    """The username a limit counts against: every spelling that signs in as one user is
    one username. Django's sign-in forms read it NFKC-normalised (so a fullwidth "a" signs
    in as "a"); letter case and surrounding whitespace are folded too."""
    if not isinstance(value, str):
        return ""
    return unicodedata.normalize("NFKC", value).strip().casefold()


class ScopedThrottle(ScopedRateThrottle):
    """DRF's ScopedRateThrottle (per user when signed in, else per client IP), with the
    rate read from THROTTLE_RATES on each request, letting requests through (logged)
    when the cache is unreachable."""

    def get_rate(self) -> str | None:
        # DRF's allow_request sets the scope from the view, and asks only if it has one.
        if not self.scope:
            raise ImproperlyConfigured(f"{type(self).__name__} has no scope.")
        return _rate(self.scope)

    def allow_request(self, request: Any, view: Any) -> bool:
        try:
            return super().allow_request(request, view)
        except _CACHE_ERRORS:
            log.exception("rate limit %s not checked: the cache is unreachable", self.scope)
            return True


class ClientIpThrottle(ScopedThrottle):
    """Per client IP, signed in or not: for the endpoints that sign people in."""

    def get_cache_key(self, request: Any, view: Any) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class UsernameThrottle(ScopedThrottle):
    """Per username named in the request body, from any IP: password guessing spread
    over many addresses. Scope from the view's `throttle_username_scope`."""

    scope_attr = "throttle_username_scope"

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        data = request.data
        username = _username(data.get("username") if hasattr(data, "get") else None)
        if not username:
            return None  # nothing to guess against; the IP limit still applies
        return self.cache_format % {"scope": self.scope, "ident": _hashed(username)}


class _AdminLoginThrottle(SimpleRateThrottle):
    """A limit on POSTs to a Django view (the admin login page, the pages' sign-in).

    It is given the Django request as it is, and no view: DRF's throttle reads only
    what a Django request has too (META, for the client's IP) and what get_cache_key
    below reads, never the view. Hence the casts to the types DRF's stubs name.
    """

    def __init__(self, scope: str) -> None:
        self.scope = scope
        self.rate = _rate(scope)
        self.num_requests, self.duration = self.parse_rate(self.rate)

    def login_allowed(self, request: HttpRequest) -> bool:
        return self.allow_request(cast(Request, request), cast(APIView, None))

    def client_ident(self, request: HttpRequest) -> str:
        return self.get_ident(cast(Request, request))


class _AdminLoginIpThrottle(_AdminLoginThrottle):
    def get_cache_key(self, request: Any, view: Any) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class _AdminLoginUsernameThrottle(_AdminLoginThrottle):
    def __init__(self, scope: str, *, field: str = "username") -> None:
        super().__init__(scope)
        self.field = field

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        username = _username(request.POST.get(self.field))
        if not username:
            return None
        return self.cache_format % {"scope": self.scope, "ident": _hashed(username)}


def throttle_seconds(wait: float | None) -> int:
    """A throttle's wait as the whole seconds a person is told (and Retry-After says)."""
    return max(1, math.ceil(wait or 1))


def throttled_message(wait: float | None) -> str:
    return gettext("Too many sign-in attempts. Try again in %(seconds)d seconds.") % {
        "seconds": throttle_seconds(wait)
    }


def throttled_response(wait: float | None) -> JsonResponse:
    """429 in the API's error envelope, with Retry-After (whole seconds)."""
    response = JsonResponse(
        {"error": {"code": "throttled", "message": throttled_message(wait)}}, status=429
    )
    response["Retry-After"] = str(throttle_seconds(wait))
    return response


def page_attempt_wait(
    request: HttpRequest,
    *,
    scope: str,
    username_scope: str | None = None,
    username_field: str = "username",
) -> float | None:
    """Count a POST to a page's form against the client IP's limit (`scope`) and, when
    the form names a username in `username_field`, that username's limit
    (`username_scope`). None when allowed; else the seconds to wait.

    Every attempt counts, before its password is checked, as for the admin login. An
    unreachable cache lets the attempt through (logged), as everywhere here.
    """
    throttles: list[_AdminLoginThrottle] = [_AdminLoginIpThrottle(scope)]
    if username_scope is not None:
        throttles.append(_AdminLoginUsernameThrottle(username_scope, field=username_field))
    for throttle in throttles:
        try:
            allowed = throttle.login_allowed(request)
        except _CACHE_ERRORS:
            log.exception("limit %s not checked: the cache is unreachable", throttle.scope)
            continue
        if not allowed:
            log.warning("%s throttled from %s", throttle.scope, throttle.client_ident(request))
            return float(throttle.wait() or 1)
    return None


class AdminLoginThrottleMiddleware:
    """Limit every POST to the admin login, by client IP and by the username tried.

    Every attempt counts, not only failures: the limit is checked and recorded before
    the password is, so parallel guesses cannot slip past it. Scopes `admin_login`
    and `admin_login_username` of THROTTLE_RATES.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method == "POST" and request.path == reverse("admin:login"):
            wait = page_attempt_wait(
                request, scope="admin_login", username_scope="admin_login_username"
            )
            if wait is not None:
                return throttled_response(wait)
        return self.get_response(request)

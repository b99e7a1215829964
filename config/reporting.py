"""Keeping secrets out of error pages, error reports and logs, debug or not.

Django's SafeExceptionReporterFilter hides settings by name (KEY, PASS, TOKEN, ...), and
only while debug is off. A password inside a URL passes it: REDIS_URL,
CELERY_BROKER_URL, a DATABASE_URL in the environment (request.META under runserver), an
exception message quoting one, a local variable holding one. Here:

- `redact(text)` replaces the secrets this deployment knows (SECRET_KEY and its
  fallbacks, database passwords, every password found in a URL of any setting or
  environment variable, secret-looking query parameters) and any `scheme://user:pw@`
  password, wherever they appear;
- CredentialsExceptionReporterFilter cleanses settings, request.META and frame variables
  by name and by value, also with debug on;
- RedactingExceptionReporter passes the rendered debug page and text report through
  `redact` as a last net (exception messages, query strings, anything else);
- `logging_configure` (settings.LOGGING_CONFIG) installs a log record factory that
  redacts every record's message and traceback, whichever handler writes it (Celery's
  included).
"""

import functools
import html
import logging
import logging.config
import os
import re
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from django.conf import settings
from django.core.signals import setting_changed
from django.utils.safestring import SafeString, mark_safe
from django.views.debug import ExceptionReporter, SafeExceptionReporterFilter

CLEANSED = SafeExceptionReporterFilter.cleansed_substitute

# scheme://user:password@ -> the password. Greedy up to the last "@" before the host, so
# a password with a raw "@" is caught whole.
_URL_CREDENTIALS = re.compile(
    r"(?P<head>\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s:/?#@'\"<>]*:)(?P<secret>[^\s/?#'\"<>]+)@"
)
# ?password=... &api_key=... &token=...
_SECRET_NAME = re.compile("pass|secret|token|key|auth|signature", re.IGNORECASE)
_QUERY_SECRET = re.compile(
    r"(?P<head>[?&][^=&\s'\"<>]*(?:" + _SECRET_NAME.pattern + r")[^=&\s'\"<>]*=)"
    r"(?P<secret>[^&\s#'\"<>]+)",
    re.IGNORECASE,
)
_WHOLE_URL = re.compile(r"\s*[a-zA-Z][a-zA-Z0-9+.-]*://\S+\s*\Z")
# Shorter known values are not replaced verbatim (they would mangle ordinary text); in a
# URL they are still caught by the patterns above.
_MIN_VERBATIM = 6


def _strings(value: Any, depth: int = 0) -> Iterator[str]:
    if depth > 8:  # settings are shallow; a cycle or a huge structure is not a setting
        return
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item, depth + 1)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            yield from _strings(item, depth + 1)


def _secrets_in(text: str) -> Iterator[str]:
    """Passwords and secret query values in `text`, as written and percent-decoded."""
    found: list[str] = []
    if _WHOLE_URL.match(text):  # a setting that is one URL: parse it exactly
        try:
            parts = urlsplit(text.strip())
            found.append(parts.password or "")
            found.extend(
                value for name, value in parse_qsl(parts.query) if _SECRET_NAME.search(name)
            )
        except ValueError:
            pass
    for pattern in (_URL_CREDENTIALS, _QUERY_SECRET):
        found.extend(match.group("secret") for match in pattern.finditer(text))
    for secret in found:
        yield secret
        yield unquote(secret)


@functools.lru_cache(maxsize=1)
def known_secrets() -> tuple[str, ...]:
    """Secret values of this deployment, longest first. Cached until a setting changes."""
    found: set[str] = {settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])}
    for database in settings.DATABASES.values():
        found.add(str(database.get("PASSWORD") or ""))
    for name in dir(settings):
        if name.isupper():
            for text in _strings(getattr(settings, name, None)):
                found.update(_secrets_in(text))
    for text in os.environ.values():
        found.update(_secrets_in(text))
    return tuple(sorted((s for s in found if len(s) >= _MIN_VERBATIM), key=len, reverse=True))


def _secrets_forget(**kwargs: Any) -> None:
    known_secrets.cache_clear()


setting_changed.connect(_secrets_forget)


def redact(text: str, *, html_escaped: bool = False) -> str:
    """`text` with every known secret and every URL password replaced by stars.
    `html_escaped`: the text is HTML, where a secret may appear escaped."""
    for secret in known_secrets():
        if secret in text:
            text = text.replace(secret, CLEANSED)
        if html_escaped:
            escaped = html.escape(secret)
            if escaped != secret and escaped in text:
                text = text.replace(escaped, CLEANSED)
    text = _URL_CREDENTIALS.sub(lambda m: m.group("head") + CLEANSED + "@", text)
    return _QUERY_SECRET.sub(lambda m: m.group("head") + CLEANSED, text)


class _Redacted:
    """A frame variable as the debug page prints it (its repr), redacted."""

    def __init__(self, value: Any) -> None:
        from django.template.defaultfilters import pprint  # the debug page's

        self._text = redact(pprint(value))

    def __repr__(self) -> str:
        return self._text


class CredentialsExceptionReporterFilter(SafeExceptionReporterFilter):
    """Django's filter, active with debug on too, that also cleanses secret values (URL
    passwords in any setting or META entry, known secrets) and frame variables."""

    def is_active(self, request: Any) -> bool:
        return True

    def cleanse_setting(self, key: Any, value: Any) -> Any:
        cleansed = super().cleanse_setting(key, value)  # recurses through this method
        if isinstance(cleansed, str):
            return redact(cleansed)
        return cleansed

    def get_traceback_frame_variables(self, request: Any, tb_frame: Any) -> Any:
        variables: list[tuple[str, str | _Redacted]] = []
        for name, value in super().get_traceback_frame_variables(request, tb_frame):
            if (isinstance(value, str) and value == CLEANSED) or self.hidden_settings.search(name):
                variables.append((name, CLEANSED))
            else:
                variables.append((name, _Redacted(value)))
        return variables


class RedactingExceptionReporter(ExceptionReporter):
    """Django's reporter (debug page, error e-mails) with its output redacted: the filter
    sees settings and variables, not exception messages or query strings."""

    # Safe strings, as Django's are: redacting only replaces secrets in its rendered
    # page, whose HTML stays escaped.
    def get_traceback_html(self) -> SafeString:
        html_page = redact(super().get_traceback_html(), html_escaped=True)
        return mark_safe(html_page)  # noqa: S308  (Django's escaped page, redacted)

    def get_traceback_text(self) -> SafeString:
        return mark_safe(redact(super().get_traceback_text()))  # noqa: S308  (plain text)


def _redacting_record_factory(
    base: Callable[..., logging.LogRecord],
) -> Callable[..., logging.LogRecord]:
    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = base(*args, **kwargs)
        try:
            message = record.getMessage()
            redacted = redact(message)
            if redacted != message:
                record.msg, record.args = redacted, None
            if record.exc_info and not record.exc_text:
                record.exc_text = logging.Formatter().formatException(record.exc_info)
            if record.exc_text:
                record.exc_text = redact(record.exc_text)
            if record.stack_info:
                record.stack_info = redact(record.stack_info)
        except Exception:  # noqa: S110  (a log call must never fail because of this)
            pass
        return record

    factory.redacting = True  # type: ignore[attr-defined]  # mypy: no attributes on functions
    return factory


def logging_configure(config: dict[str, Any]) -> None:
    """settings.LOGGING_CONFIG: dictConfig, and every record redacted from then on."""
    logging.config.dictConfig(config)
    current = logging.getLogRecordFactory()
    if not getattr(current, "redacting", False):
        logging.setLogRecordFactory(_redacting_record_factory(current))

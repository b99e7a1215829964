"""The API's parsers: strict JSON, forms and multipart, each within a body size limit.

DRF's own JSONParser reads the whole stream (Django checks DATA_UPLOAD_MAX_MEMORY_SIZE
only in `request.body` and `request.POST`, which DRF bypasses), lets RecursionError out
of deeply nested JSON and accepts `1e400`, NUL and unpaired surrogates, which PostgreSQL
or the JSON renderer refuse later with a 500. These parsers answer 4xx instead:

- 413 `request_too_large` for a body over the view's limit (`Content-Length` is checked
  before anything is read; the read itself stops one byte past the limit);
- 400 `malformed_request`, `json_too_deep`, `json_number_invalid`, `text_invalid` for
  content (see config.validation).

The limit is `settings.API_MAX_BODY_BYTES` unless the view defines
`body_limit(kind) -> int` (kind: "json", "form" or "multipart") and, optionally,
`body_too_large_message(kind, limit) -> str` to tell the client what to do instead.

DRF parses lazily, only when a view reads `request.data`; a view that takes no body would
take any. BodyCheckingContentNegotiation, which DRF runs for every request before
authentication, checks the size of every body and parses those within the default limit
at once. A bigger body, which only a view with a larger limit accepts, is parsed when the
view reads it, after authentication: anonymous clients cannot make the server parse more
than the default limit.
"""

from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.http import QueryDict
from django.utils.translation import gettext
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import BaseParser, DataAndFiles, FormParser, MultiPartParser
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request

from config.validation import (
    RequestTooLargeError,
    json_parse,
    pointer,
    text_check,
)

# _ImmutableQueryDict exists only in django-stubs: a QueryDict built immutable (the
# default), which FormParser.parse returns.
if TYPE_CHECKING:
    from django.core.files.uploadedfile import UploadedFile
    from django.http.request import _ImmutableQueryDict
    from django.utils.datastructures import MultiValueDict


def size_text(size: int) -> str:
    """1048576 -> "1 MiB": how a limit reads in a message."""
    for unit, factor in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if size >= factor and size % factor == 0:
            return f"{size // factor} {unit}"
    return gettext("%(size)s bytes") % {"size": size}


def content_length(meta: dict[str, Any]) -> int:
    """The request's declared body size; 0 when absent or invalid (DRF reads nothing then)."""
    try:
        return max(0, int(meta.get("CONTENT_LENGTH") or meta.get("HTTP_CONTENT_LENGTH") or 0))
    except (TypeError, ValueError):
        return 0


def body_limit(view: Any, kind: str) -> int:
    """Bytes a body of this kind may have for this view."""
    limit = getattr(view, "body_limit", None)
    if limit is not None:
        return int(limit(kind))
    return int(settings.API_MAX_BODY_BYTES)


def body_too_large(view: Any, kind: str, limit: int) -> RequestTooLargeError:
    custom = getattr(view, "body_too_large_message", None)
    message = (
        custom(kind, limit)
        if custom is not None
        else gettext("The request body is larger than %(limit)s.") % {"limit": size_text(limit)}
    )
    return RequestTooLargeError(message, extra={"limit_bytes": limit})


class _LimitedParser(BaseParser):
    kind = "json"

    def limit(self, parser_context: dict[str, Any]) -> tuple[Any, int]:
        """(view, limit); refuses at once a body that says it is bigger."""
        view = parser_context.get("view")
        limit = body_limit(view, self.kind)
        request = parser_context.get("request")
        if request is not None and content_length(request.META) > limit:
            raise body_too_large(view, self.kind, limit)
        return view, limit

    def read(self, stream: Any, parser_context: dict[str, Any]) -> bytes:
        view, limit = self.limit(parser_context)
        data: bytes = stream.read(limit + 1)
        if len(data) > limit:
            raise body_too_large(view, self.kind, limit)
        return data


class StrictJSONParser(_LimitedParser):
    """JSON bodies: UTF-8 (a charset parameter is ignored, as RFC 8259 says), at most
    MAX_JSON_DEPTH levels, finite numbers, storable text (config.validation.json_parse)."""

    media_type = "application/json"
    renderer_class: type[BaseRenderer] = JSONRenderer
    kind = "json"

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        return json_parse(self.read(stream, parser_context or {}))


def _fields_check(data: QueryDict) -> None:
    for key, values in data.lists():
        text_check(key, path=pointer([key]))
        for value in values:
            text_check(value, path=pointer([key]))


class StrictFormParser(_LimitedParser, FormParser):
    """URL-encoded forms within the limit; NUL in a name or value is refused (text_invalid).
    Percent-encoded bytes that are not UTF-8 decode to U+FFFD, as Django decodes forms."""

    kind = "form"

    def parse(
        self, stream: Any, media_type: str | None = None, parser_context: Any = None
    ) -> "_ImmutableQueryDict":
        parser_context = parser_context or {}
        data = QueryDict(self.read(stream, parser_context), encoding="utf-8")
        _fields_check(data)
        return data


class StrictMultiPartParser(_LimitedParser, MultiPartParser):
    """Multipart forms within the limit (files are spooled to disk by Django's handlers
    past FILE_UPLOAD_MAX_MEMORY_SIZE); names, values and file names must be storable."""

    kind = "multipart"

    def parse(
        self, stream: Any, media_type: str | None = None, parser_context: Any = None
    ) -> "DataAndFiles[_ImmutableQueryDict, MultiValueDict[str, UploadedFile]]":
        parser_context = parser_context or {}
        # Django's multipart parser reads at most Content-Length bytes: checking it is
        # the whole limit.
        self.limit(parser_context)
        parsed = super().parse(stream, media_type, parser_context)
        _fields_check(parsed.data)
        for key, uploads in parsed.files.lists():
            upload = uploads[-1]  # the one request.FILES[key] gives
            text_check(key, path=pointer([key]))
            text_check(upload.name or "", path=pointer([key]))
        return parsed


class BodyCheckingContentNegotiation(DefaultContentNegotiation):
    """DRF's negotiation, then the body check every request gets (see the module's doc)."""

    def select_renderer(
        self, request: Request, renderers: Any, format_suffix: str | None = None
    ) -> tuple[Any, str]:
        chosen: tuple[Any, str] = super().select_renderer(request, renderers, format_suffix)
        # Set here, not only by the caller, so that an error answering the body check
        # is rendered with the negotiated renderer.
        request.accepted_renderer, request.accepted_media_type = chosen
        length = content_length(request.META)
        if length:
            # Never None in a view's request (DRF's Request stores `parsers or ()`).
            parser = self.select_parser(request, request.parsers or ())
            view = request.parser_context.get("view")
            kind = getattr(parser, "kind", "json")
            limit = body_limit(view, kind)
            if length > limit:
                raise body_too_large(view, kind, limit)
            if length <= settings.API_MAX_BODY_BYTES:
                request.data  # noqa: B018  (parses now: errors answer before the view runs)
        return chosen

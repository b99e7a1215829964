"""Untrusted input: strict JSON parsing and the text and value checks every entry point shares.

Whatever is stored must be storable on PostgreSQL (no NUL in text or jsonb, no lone
surrogates), must render again as JSON (no NaN, no Infinity: `1e400` parses as
infinity) and must not be deeper than code that walks it recursively can follow
(Python's `json` recurses, and raises RecursionError a little under 1,000 levels). The
API's parsers (`config.parsers`) and the item importer use these same functions, so a
body, an uploaded file and a CSV cell obey one set of rules.
"""

import itertools
import json
import math
import re
from typing import Any

from django.utils.translation import gettext
from rest_framework import status

from config.errors import ApplicationError

# Levels of nesting a JSON document may have: `[]` is 1, `{"a": [1]}` is 2. Far below
# what Python's recursive encoder and decoder can follow, far above what items, label
# configs and answers need.
MAX_JSON_DEPTH = 64

# NUL (PostgreSQL refuses it in text and jsonb) and UTF-16 surrogates: a str from JSON
# holds one only from an unpaired escape such as "\ud800", which no UTF-8 can encode.
_BAD_TEXT = re.compile("[\x00\ud800-\udfff]")
# JSON strings, to skip brackets inside them when measuring depth (unrolled-loop form:
# linear, no backtracking).
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_DEPTH_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}
# What could decode to NUL or a surrogate: raw surrogates, "\u0000", "\uD800".."\uDFFF".
_SUSPECT_TEXT = re.compile(r"[\ud800-\udfff]|\\u(?:0000|[dD][89a-fA-F])")


class InputError(ApplicationError):
    """Input that is refused whatever the endpoint. `path` locates it ("/items/0/text")."""

    def __init__(self, problem: str, *, path: str = "", extra: dict[str, Any] | None = None):
        self.problem = problem
        self.path = path
        message = (
            gettext("At %(path)s: %(problem)s") % {"path": path, "problem": problem}
            if path
            else problem
        )
        details = dict(extra or {})
        if path:
            details["path"] = path
        super().__init__(message, extra=details or None)


class MalformedRequestError(InputError):
    code = "malformed_request"


class JsonTooDeepError(InputError):
    code = "json_too_deep"


class JsonNumberInvalidError(InputError):
    code = "json_number_invalid"


class TextInvalidError(InputError):
    code = "text_invalid"


class RequestTooLargeError(ApplicationError):
    code = "request_too_large"
    http_status = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE


def pointer(parts: list[str | int]) -> str:
    """A JSON Pointer (RFC 6901) for a path of keys and indexes."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def text_problem(text: str) -> str | None:
    """Why `text` cannot be stored, or None."""
    bad = _BAD_TEXT.search(text)
    if bad is None:
        return None
    if bad.group() == "\x00":
        return gettext("text must not contain NUL characters")
    return gettext("text must not contain unpaired surrogates (such as \\ud800)")


def text_check(text: str, *, path: str = "") -> None:
    """TextInvalidError unless `text` can be stored and encoded as UTF-8."""
    problem = text_problem(text)
    if problem is not None:
        raise TextInvalidError(problem, path=path)


def json_value_check(value: Any, *, max_depth: int = MAX_JSON_DEPTH, at: str = "") -> None:
    """Refuse a decoded JSON value (dicts, lists, str, int, float, bool, None) that could not
    be stored or rendered again: text with NUL or unpaired surrogates (values and keys),
    non-finite numbers, nesting deeper than `max_depth`. Iterative: any depth is safe.

    Raises TextInvalidError, JsonNumberInvalidError or JsonTooDeepError, with the JSON
    Pointer of the offending value after `at`.
    """
    # (value, depth, link) where link is (parent link, key): the path is rebuilt only
    # for an error, so the walk allocates nothing per node.
    stack: list[tuple[Any, int, Any]] = [(value, 0, None)]

    def where(link: Any) -> str:
        parts: list[str | int] = []
        while link is not None:
            link, key = link
            parts.append(key)
        return at + pointer(parts[::-1])

    while stack:
        node, depth, link = stack.pop()
        if isinstance(node, str):
            problem = text_problem(node)
            if problem is not None:
                raise TextInvalidError(problem, path=where(link))
        elif isinstance(node, dict):
            if depth >= max_depth:
                raise JsonTooDeepError(
                    gettext("nested deeper than %(limit)s levels") % {"limit": max_depth},
                    path=where(link),
                    extra={"max_depth": max_depth},
                )
            for key, child in node.items():
                if not isinstance(key, str):
                    raise TextInvalidError(gettext("keys must be text"), path=where(link))
                problem = text_problem(key)
                if problem is not None:
                    raise TextInvalidError(
                        gettext("a key: %(problem)s") % {"problem": problem}, path=where(link)
                    )
                stack.append((child, depth + 1, (link, key)))
        elif isinstance(node, list):
            if depth >= max_depth:
                raise JsonTooDeepError(
                    gettext("nested deeper than %(limit)s levels") % {"limit": max_depth},
                    path=where(link),
                    extra={"max_depth": max_depth},
                )
            stack.extend((child, depth + 1, (link, i)) for i, child in enumerate(node))
        elif isinstance(node, float):
            if not math.isfinite(node):
                raise JsonNumberInvalidError(
                    gettext("numbers must be finite (no NaN, Infinity or overflow like 1e400)"),
                    path=where(link),
                )
        elif node is None or isinstance(node, bool | int):
            pass
        else:  # not something JSON decodes to: a programming error upstream, say so
            raise TypeError(f"not a JSON value: {type(node).__name__}")


def json_depth(text: str) -> int:
    """The deepest bracket nesting of a JSON text, without parsing it (strings skipped).

    Linear and recursion-free. For any text, at least the depth the JSON decoder would
    reach before succeeding or failing, so a text under the limit can be decoded safely.
    """
    brackets = _NOT_BRACKET.sub("", _JSON_STRING.sub("", text))
    return max(itertools.accumulate(map(_DEPTH_STEP.__getitem__, brackets)), default=0)


def json_parse(data: bytes | str, *, max_depth: int = MAX_JSON_DEPTH, check: bool = True) -> Any:
    """Decode JSON strictly: UTF-8 only, no NaN, Infinity or overflowing numbers (`1e400`),
    at most `max_depth` levels; with `check`, also every text (values and keys) storable.

    Raises MalformedRequestError (not JSON, not UTF-8; with `line` and `column` when the
    decoder knows them), JsonTooDeepError, JsonNumberInvalidError or TextInvalidError.
    `check=False` leaves the text checks to the caller (the importer checks item by
    item, to name the item).
    """
    if isinstance(data, bytes | bytearray):
        try:
            text = bytes(data).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MalformedRequestError(
                gettext("not UTF-8 text (byte %(offset)s)") % {"offset": exc.start}
            ) from exc
    else:
        text = data
    if json_depth(text) > max_depth:
        raise JsonTooDeepError(
            gettext("JSON nested deeper than %(limit)s levels") % {"limit": max_depth},
            extra={"max_depth": max_depth},
        )
    try:
        value = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except json.JSONDecodeError as exc:
        raise MalformedRequestError(
            gettext("malformed JSON (%(reason)s)") % {"reason": exc.msg},
            extra={"line": exc.lineno, "column": exc.colno},
        ) from exc
    except _NotFiniteError as exc:
        raise JsonNumberInvalidError(
            gettext("numbers must be finite (no NaN, Infinity or overflow like 1e400)")
        ) from exc
    except RecursionError as exc:  # unreachable after json_depth; kept as a backstop
        raise JsonTooDeepError(
            gettext("JSON nested deeper than %(limit)s levels") % {"limit": max_depth},
            extra={"max_depth": max_depth},
        ) from exc
    except ValueError as exc:
        # int() refuses integers of more than sys.get_int_max_str_digits() (4,300) digits.
        raise JsonNumberInvalidError(
            gettext("a number has too many digits (at most 4300)")
        ) from exc
    # Strictly decoded UTF-8 holds no surrogates, and the decoder refuses raw control
    # characters in strings: NUL and unpaired surrogates can only come from \u escapes
    # (or raw, from a str argument). Without any, every text is fine and the walk (the
    # slow part) is skipped; with one, the walk decides (pairs are fine) and says where.
    if check and _SUSPECT_TEXT.search(text):
        json_value_check(value, max_depth=max_depth)
    return value


class _NotFiniteError(ValueError):
    pass


def _refuse_constant(name: str) -> Any:
    raise _NotFiniteError(name)


def _finite_float(literal: str) -> float:
    value = float(literal)
    if not math.isfinite(value):
        raise _NotFiniteError(literal)
    return value

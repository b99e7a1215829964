"""Importing items: a JSON list, a JSON or JSONL file or a CSV file, all or nothing.

A bad record does not stop the reading: the formats' readers yield it as its
ImportInvalidError, and the import reports up to MAX_REPORTED_ERRORS of them at once
(each with its line and reason), so a requester fixes a file in one go. What the rest of
a file cannot be read past (not UTF-8, a header that names no columns, broken CSV
quoting, a JSON document that does not parse) is raised and ends the reading there.

Every format yields `Row`s through `_row_from_object`, the one validator of an item
whatever its format: its data must be a JSON object that PostgreSQL can store and the
API can render again (config.validation: no NUL or unpaired surrogate in any text or
key, finite numbers, at most MAX_ITEM_DEPTH levels), of at most MAX_ITEM_BYTES, with an
external id of storable text. Nothing stored can later break `/next` or an export.
"""

import csv
import dataclasses
import io
import json
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext, ngettext

from config.enqueue import enqueue_on_commit
from config.errors import ApplicationError
from config.validation import InputError, json_parse, json_value_check, text_problem
from labeling.errors import ProjectNotFundedError, ProjectStateError
from labeling.locks import project_lock
from labeling.models import Item, Project
from labeling.selectors import project_funding
from labeling.task_types import task_type_get
from labeling.tasks import items_embed_task
from marketplace.errors import ImportInvalidError, ImportTooLargeError

log = logging.getLogger(__name__)

MAX_ITEMS_PER_IMPORT = 100_000
MAX_EXTERNAL_ID = 200
# An item's data, as compact UTF-8 JSON.
MAX_ITEM_BYTES = 256 * 1024
# Levels of nesting in an item's data ({"text": "a"} is 1), the same in every format.
MAX_ITEM_DEPTH = 32
# Bad records named in one refusal; past them the file is not read further.
MAX_REPORTED_ERRORS = 50


@dataclass(frozen=True)
class Row:
    line: int  # 1-based line (JSONL; CSV: where the record starts) or position (JSON list)
    external_id: str
    data: dict[str, Any]
    # The gold answer, as given (validated against the project by items_import): a JSON
    # answer, or in CSV the text of a `gold` column (a label, or the answer as JSON).
    gold: Any = None


def _bad(line: int, reason: str, **details: Any) -> ImportInvalidError:
    return ImportInvalidError(
        gettext("Line %(line)s: %(reason)s") % {"line": line, "reason": reason},
        extra={"line": line, "reason": reason, **details},
    )


def _row_from_object(line: int, obj: Any) -> Row:
    """The one validator of an item, whatever the format it came in."""
    if not isinstance(obj, dict):
        raise _bad(line, gettext("each item must be a JSON object"))
    external_id = obj.get("external_id", "")
    gold = obj.get("gold")
    if "data" in obj:
        data = obj["data"]
        unknown = set(obj) - {"data", "external_id", "gold"}
        if unknown:
            raise _bad(
                line,
                gettext("unknown keys beside data: %(keys)s") % {"keys": sorted(unknown)},
            )
    else:
        data = {k: v for k, v in obj.items() if k not in ("external_id", "gold")}
    if not isinstance(data, dict) or not data:
        raise _bad(line, gettext("data must be a non-empty JSON object"))
    try:
        json_value_check(data, max_depth=MAX_ITEM_DEPTH, at="/data")
    except InputError as exc:
        raise _bad(line, exc.message, problem=exc.code, **(exc.extra or {})) from exc
    size = len(json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode())
    if size > MAX_ITEM_BYTES:
        raise _bad(
            line,
            gettext("data is %(size)s bytes of JSON; at most %(limit)s")
            % {"size": size, "limit": MAX_ITEM_BYTES},
        )
    if external_id is None:
        external_id = ""
    if not isinstance(external_id, str | int) or isinstance(external_id, bool):
        raise _bad(line, gettext("external_id must be a string"))
    external_id = str(external_id)
    if len(external_id) > MAX_EXTERNAL_ID:
        raise _bad(
            line,
            gettext("external_id longer than %(limit)s characters") % {"limit": MAX_EXTERNAL_ID},
        )
    problem = text_problem(external_id)
    if problem is not None:
        raise _bad(line, gettext("external_id: %(problem)s") % {"problem": problem})
    return Row(line=line, external_id=external_id, data=data, gold=gold)


# What a format's reader yields: a good row, or the error of a bad record (yielded, not
# raised: the records after it are still read).
RowOrError = Row | ImportInvalidError


def _row_or_error(line: int, obj: Any) -> RowOrError:
    try:
        return _row_from_object(line, obj)
    except ImportInvalidError as exc:
        return exc


def rows_from_json(payload: Any) -> Iterator[RowOrError]:
    if not isinstance(payload, list):
        raise _bad(1, gettext("the body must be a JSON list of items"))
    for index, obj in enumerate(payload, start=1):
        yield _row_or_error(index, obj)


def _decode(content: bytes, *, line_offset: int = 0) -> str:
    """UTF-8 (a BOM is dropped), or import_invalid naming the line of the first bad byte."""
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = line_offset + content.count(b"\n", 0, exc.start) + 1
        raise _bad(line, gettext("not UTF-8 text")) from exc


def _line_parse(line: int, content: bytes | str) -> Any:
    try:
        # Text and numbers are checked item by item, by _row_from_object.
        return json_parse(content, check=False)
    except InputError as exc:
        # For a whole .json file the decoder knows the line; for a JSONL line, `line`.
        where = line - 1 + (exc.extra or {}).get("line", 1)
        raise _bad(where, exc.message, problem=exc.code) from exc


def rows_from_jsonl(content: bytes) -> Iterator[RowOrError]:
    """One JSON object per line. Lines end at "\n" only (and a "\r" before it is
    dropped): U+2028, U+2029, "\x1c" and the like, which str.splitlines() would also
    split at, are text inside a JSON string, not line ends."""
    for number, raw in enumerate(content.split(b"\n"), start=1):
        if number == 1:
            raw = raw.removeprefix(b"\xef\xbb\xbf")
        raw = raw.removesuffix(b"\r")
        if not raw.strip():
            continue
        try:  # each line stands alone: a bad one does not stop the reading
            text = _decode(raw, line_offset=number - 1)
            yield _row_from_object(number, _line_parse(number, text))
        except ImportInvalidError as exc:
            yield exc


def rows_from_csv(content: bytes) -> Iterator[RowOrError]:
    """A header naming every column, then one item per record; `external_id` is a column
    like the others. An error names the line where its record starts, even when a quoted
    value spans several lines."""
    reader = csv.reader(io.StringIO(_decode(content), newline=""), strict=True)
    header: list[str] | None = None
    while True:
        start = reader.line_num + 1  # the record about to be read starts on this line
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise _bad(start, gettext("malformed CSV (%(reason)s)") % {"reason": exc}) from exc
        if not record:  # a blank line
            continue
        if header is None:
            if any(not name for name in record):
                raise _bad(start, gettext("the first line must name every column"))
            if len(set(record)) != len(record):
                raise _bad(start, gettext("column names must be distinct"))
            header = record
            continue
        if len(record) != len(header):
            yield _bad(start, gettext("expected %(count)s columns") % {"count": len(header)})
            continue
        data = dict(zip(header, record, strict=True))
        external_id = data.pop("external_id", "") or ""
        gold = data.pop("gold", "") or None
        yield _row_or_error(start, {"external_id": external_id, "data": data, "gold": gold})
    if header is None:
        raise _bad(1, gettext("the first line must name every column"))


def rows_from_upload(*, name: str, content: bytes) -> Iterator[RowOrError]:
    lowered = name.lower()
    if lowered.endswith((".jsonl", ".ndjson")):
        return rows_from_jsonl(content)
    if lowered.endswith(".csv"):
        return rows_from_csv(content)
    if lowered.endswith(".json"):
        return rows_from_json(_line_parse(1, _decode(content)))
    raise ImportInvalidError(
        gettext("Upload a .json, .jsonl or .csv file."), code="import_format_unknown"
    )


def items_import(*, project: Project, rows: Iterable[RowOrError]) -> int:
    """Add the rows as items of the project, all or nothing. Returns how many.

    Bad rows refuse the whole import (import_invalid): the error's message and
    `extra` ("line", "reason") are the first bad row's, and extra["errors"] lists up
    to MAX_REPORTED_ERRORS of them in line order (each {"line", "reason", ...}), with
    extra["more_errors"] true when the reading stopped there. More than
    MAX_ITEMS_PER_IMPORT rows is import_too_large (413). Nothing is stored on a
    refusal, so the same call can be made again with the file fixed. External ids must
    be unique within the project. Into an active project, the whole import is refused
    (project_not_funded) unless the escrow covers every answer slot the new items add.
    """
    if project.status == Project.Status.COMPLETED:
        raise ProjectStateError(gettext("A completed project takes no more items."))
    collected: list[Row] = []
    errors: list[ImportInvalidError] = []
    seen: dict[str, int] = {}
    more_errors = False
    try:
        for row in rows:
            if len(errors) >= MAX_REPORTED_ERRORS:
                more_errors = True
                break
            if isinstance(row, ImportInvalidError):
                errors.append(row)
                continue
            if len(collected) >= MAX_ITEMS_PER_IMPORT:
                raise ImportTooLargeError(
                    gettext(
                        "At most %(limit)s items per import (line %(line)s is one too many); "
                        "split the upload."
                    )
                    % {"limit": MAX_ITEMS_PER_IMPORT, "line": row.line},
                    extra={"line": row.line, "limit": MAX_ITEMS_PER_IMPORT},
                )
            if row.external_id:
                if row.external_id in seen:
                    errors.append(
                        _bad(
                            row.line,
                            gettext("external_id %(id)s repeats line %(line)s")
                            % {"id": repr(row.external_id), "line": seen[row.external_id]},
                        )
                    )
                    continue
                seen[row.external_id] = row.line
            if row.gold is not None:
                try:
                    row = dataclasses.replace(row, gold=_gold_answer(project, row))
                except ImportInvalidError as exc:
                    errors.append(exc)
                    continue
            collected.append(row)
    except ImportInvalidError as exc:
        if exc.code != ImportInvalidError.code:
            raise
        # What the rest of the file cannot be read past: the last error of the list.
        errors.append(exc)
    if errors:
        raise _refusal(errors, more=more_errors)
    if not collected:
        raise ImportInvalidError("No items in the upload.", code="import_empty")
    with transaction.atomic(durable=True):
        project = project_lock(project_id=project.pk)
        if seen:
            taken = set(
                Item.objects.filter(project=project, external_id__in=list(seen)).values_list(
                    "external_id", flat=True
                )
            )
            clashes = [
                _bad(
                    row.line,
                    gettext("external_id %(id)s already in the project")
                    % {"id": repr(row.external_id)},
                )
                for row in collected
                if row.external_id in taken
            ]
            if clashes:
                more = len(clashes) > MAX_REPORTED_ERRORS
                raise _refusal(clashes[:MAX_REPORTED_ERRORS], more=more)
        if project.status == Project.Status.ACTIVE:
            regular = sum(1 for row in collected if row.gold is None)
            funding = project_funding(
                project=project,
                extra_items=regular,
                gold_coming=any(row.gold is not None for row in collected),
            )
            if funding.shortfall > 0:
                raise ProjectNotFundedError(
                    "The escrow cannot cover these items; deposit first.", extra=funding.as_api()
                )
        Item.objects.bulk_create(
            (
                Item(
                    project=project,
                    external_id=row.external_id,
                    data=row.data,
                    is_gold=row.gold is not None,
                    gold_answer=row.gold,
                    final_answer=row.gold,
                )
                for row in collected
            ),
            batch_size=1000,
        )
    log.info("imported %s items into project %s", len(collected), project.public_id)
    if not settings.CELERY_TASK_ALWAYS_EAGER:
        # With a broker, a quality worker embeds them now. Without one (the embedded
        # default) the task would run inside this request, for minutes on a big import:
        # the periodic refit sweep embeds them instead.
        enqueue_on_commit(items_embed_task, project.pk)
    return len(collected)


def _refusal(errors: list[ImportInvalidError], *, more: bool) -> ImportInvalidError:
    """One import_invalid for the bad rows: the first one's message and details, with
    every one listed under "errors"."""
    first = errors[0]
    message = first.message
    if len(errors) > 1:
        count = len(errors) - 1
        message = ngettext(
            "%(first)s (and %(count)s more bad line)",
            "%(first)s (and %(count)s more bad lines)",
            count,
        ) % {"first": first.message, "count": count}
    if more:
        message += " " + gettext("The file was not read further; there may be more.")
    return ImportInvalidError(
        message,
        extra={
            **(first.extra or {}),
            "errors": [exc.extra or {"reason": exc.message} for exc in errors],
            "more_errors": more,
        },
    )


def _gold_answer(project: Project, row: Row) -> Any:
    """A row's gold answer validated by the project's task type: a JSON answer, or (as
    a CSV column gives it) text that names a label or holds the answer as JSON."""
    task_type = task_type_get(project.task_type)
    gold = row.gold
    if isinstance(gold, str):
        categories = task_type.categories(project.label_config) or []
        if gold in categories:
            gold = task_type.category_answer(project.label_config, categories.index(gold))
        else:
            try:
                gold = json_parse(gold)
            except InputError as exc:
                raise _bad(row.line, gettext("gold: not a label of the project nor JSON")) from exc
    try:
        return task_type.answer_validate(project.label_config, gold)
    except ApplicationError as exc:
        raise _bad(row.line, gettext("gold: %(reason)s") % {"reason": exc.message}) from exc

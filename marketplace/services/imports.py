"""Importing items: a JSON list, a JSONL file or a CSV file, all or nothing."""

import csv
import io
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from labeling.errors import ProjectNotFundedError, ProjectStateError
from labeling.locks import project_lock
from labeling.models import Item, Project
from labeling.selectors import project_funding
from marketplace.errors import ImportInvalidError

log = logging.getLogger(__name__)

MAX_ITEMS_PER_IMPORT = 100_000
MAX_EXTERNAL_ID = 200


@dataclass(frozen=True)
class Row:
    line: int  # 1-based line (JSONL, CSV) or position (JSON list) in the upload
    external_id: str
    data: dict[str, Any]


def _bad(line: int, reason: str) -> ImportInvalidError:
    return ImportInvalidError(f"Line {line}: {reason}", extra={"line": line, "reason": reason})


def _row_from_object(line: int, obj: Any) -> Row:
    if not isinstance(obj, dict):
        raise _bad(line, "each item must be a JSON object")
    external_id = obj.get("external_id", "")
    if "data" in obj:
        data = obj["data"]
        unknown = set(obj) - {"data", "external_id"}
        if unknown:
            raise _bad(line, f"unknown keys beside data: {sorted(unknown)}")
    else:
        data = {k: v for k, v in obj.items() if k != "external_id"}
    if not isinstance(data, dict) or not data:
        raise _bad(line, "data must be a non-empty JSON object")
    if external_id is None:
        external_id = ""
    if not isinstance(external_id, str | int) or isinstance(external_id, bool):
        raise _bad(line, "external_id must be a string")
    external_id = str(external_id)
    if len(external_id) > MAX_EXTERNAL_ID:
        raise _bad(line, f"external_id longer than {MAX_EXTERNAL_ID} characters")
    return Row(line=line, external_id=external_id, data=data)


def rows_from_json(payload: Any) -> Iterator[Row]:
    if not isinstance(payload, list):
        raise _bad(1, "the body must be a JSON list of items")
    for index, obj in enumerate(payload, start=1):
        yield _row_from_object(index, obj)


def rows_from_jsonl(text: str) -> Iterator[Row]:
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise _bad(number, f"malformed JSON ({exc.msg})") from exc
        yield _row_from_object(number, obj)


def rows_from_csv(text: str) -> Iterator[Row]:
    reader = csv.DictReader(io.StringIO(text, newline=""), strict=True)
    try:
        header = reader.fieldnames
        if not header or any(not h for h in header):
            raise _bad(1, "the first line must name every column")
        if len(set(header)) != len(header):
            raise _bad(1, "column names must be distinct")
        for record in reader:
            line = reader.line_num
            if None in record or any(v is None for v in record.values()):
                raise _bad(line, f"expected {len(header)} columns")
            external_id = record.pop("external_id", "") or ""
            yield _row_from_object(line, {"external_id": external_id, "data": record})
    except csv.Error as exc:
        raise _bad(reader.line_num, f"malformed CSV ({exc})") from exc


def rows_from_upload(*, name: str, content: bytes) -> Iterator[Row]:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportInvalidError("The file is not UTF-8 text.") from exc
    lowered = name.lower()
    if lowered.endswith((".jsonl", ".ndjson")):
        return rows_from_jsonl(text)
    if lowered.endswith(".csv"):
        return rows_from_csv(text)
    if lowered.endswith(".json"):
        try:
            return rows_from_json(json.loads(text))
        except json.JSONDecodeError as exc:
            raise _bad(exc.lineno, f"malformed JSON ({exc.msg})") from exc
    raise ImportInvalidError("Upload a .json, .jsonl or .csv file.", code="import_format_unknown")


def items_import(*, project: Project, rows: Iterator[Row]) -> int:
    """Add the rows as items of the project, all or nothing. Returns how many.

    The first bad row stops the import with its line and reason (import_invalid);
    nothing is stored then. External ids must be unique within the project. Into
    an active project, the whole import is refused (project_not_funded) unless the
    escrow covers every answer slot the new items add.
    """
    if project.status == Project.Status.COMPLETED:
        raise ProjectStateError("A completed project takes no more items.")
    collected: list[Row] = []
    seen: dict[str, int] = {}
    for row in rows:
        if len(collected) >= MAX_ITEMS_PER_IMPORT:
            raise _bad(row.line, f"at most {MAX_ITEMS_PER_IMPORT} items per import")
        if row.external_id:
            if row.external_id in seen:
                raise _bad(
                    row.line,
                    f"external_id {row.external_id!r} repeats line {seen[row.external_id]}",
                )
            seen[row.external_id] = row.line
        collected.append(row)
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
            for row in collected:
                if row.external_id in taken:
                    raise _bad(row.line, f"external_id {row.external_id!r} already in the project")
        if project.status == Project.Status.ACTIVE:
            funding = project_funding(project=project, extra_items=len(collected))
            if funding.shortfall > 0:
                raise ProjectNotFundedError(
                    "The escrow cannot cover these items; deposit first.", extra=funding.as_api()
                )
        Item.objects.bulk_create(
            (
                Item(project=project, external_id=row.external_id, data=row.data)
                for row in collected
            ),
            batch_size=1000,
        )
    log.info("imported %s items into project %s", len(collected), project.public_id)
    return len(collected)

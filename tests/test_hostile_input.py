"""A hostile client: every endpoint that takes a body answers bad input with a 4xx JSON
envelope and a stable code, never a 500 or HTML, and stores nothing.

The refusals come from validation, before the database: SQLite would store NUL and lone
surrogates that PostgreSQL refuses, and both would store what the JSON renderer cannot
render again. Runs on both.
"""

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from labeling.models import Assignment, Item, Project, Submission
from payouts.models import AuthChallenge, Deposit, NearAccount, Payout
from tests.conftest import api_client_for
from tests.factories import UserFactory, project_with_items

pytestmark = pytest.mark.django_db

MARK = '"HOSTILE"'  # in each endpoint's valid body, where the hostile JSON goes

# (name, JSON text put in place of MARK, status, code)
FRAGMENTS = [
    ("nested 100,000 levels", "[" * 100_000 + "]" * 100_000, 400, "json_too_deep"),
    # Past the limit (64) but not deep enough for a RecursionError: only the depth check.
    ("nested 65 levels", "[" * 65 + "]" * 65, 400, "json_too_deep"),
    ("nested objects", '{"a":' * 50_000 + "1" + "}" * 50_000, 400, "json_too_deep"),
    ("lone high surrogate", r'"\ud800"', 400, "text_invalid"),
    ("lone low surrogate", r'"x\udfffy"', 400, "text_invalid"),
    ("NUL in a value", r'"a\u0000b"', 400, "text_invalid"),
    ("NUL in a key", r'{"k\u0000": 1}', 400, "text_invalid"),
    ("surrogate in a key", r'{"\udbff": 1}', 400, "text_invalid"),
    ("NUL deep inside", r'[{"a": [{"b": "\u0000"}]}]', 400, "text_invalid"),
    ("1e400", "1e400", 400, "json_number_invalid"),
    ("-1e400", "[-1e400]", 400, "json_number_invalid"),
    ("NaN", "NaN", 400, "json_number_invalid"),
    ("Infinity", "[Infinity]", 400, "json_number_invalid"),
    ("-Infinity", "-Infinity", 400, "json_number_invalid"),
    ("5,000 digits", "9" * 5000, 400, "json_number_invalid"),
    ("not JSON", "[1,", 400, "malformed_request"),
]
# Bytes that are not UTF-8: an invalid byte, and a surrogate encoded as if it were UTF-8.
RAW_FRAGMENTS = [
    ("invalid UTF-8", b'"\xff\xfe"', 400, "malformed_request"),
    ("UTF-8-encoded surrogate", b'"\xed\xa0\x80"', 400, "malformed_request"),
]


@dataclass
class Endpoint:
    client: APIClient
    url: str
    body: str  # valid JSON text with MARK where the hostile value goes
    stored: Callable[[], object]  # a snapshot of what a success would change


def _project_active_with_assignment():
    project = project_with_items(items=2, answers_per_item=1)
    contributor = api_client_for(UserFactory())
    assignment = contributor.get(f"/api/projects/{project.public_id}/next").json()
    return project, contributor, assignment["id"]


ENDPOINTS = [
    "create project",
    "import items",
    "publish",
    "submit answer",
    "skip",
    "deposit",
    "withdraw",
    "near account link",
    "auth challenge",
    "auth verify",
    "token",
    "purchase",
    "purchase by deposit",
]


@pytest.fixture
def endpoint(request) -> Endpoint:
    name = request.param
    requester = UserFactory(username="hostile-requester")
    requester_api = api_client_for(requester)
    draft = Project.objects.create(
        owner=requester,
        title="Draft",
        task_type="classification",
        label_config={"labels": ["cat", "dog"]},
        reward_per_answer=10**22,
        platform_fee_bps=1000,
    )
    Item.objects.create(project=draft, data={"t": 1})
    if name == "create project":
        return Endpoint(
            requester_api,
            "/api/projects/",
            '{"title": "Pets", "task_type": "classification", "label_config": ["cat", '
            + MARK
            + '], "reward_per_answer": "0.05"}',
            lambda: list(Project.objects.values_list("pk", flat=True)),
        )
    if name == "import items":
        return Endpoint(
            requester_api,
            f"/api/projects/{draft.public_id}/items/",
            '[{"external_id": "e1", "data": {"text": ' + MARK + "}}]",
            lambda: list(Item.objects.values_list("pk", flat=True)),
        )
    if name == "publish":
        return Endpoint(
            requester_api,
            f"/api/projects/{draft.public_id}/publish",
            '{"note": ' + MARK + "}",
            lambda: list(Project.objects.values_list("status", flat=True)),
        )
    if name in ("submit answer", "skip"):
        _, contributor, assignment_id = _project_active_with_assignment()
        path = "submit" if name == "submit answer" else "skip"
        return Endpoint(
            contributor,
            f"/api/assignments/{assignment_id}/{path}",
            '{"answer": {"label": ' + MARK + "}}",
            lambda: (
                list(Submission.objects.values_list("pk", flat=True)),
                list(Assignment.objects.values_list("status", flat=True)),
            ),
        )
    if name == "deposit":
        return Endpoint(
            requester_api,
            f"/api/projects/{draft.public_id}/deposits/",
            '{"tx_hash": ' + MARK + "}",
            lambda: list(Deposit.objects.values_list("pk", flat=True)),
        )
    if name == "withdraw":
        return Endpoint(
            requester_api,
            "/api/me/payouts",
            '{"amount": ' + MARK + "}",
            lambda: list(Payout.objects.values_list("pk", flat=True)),
        )
    if name == "near account link":
        return Endpoint(
            requester_api,
            "/api/me/near-account",
            '{"account_id": ' + MARK + ', "public_key": "ed25519:x", "signature": "x", '
            '"message": "m", "nonce": "n", "recipient": "r"}',
            lambda: list(NearAccount.objects.values_list("pk", flat=True)),
        )
    if name == "auth challenge":
        return Endpoint(
            APIClient(),
            "/api/auth/near/challenge",
            '{"hint": ' + MARK + "}",
            lambda: list(AuthChallenge.objects.values_list("pk", flat=True)),
        )
    if name == "auth verify":
        return Endpoint(
            APIClient(),
            "/api/auth/near/verify",
            '{"account_id": ' + MARK + ', "public_key": "ed25519:x", "signature": "x", '
            '"message": "m", "nonce": "n", "recipient": "r"}',
            lambda: (
                list(get_user_model().objects.values_list("pk", flat=True)),
                list(Token.objects.values_list("pk", flat=True)),
            ),
        )
    if name == "token":
        return Endpoint(
            APIClient(),
            "/api/auth/token",
            '{"username": ' + MARK + ', "password": "correct horse battery"}',
            lambda: list(Token.objects.values_list("pk", flat=True)),
        )
    if name in ("purchase", "purchase by deposit"):
        from marketplace.models import Purchase
        from payouts.models import JournalLine
        from tests.factories import dataset_version_ready, earnings_give

        version = dataset_version_ready(price=10**24)
        earnings_give(requester, 2 * 10**24)
        body = (
            '{"method": ' + MARK + "}"
            if name == "purchase"
            else '{"method": "deposit", "tx_hash": ' + MARK + "}"
        )
        return Endpoint(
            requester_api,
            f"/api/datasets/{version.dataset.public_id}/versions/1/purchases",
            body,
            lambda: (
                list(Purchase.objects.values_list("pk", flat=True)),
                JournalLine.objects.count(),
            ),
        )
    raise AssertionError(name)


def _refused(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"] == "application/json", response["Content-Type"]
    error = response.json()["error"]
    assert error["code"] == code, error
    assert error["message"]
    return error


@pytest.mark.parametrize("endpoint", ENDPOINTS, indirect=True)
@pytest.mark.parametrize(
    ("fragment", "status", "code"),
    [pytest.param(f, s, c, id=n) for n, f, s, c in FRAGMENTS + RAW_FRAGMENTS],
)
def test_hostile_json_is_refused_and_nothing_is_stored(endpoint, fragment, status, code) -> None:
    before = endpoint.stored()
    if isinstance(fragment, bytes):
        body = endpoint.body.encode().replace(MARK.encode(), fragment)
    else:
        body = endpoint.body.replace(MARK, fragment).encode()
    response = endpoint.client.generic("POST", endpoint.url, body, content_type="application/json")
    _refused(response, status, code)
    assert endpoint.stored() == before


@pytest.mark.parametrize("endpoint", ENDPOINTS, indirect=True)
def test_a_valid_body_passes_the_checks(endpoint) -> None:
    """For contrast: the same bodies with an ordinary value are not refused by the
    parser (each endpoint may still refuse the value on its own terms)."""
    body = endpoint.body.replace(MARK, '"cat"').encode()
    response = endpoint.client.generic("POST", endpoint.url, body, content_type="application/json")
    assert response.status_code < 500
    if response.status_code >= 400:
        assert response.json()["error"]["code"] not in {
            "json_too_deep",
            "text_invalid",
            "json_number_invalid",
            "malformed_request",
            "request_too_large",
        }


@pytest.mark.parametrize("endpoint", ENDPOINTS, indirect=True)
def test_a_body_over_the_limit_is_413(endpoint, settings) -> None:
    settings.API_MAX_BODY_BYTES = 4096
    settings.IMPORT_MAX_JSON_BYTES = 8192
    before = endpoint.stored()
    padding = '"' + "x" * 9000 + '"'
    response = endpoint.client.generic(
        "POST", endpoint.url, endpoint.body.replace(MARK, padding), content_type="application/json"
    )
    error = _refused(response, 413, "request_too_large")
    assert error["details"]["limit_bytes"] in (4096, 8192)
    assert endpoint.stored() == before


@pytest.mark.parametrize("endpoint", ["create project", "auth challenge"], indirect=True)
def test_a_declared_size_over_the_limit_is_refused_before_reading(endpoint) -> None:
    """Content-Length says 10 GiB: 413 at once, whatever follows."""
    before = endpoint.stored()
    response = endpoint.client.generic(
        "POST",
        endpoint.url,
        b"{}",
        content_type="application/json",
        CONTENT_LENGTH=str(10 * 1024**3),
    )
    _refused(response, 413, "request_too_large")
    assert endpoint.stored() == before


def test_import_json_body_over_its_limit_says_how_to_upload_a_file(settings) -> None:
    settings.IMPORT_MAX_JSON_BYTES = 10_000
    requester = UserFactory()
    project = project_with_items(items=0, fund=False, owner=requester, status="draft")
    api = api_client_for(requester)
    items = [{"data": {"text": "x" * 100}} for _ in range(200)]
    response = api.post(f"/api/projects/{project.public_id}/items/", items, format="json")
    error = _refused(response, 413, "request_too_large")
    message = error["message"]
    for needed in ("multipart/form-data", "`file`", ".jsonl", ".csv", "64 MiB", "100,000"):
        assert needed in message, message
    assert not Item.objects.exists()


def test_import_json_body_reaches_the_item_limit() -> None:
    """MAX_ITEMS_PER_IMPORT (100,000) small items fit a JSON body; one more is 413."""
    from marketplace.services.imports import MAX_ITEMS_PER_IMPORT

    requester = UserFactory()
    project = project_with_items(items=0, fund=False, owner=requester, status="draft")
    api = api_client_for(requester)
    url = f"/api/projects/{project.public_id}/items/"
    body = "[" + ",".join(f'{{"n":{n}}}' for n in range(MAX_ITEMS_PER_IMPORT + 1)) + "]"
    response = api.generic("POST", url, body, content_type="application/json")
    error = _refused(response, 413, "import_too_large")
    assert error["details"]["limit"] == MAX_ITEMS_PER_IMPORT
    assert not Item.objects.exists()
    body = body.rsplit(",", 1)[0] + "]"
    response = api.generic("POST", url, body, content_type="application/json")
    assert response.status_code == 201, response.content[:300]
    assert Item.objects.count() == MAX_ITEMS_PER_IMPORT


# --- forms and files ----------------------------------------------------------------------


def test_token_form_with_nul_is_refused() -> None:
    UserFactory(username="alice")
    response = APIClient().post(
        "/api/auth/token",
        "username=ali%00ce&password=correct+horse+battery",
        content_type="application/x-www-form-urlencoded",
    )
    _refused(response, 400, "text_invalid")
    assert not Token.objects.exists()


def test_token_form_works() -> None:
    UserFactory(username="alice")
    response = APIClient().post(
        "/api/auth/token",
        "username=alice&password=correct+horse+battery",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200
    assert Token.objects.count() == 1


def test_multipart_field_with_nul_is_refused() -> None:
    UserFactory(username="alice")
    response = APIClient().post(
        "/api/auth/token",
        {"username": "ali\x00ce", "password": "correct horse battery"},
        format="multipart",
    )
    _refused(response, 400, "text_invalid")
    assert not Token.objects.exists()


@pytest.fixture
def draft(requester):
    project = Project.objects.create(
        owner=requester,
        title="Draft",
        task_type="classification",
        label_config={"labels": ["cat", "dog"]},
        reward_per_answer=10**22,
        platform_fee_bps=1000,
    )
    return project


@pytest.mark.parametrize(
    ("name", "content", "line", "problem"),
    [
        ("a.jsonl", b'{"data": {"t": "ok"}}\n{"data": {"t": "\\ud800"}}\n', 2, "text_invalid"),
        ("a.jsonl", b'{"data": {"t": "a\\u0000"}}\n', 1, "text_invalid"),
        ("a.jsonl", b'{"data": {"k\\u0000": 1}}\n', 1, "text_invalid"),
        ("a.jsonl", b'{"data": {"t": 1}}\n{"data": {"n": 1e400}}\n', 2, "json_number_invalid"),
        ("a.jsonl", b'{"data": {"n": NaN}}\n', 1, "json_number_invalid"),
        ("a.jsonl", b'{"data": {"t": 1}}\n{"data": ' + b"[" * 100_000 + b"\n", 2, "json_too_deep"),
        ("a.jsonl", b'{"data": {"t": 1}, "external_id": "\\ud800"}\n', 1, None),
        ("a.jsonl", b'{"data": {"t": "\xff"}}\n', 1, None),
        ("a.json", b'[{"t": 1}, {"t": "\\u0000"}]', 2, "text_invalid"),
        ("a.json", b"[" * 100_000, 1, "json_too_deep"),
        ("a.json", b'[{"t": 1e999}]', 1, "json_number_invalid"),
        ("a.csv", b"text,label\nok,1\nbad\x00,2\n", 3, "text_invalid"),
        ("a.csv", b"te\x00xt,label\nok,1\n", 2, "text_invalid"),
        ("a.csv", b"text,external_id\nok,a\x00\n", 2, None),
        ("a.csv", b"text\nok\n\xff\n", 3, None),
    ],
)
def test_hostile_files_are_refused_with_their_line(
    requester_api, draft, name, content, line, problem
) -> None:
    response = requester_api.post(
        f"/api/projects/{draft.public_id}/items/",
        {"file": SimpleUploadedFile(name, content)},
        format="multipart",
    )
    error = _refused(response, 400, "import_invalid")
    assert error["details"]["line"] == line, error
    if problem:
        assert error["details"]["problem"] == problem, error
    assert not Item.objects.exists()


def test_an_item_over_the_size_limit_is_refused(requester_api, draft) -> None:
    from marketplace.services.imports import MAX_ITEM_BYTES

    content = b'{"data": {"t": "ok"}}\n{"data": {"t": "' + b"x" * MAX_ITEM_BYTES + b'"}}\n'
    response = requester_api.post(
        f"/api/projects/{draft.public_id}/items/",
        {"file": SimpleUploadedFile("big.jsonl", content)},
        format="multipart",
    )
    assert _refused(response, 400, "import_invalid")["details"]["line"] == 2
    assert not Item.objects.exists()


def test_item_data_nested_past_the_item_depth_is_refused(requester_api, draft) -> None:
    from marketplace.services.imports import MAX_ITEM_DEPTH

    deep = "[" * MAX_ITEM_DEPTH + "1" + "]" * MAX_ITEM_DEPTH  # data {"d": deep}: one too many
    body = '[{"data": {"d": ' + deep + "}}]"
    response = requester_api.generic(
        "POST", f"/api/projects/{draft.public_id}/items/", body, content_type="application/json"
    )
    error = _refused(response, 400, "import_invalid")
    assert error["details"]["problem"] == "json_too_deep"
    assert not Item.objects.exists()


def test_upload_over_the_file_limit_is_413(requester_api, draft, settings) -> None:
    settings.IMPORT_MAX_FILE_BYTES = 1000
    url = f"/api/projects/{draft.public_id}/items/"
    just_over = SimpleUploadedFile("a.jsonl", b'{"data": {"t": "' + b"x" * 1000 + b'"}}\n')
    error = _refused(
        requester_api.post(url, {"file": just_over}, format="multipart"), 413, "import_too_large"
    )
    assert "1000 bytes" in error["message"]
    far_over = SimpleUploadedFile("a.jsonl", b"x" * 200_000)
    _refused(
        requester_api.post(url, {"file": far_over}, format="multipart"), 413, "request_too_large"
    )
    assert not Item.objects.exists()


def test_an_endpoint_without_files_takes_no_big_multipart(requester_api) -> None:
    upload = SimpleUploadedFile("a.bin", b"x" * (2 * 1024 * 1024))
    response = requester_api.post("/api/projects/", {"file": upload}, format="multipart")
    _refused(response, 413, "request_too_large")


def test_the_json_parser_stops_reading_past_the_limit(settings) -> None:
    """Content-Length is checked first, but the read is capped too: a stream longer than
    its declared length (a server or proxy that does not cut it) is still refused."""
    import io
    from types import SimpleNamespace

    from config.parsers import StrictJSONParser
    from config.validation import RequestTooLargeError

    settings.API_MAX_BODY_BYTES = 100
    stream = io.BytesIO(b'["' + b"x" * 10_000 + b'"]')
    request = SimpleNamespace(META={"CONTENT_LENGTH": "10"})
    with pytest.raises(RequestTooLargeError):
        StrictJSONParser().parse(stream, parser_context={"view": None, "request": request})
    assert stream.tell() == 101  # read no further than the limit and one byte

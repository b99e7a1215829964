"""Hostile input to every form and query parameter of the sign-in, account and requester
pages: NUL bytes, lone surrogates, huge strings, numbers that overflow or are not numbers,
open-redirect `next`s. Every answer is a 4xx or a page with a message (never a 500), and
nothing is half-written."""

from urllib.parse import urlencode

import pytest
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token

from labeling.models import Item, Project
from payouts.models import Deposit, NearAccount
from tests.conftest import rows_shared
from tests.factories import ItemFactory, ProjectFactory, UserFactory

pytestmark = pytest.mark.django_db

BAD_VALUES = [
    "\x00",
    "a\x00b",
    "\ud800",
    "x" * 100_000,
    "1e309",
    "-1e309",
    "NaN",
    "-1",
    "0.0000000000000000000000001",
    "",
    " ",
    "//evil.com",
    "<script>alert(1)</script>",
    "\u202e",
]
BAD_IDS = [
    "nul",
    "nul-inside",
    "lone-surrogate",
    "huge",
    "overflow",
    "neg-overflow",
    "nan",
    "minus-one",
    "below-yocto",
    "empty",
    "blank",
    "redirect",
    "markup",
    "rtl",
]

WIZARD_FIELDS = [
    "task_type",
    "labels",
    "title",
    "instructions",
    "reward_per_answer",
    "answers_per_item",
    "min_answers_per_item",
    "target_confidence",
    "gold_rate",
    "show_gold_feedback",
    "accept_threshold",
    "reject_threshold",
    "min_reputation",
    "reservation_seconds",
]

# url (with {project} for the signed-in requester's project), the fields it reads.
POST_FORMS = [
    ("/signin/", ["username", "password", "next"]),
    ("/signup/", ["email", "password1", "password2", "next"]),
    ("/account/token/", ["action"]),
    ("/dev/faucet/", ["next"]),
    ("/projects/new/", WIZARD_FIELDS),
    ("/projects/preview-instructions/", ["instructions"]),
    ("/projects/{project}/fund/", ["tx_hash", "sender_account_id", "idempotency_key"]),
    ("/projects/{project}/fund/deposits/", []),
    ("/projects/{project}/publish/", ["next"]),
    ("/projects/{project}/items/", ["file"]),
    ("/signout/", ["next"]),
]
GET_PAGES = [
    ("/signin/", ["next"]),
    ("/signup/", ["next"]),
    ("/account/", []),
    ("/projects/", ["page"]),
    ("/projects/new/", []),
    ("/projects/{project}/items/", []),
    ("/projects/{project}/fund/", []),
]
POST_ONLY = [
    "/signout/",
    "/account/token/",
    "/dev/faucet/",
    "/signin/dev/",
    "/projects/preview-instructions/",
    "/projects/{project}/fund/deposits/",
    "/projects/{project}/publish/",
]


def counts() -> dict[str, int]:
    return {
        "users": get_user_model().objects.count(),
        "projects": Project.objects.count(),
        "items": Item.objects.count(),
        "deposits": Deposit.objects.count(),
        "tokens": Token.objects.count(),
        "near_accounts": NearAccount.objects.count(),
    }


def _rows_create() -> dict:
    requester = UserFactory(username="requester")
    project = ProjectFactory(owner=requester, status="draft")
    ItemFactory.create_batch(2, project=project)
    return {"requester": requester, "project": project}


@pytest.fixture(scope="module")
def _rows(django_db_setup, django_db_blocker):
    """The requester and their draft project, made once for the module's 400-odd cases
    (rolled back after it); what each case writes is rolled back after it
    (tests/conftest.py: rows_shared)."""
    with rows_shared(django_db_blocker, _rows_create) as rows:
        yield rows


@pytest.fixture
def requester(db, _rows):
    return _rows()["requester"]


@pytest.fixture
def project(db, requester, _rows):
    project = _rows()["project"]
    project.owner = requester
    return project


@pytest.fixture
def signed_in(client, requester):
    client.force_login(requester)
    return client


def raw_post(client, url: str, data: dict[str, str]):
    """POST `data` urlencoded as a browser (or anyone) may: lone surrogates as the bytes
    they would be (invalid UTF-8), which the test client's encoder refuses to write."""
    body = urlencode(data, encoding="utf-8", errors="surrogatepass")
    return client.post(url, body, content_type="application/x-www-form-urlencoded")


@pytest.mark.parametrize(("url", "fields"), POST_FORMS, ids=[u for u, _ in POST_FORMS])
@pytest.mark.parametrize("value", BAD_VALUES, ids=BAD_IDS)
def test_hostile_post_is_refused_without_writing(signed_in, requester, project, url, fields, value):
    """Every field of a form set to a hostile value: a 4xx or a page (a redirect with a
    message), never a 500, and no row written."""
    url = url.format(project=project.public_id)
    if url.endswith("/items/"):
        # The upload's "file" as a plain field, then as a file of junk.
        response = raw_post(signed_in, url, {"file": value})
        assert response.status_code < 500
    before = counts()
    response = raw_post(signed_in, url, dict.fromkeys(fields, value))
    assert response.status_code < 500
    after = counts()
    if url == "/account/token/":
        # "create" is the only way to a token; a hostile action makes none.
        assert after["tokens"] == before["tokens"]
    assert after == before
    if response.status_code in (301, 302):
        assert not response["Location"].startswith(("//", "http:", "https:", "javascript:"))


# A form of one field (or none) hostile "one field at a time" is the very request of the
# test above, which checks more of its answer: only the forms of several fields.
SEVERAL_FIELDS = [(url, fields) for url, fields in POST_FORMS if len(fields) > 1]


@pytest.mark.parametrize(("url", "fields"), SEVERAL_FIELDS, ids=[u for u, _ in SEVERAL_FIELDS])
@pytest.mark.parametrize("value", BAD_VALUES, ids=BAD_IDS)
def test_hostile_post_one_field_at_a_time(signed_in, project, url, fields, value):
    """One field hostile, the others plausible: never a 500."""
    url = url.format(project=project.public_id)
    plausible = {
        "username": "requester",
        "password": "not-the-password",
        "email": "new@example.com",
        "password1": "a long passphrase 1",
        "password2": "a long passphrase 1",
        "action": "create",
        "task_type": "classification",
        "labels": "pos\nneg",
        "title": "T",
        "reward_per_answer": "0.05",
        "answers_per_item": "3",
        "target_confidence": "0.8",
        "gold_rate": "0.1",
        "accept_threshold": "0.7",
        "reject_threshold": "0.3",
        "min_reputation": "0.5",
        "reservation_seconds": "600",
        "tx_hash": "x",
        "idempotency_key": "k",
    }
    for field in fields:
        data = {name: plausible.get(name, "") for name in fields}
        data[field] = value
        response = raw_post(signed_in, url, data)
        assert response.status_code < 500, (field, response.status_code)


@pytest.mark.parametrize(("url", "params"), GET_PAGES, ids=[u for u, _ in GET_PAGES])
@pytest.mark.parametrize("value", BAD_VALUES, ids=BAD_IDS)
def test_hostile_query_parameters(signed_in, project, url, params, value):
    """Hostile query parameters (and unknown ones) on every page: never a 500."""
    url = url.format(project=project.public_id)
    query = urlencode(
        dict.fromkeys([*params, "zzz"], value), encoding="utf-8", errors="surrogatepass"
    )
    response = signed_in.get(f"{url}?{query}")
    assert response.status_code < 500


@pytest.mark.parametrize("url", POST_ONLY)
def test_get_on_post_only_endpoints_is_405(signed_in, project, url):
    """A GET (a link, an image, a prefetch) changes nothing on the POST-only endpoints."""
    before = counts()
    response = signed_in.get(url.format(project=project.public_id))
    assert response.status_code == 405
    assert counts() == before


@pytest.mark.parametrize(
    "url",
    [
        "/projects/{project}/items/",
        "/projects/{project}/fund/",
        "/projects/{project}/fund/deposits/",
        "/projects/{project}/publish/",
    ],
)
def test_another_users_project_is_404_for_every_method(client, project, url):
    """Someone else's project is as unknown as none, for a read and for a write."""
    client.force_login(UserFactory())
    url = url.format(project=project.public_id)
    before = counts()
    response = client.post(url, {"next": "/", "tx_hash": "x", "idempotency_key": "k"})
    assert response.status_code == 404
    assert counts() == before


HOSTILE_FILES = [
    ("items.jsonl", b'{"external_id": "a", "data": {"text": "a\\u0000b"}}\n'),
    ("items.jsonl", b'{"external_id": "a\\u0000", "data": {"text": "ok"}}\n'),
    ("items.jsonl", b'{"external_id": "a", "data": {"text": "\\ud800"}}\n'),
    ("items.csv", b"external_id,text\na,b\x00c\n"),
    ("items.csv", b"external_id,text\na,\xff\xfe\n"),
    ("items.json", b"[" * 100_000 + b"]" * 100_000),
    ("items.json", b'{"data": 1e309}'),
    ("items.json", b'[{"external_id": "a", "data": {"n": 1e309}}]'),
    ("items.json", b'[{"external_id": "a", "data": {"n": NaN}}]'),
    ("items.jsonl", bytes(range(256)) * 64),
    ("items.exe", b"MZ\x90\x00\x03\x00\x00\x00"),
    ("items", b'{"external_id": "a", "data": {"text": "ok"}}\n'),
    ("items.jsonl", b""),
    ("items.jsonl", b'{"external_id": "a", "data": {"text": "ok"}, "gold": "nope"}\n'),
    ("items.jsonl", b'{"external_id": "a", "data": {"text": "ok"}}\n' * 2),
]


@pytest.mark.parametrize(("name", "content"), HOSTILE_FILES)
@pytest.mark.parametrize("htmx", [False, True])
def test_hostile_uploads_add_nothing(signed_in, project, name, content, htmx):
    """Binary, NUL-bearing, unencodable, nested, non-finite or mislabelled files: a page
    with the refusal and its code, never a 500, and no item added."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    before = counts()
    response = signed_in.post(
        f"/projects/{project.public_id}/items/",
        {"file": SimpleUploadedFile(name, content)},
        **headers,
    )
    assert response.status_code < 500
    assert counts() == before
    page = response.content.decode()
    # A refusal with its code in brackets, or the file field's own error (an empty file).
    assert "[" in page or "The submitted file is empty." in page

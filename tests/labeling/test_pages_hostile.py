"""Every page endpoint of the contributor's and the requester's pages under hostile input:
bad query parameters, bad form fields, wrong content types, missing fields, the wrong
method. Each answers a 4xx or a page with a clear message, never a 500, and nothing is
half-written (no answer, no payout, no decision, no status change)."""

import uuid
from urllib.parse import quote

import pytest
from django.test import Client, override_settings

from labeling.models import Project, Submission
from labeling.services.queue import assignment_claim_next
from payouts.models import Payout
from payouts.money import near_to_yocto
from payouts.selectors import earnings_summary
from tests.conftest import rows_shared
from tests.factories import UserFactory, earnings_give, project_with_items
from tests.labeling.dashboard_data import dashboard_project, in_review

pytestmark = pytest.mark.django_db

# Raw (already percent-encoded) values: a lone surrogate and NUL cannot be encoded by the
# test client's urlencode, so every value travels as the bytes a hostile client sends.
BAD_VALUES = [
    "",
    "abc",
    "-1",
    "0",
    str(10**30),
    "1e309",
    "NaN",
    "-Infinity",
    "%00",
    "a%00b",
    "%ED%A0%80",  # a lone surrogate (U+D800) in UTF-8
    "%FF%FE",  # not UTF-8 at all
    "9" * 5000,
    quote('<script>alert(1)</script>"'),
    quote("١٢"),  # Arabic-Indic digits: int() takes them
]
FORM = "application/x-www-form-urlencoded"


def _form(**fields: str) -> bytes:
    """A form body of raw, already percent-encoded values."""
    return "&".join(f"{key}={value}" for key, value in fields.items()).encode("latin-1")


def _world_create() -> dict:
    with override_settings(AUTO_PAYOUT_NEAR=""):
        return _world_made()


def _world_made() -> dict:
    project = dashboard_project()
    waiting = in_review(project)
    contributor = UserFactory(username="dan")
    earnings_give(contributor, near_to_yocto("3"))
    open_project = project_with_items(items=3)
    assignment = assignment_claim_next(project=open_project, contributor=contributor)
    return {
        "project": project,
        "submission": waiting[0],
        "contributor": contributor,
        "open_project": open_project,
        "assignment": assignment,
    }


@pytest.fixture(scope="module")
def _world_rows(django_db_setup, django_db_blocker):
    """The world's rows, made once for the module (rolled back after it); each test's own
    writes are rolled back after it (tests/conftest.py: rows_shared)."""
    with rows_shared(django_db_blocker, _world_create) as rows:
        yield rows


@pytest.fixture
def world(client: Client, settings, _world_rows):
    """A contributor with earnings and a reservation, and a requester with a project whose
    answers wait in review; the client is signed in as the requester."""
    settings.AUTO_PAYOUT_NEAR = ""
    return _world_rows()


def _snapshot(world) -> tuple:
    """What a refused request must leave as it was."""
    project = Project.objects.get(pk=world["project"].pk)
    return (
        Submission.objects.count(),
        tuple(Submission.objects.order_by("pk").values_list("status", flat=True)),
        Payout.objects.count(),
        project.status,
        earnings_summary(user=world["contributor"]).balance,
    )


@pytest.mark.parametrize("value", BAD_VALUES)
def test_contributor_pages_refuse_bad_input_without_a_500(client: Client, world, value) -> None:
    client.force_login(world["contributor"])
    work = f"/work/{world['open_project'].public_id}/"
    before = _snapshot(world)
    assignment = world["assignment"].public_id
    for path in ("/", "/me/", "/me/payouts/", work):
        response = client.get(f"{path}?page={value}&next={value}")
        assert response.status_code < 500, (path, value)
    posts = [
        ("/me/withdraw/", _form(amount=value, idempotency_key="k")),
        ("/me/withdraw/", _form(amount="1", idempotency_key=value)),
        ("/me/withdraw/", _form(amount=value)),
        (work, _form(assignment=value, action="submit", label="cat")),
        (work, _form(assignment=str(assignment), action=value, label="cat")),
        (work, _form(assignment=str(assignment), action="submit", label=value)),
        # Not a label of the project: refused whatever the time says.
        (work, _form(assignment=str(assignment), action="submit", label="nope",
                     time_on_task_ms=value)),
    ]  # fmt: skip
    for path, body in posts:
        for htmx in ({}, {"HTTP_HX_REQUEST": "true"}):
            response = client.post(path, body, content_type=FORM, **htmx)
            assert response.status_code < 500, (path, body[:80], htmx)
    # Only the "amount" cases can take money: none of these values is an amount.
    assert _snapshot(world) == before


@pytest.mark.parametrize("value", BAD_VALUES)
def test_requester_pages_refuse_bad_input_without_a_500(client: Client, world, value) -> None:
    project, submission = world["project"], world["submission"]
    client.force_login(project.owner)
    base = f"/projects/{project.public_id}"
    before = _snapshot(world)
    for path in (f"{base}/", f"{base}/figures/", f"{base}/review/"):
        for htmx in ({}, {"HTTP_HX_REQUEST": "true"}):
            response = client.get(f"{path}?page={value}&next={value}", **htmx)
            assert response.status_code < 500, (path, value)
    decide = f"{base}/review/{submission.public_id}"
    posts = [
        (f"{base}/status/", _form(action=value)),
        (f"{decide}/reject/", _form(reason=value)),
    ]
    for path, body in posts:
        for htmx in ({}, {"HTTP_HX_REQUEST": "true"}):
            response = client.post(path, body, content_type=FORM, **htmx)
            assert response.status_code < 500, (path, body[:80], htmx)
    submission.refresh_from_db()
    if submission.status == Submission.Status.REJECTED:
        # Some of these values are reasons like any other: the rejection is then whole,
        # with the reason as sent (decoded), and nothing else changed.
        assert submission.decision_reason
        assert "\x00" not in submission.decision_reason
        Submission.objects.filter(pk=submission.pk).update(status=Submission.Status.REVIEW)
    assert Project.objects.get(pk=project.pk).status == before[3]
    assert Payout.objects.count() == before[2]


PAGES_GET = ["/", "/me/", "/me/payouts/", "/work/{open}/", "/projects/{project}/",
             "/projects/{project}/figures/", "/projects/{project}/review/"]  # fmt: skip
# Accepting takes no field: any body accepts, so it is left out of the shapes' test.
ACCEPT = "/projects/{project}/review/{submission}/accept/"
PAGES_POST = ["/me/withdraw/", "/work/{open}/", "/projects/{project}/status/",
              "/projects/{project}/review/{submission}/reject/"]  # fmt: skip


def _url(template: str, world) -> str:
    return template.format(
        open=world["open_project"].public_id,
        project=world["project"].public_id,
        submission=world["submission"].public_id,
    )


@pytest.mark.parametrize("path", PAGES_POST)
@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"", FORM),
        (b'{"amount": "1", "action": "close", "reason": "x"}', "application/json"),
        (b"\x00\xff\xfe garbage", "application/octet-stream"),
        (b"--x\r\nContent-Disposition: form-data; name=a\r\n\r\n", "multipart/form-data"),
        (b"a=" + b"b" * 100_000, FORM),
    ],
    ids=["empty", "json", "binary", "broken-multipart", "huge"],
)
def test_posts_of_the_wrong_shape_change_nothing(
    client: Client, world, path, body, content_type
) -> None:
    """A POST without the form's fields, or not a form at all, is refused (4xx) or shown
    as a message; it decides nothing, pays nothing and changes no status."""
    owner = world["project"].owner if "/projects/" in path else world["contributor"]
    client.force_login(owner)
    before = _snapshot(world)
    for htmx in ({}, {"HTTP_HX_REQUEST": "true"}):
        response = client.post(_url(path, world), body, content_type=content_type, **htmx)
        assert response.status_code < 500
    assert _snapshot(world) == before


@pytest.mark.parametrize("path", [*PAGES_POST, ACCEPT])
def test_post_only_endpoints_refuse_get(client: Client, world, path) -> None:
    client.force_login(world["project"].owner)
    assert client.get(_url(path, world)).status_code in (405, 404) or "/work/" in path


@pytest.mark.parametrize("path", PAGES_GET)
def test_get_pages_refuse_other_methods(client: Client, world, path) -> None:
    client.force_login(world["project"].owner)
    for method in (client.put, client.delete, client.patch):
        assert method(_url(path, world)).status_code == 405


@pytest.mark.parametrize(
    "path",
    [
        "/work/{random}/",
        "/projects/{random}/",
        "/projects/{random}/figures/",
        "/projects/{random}/review/",
        "/projects/{random}/review/{random}/accept/",
    ],
)
def test_unknown_uuids_are_404(client: Client, world, path) -> None:
    client.force_login(world["project"].owner)
    url = path.format(random=uuid.uuid4(), project=world["project"].public_id)
    response = client.post(url) if url.endswith("/accept/") else client.get(url)
    assert response.status_code == 404


def test_an_unknown_answer_in_ones_own_project_is_refused_with_its_code(client, world):
    """htmx gets the error fragment with the API's 404; a plain form a message."""
    client.force_login(world["project"].owner)
    url = f"/projects/{world['project'].public_id}/review/{uuid.uuid4()}/accept/"
    htmx = client.post(url, HTTP_HX_REQUEST="true")
    assert htmx.status_code == 404
    assert "[submission_not_found]" in htmx.content.decode()
    page = client.post(url, follow=True).content.decode()
    assert "[submission_not_found]" in page


@pytest.mark.parametrize("path", [*PAGES_POST, ACCEPT])
def test_every_post_needs_the_csrf_token(world, path) -> None:
    """A form posted from another site (the session cookie, no token) is refused by
    Django's CSRF check before the view runs: nothing is decided, paid or answered."""
    client = Client(enforce_csrf_checks=True)
    owner = world["project"].owner if "/projects/" in path else world["contributor"]
    client.force_login(owner)
    before = _snapshot(world)
    data = {
        "amount": "1", "idempotency_key": "k", "action": "close", "reason": "r",
        "assignment": str(world["assignment"].public_id), "label": "cat",
    }  # fmt: skip
    for htmx in ({}, {"HTTP_HX_REQUEST": "true"}):
        assert client.post(_url(path, world), data, **htmx).status_code == 403
    assert _snapshot(world) == before

"""The upload page: items from a file, all or nothing, every bad line named with its
reason, the count shown; the owner's alone."""

import html

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from labeling.models import Item
from tests.factories import ProjectFactory, UserFactory

pytestmark = pytest.mark.django_db

GOOD_JSONL = (
    b'{"external_id": "r1", "data": {"text": "Arrived quickly."}}\n'
    b'{"external_id": "r2", "data": {"text": "Broke after two days."}}\n'
    b'{"external_id": "g1", "data": {"text": "Known."}, "gold": {"label": "cat"}}\n'
)
BAD_JSONL = (
    b'{"external_id": "r1", "data": {"text": "fine"}}\n'
    b'{"external_id": "r2", "data": "not an object"}\n'
    b'{"external_id": "r3", "data": {"text": "fine"}}\n'
    b"{broken json\n"
)


@pytest.fixture
def project(requester):
    return ProjectFactory(owner=requester, status="draft", title="Pets <b>bold</b>")


@pytest.fixture
def signed_in(client, requester):
    client.force_login(requester)
    return client


def url(project) -> str:
    return f"/projects/{project.public_id}/items/"


def upload(client, project, name: str, content: bytes, **headers):
    return client.post(url(project), {"file": SimpleUploadedFile(name, content)}, **headers)


def test_anonymous_is_sent_to_sign_in(client, project) -> None:
    response = client.get(url(project))
    assert response.status_code == 302
    assert response["Location"] == f"/signin/?next={url(project)}"


def test_someone_elses_project_is_404(client, project) -> None:
    client.force_login(UserFactory())
    assert client.get(url(project)).status_code == 404
    assert upload(client, project, "a.jsonl", GOOD_JSONL).status_code == 404
    assert not Item.objects.exists()


def test_the_page_shows_the_count_and_the_formats_with_the_projects_labels(
    signed_in, project
) -> None:
    page = signed_in.get(url(project)).content.decode()
    assert 'id="item-count">0<' in page
    assert "Pets &lt;b&gt;bold&lt;/b&gt;" in page
    assert html.escape('"gold": {"label": "cat"}', quote=True) in page  # JSONL sample
    assert "external_id,text,gold" in page  # CSV sample with a gold column
    assert "g1,A known case.,cat" in page
    assert 'enctype="multipart/form-data"' in page
    assert 'hx-encoding="multipart/form-data"' in page
    assert "<progress" in page
    assert "/static/js/upload.js" in page


def test_a_good_file_adds_its_items_and_the_page_says_how_many(signed_in, project) -> None:
    response = upload(signed_in, project, "items.jsonl", GOOD_JSONL)
    assert response.status_code == 302
    assert response["Location"] == url(project)
    assert Item.objects.filter(project=project).count() == 3
    assert Item.objects.get(external_id="g1").gold_answer == {"label": "cat"}
    page = signed_in.get(url(project)).content.decode()
    assert "3 items added." in page
    assert 'id="item-count">2<' in page  # regular items
    assert 'id="gold-count">1<' in page


def test_uploads_add_up(signed_in, project) -> None:
    upload(signed_in, project, "a.jsonl", b'{"data": {"t": 1}}\n')
    upload(signed_in, project, "b.csv", b"text,gold\nsecond,\nthird,dog\n")
    assert Item.objects.filter(project=project).count() == 3
    assert Item.objects.get(data={"text": "third"}).gold_answer == {"label": "dog"}


def test_an_htmx_upload_answers_the_fragment_with_the_new_counts(signed_in, project) -> None:
    response = upload(signed_in, project, "items.jsonl", GOOD_JSONL, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    fragment = response.content.decode()
    assert "<html" not in fragment
    assert "3 items added." in fragment
    assert '<span id="item-count" hx-swap-oob="true">2</span>' in fragment
    assert '<span id="gold-count" hx-swap-oob="true">1</span>' in fragment


@pytest.mark.parametrize("htmx", [False, True])
def test_a_bad_file_names_every_bad_line_and_adds_nothing(signed_in, project, htmx) -> None:
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    response = upload(signed_in, project, "items.jsonl", BAD_JSONL, **headers)
    assert response.status_code == 200  # shown in place, the page (or fragment) intact
    page = html.unescape(response.content.decode())
    assert "Nothing was added." in page
    assert "[import_invalid]" in page
    assert '<td class="num">2</td><td>data must be a non-empty JSON object</td>' in page
    assert '<td class="num">4</td>' in page
    assert '<td class="num">1</td>' not in page
    assert '<td class="num">3</td>' not in page
    assert not Item.objects.exists()
    if htmx:
        assert '<span id="item-count" hx-swap-oob="true">0</span>' in page


def test_a_file_of_an_unknown_kind_is_refused_with_its_code(signed_in, project) -> None:
    response = upload(signed_in, project, "items.xlsx", b"whatever")
    page = response.content.decode()
    assert "[import_format_unknown]" in page
    assert not Item.objects.exists()


def test_no_file_is_a_field_error(signed_in, project) -> None:
    response = signed_in.post(url(project), {})
    assert response.status_code == 200
    page = response.content.decode()
    assert '<ul class="errorlist" id="id_file_error"><li>This field is required.</li>' in page
    assert page.count("This field is required.") == 1


def test_a_file_over_the_limit_is_refused(signed_in, project, settings) -> None:
    settings.IMPORT_MAX_FILE_BYTES = 10
    response = upload(signed_in, project, "items.jsonl", GOOD_JSONL)
    assert "[import_too_large]" in response.content.decode()
    assert not Item.objects.exists()


def test_a_completed_project_takes_no_more_items(signed_in, requester) -> None:
    done = ProjectFactory(owner=requester, status="completed")
    response = upload(signed_in, done, "items.jsonl", GOOD_JSONL)
    assert "[project_state_invalid]" in response.content.decode()
    assert not Item.objects.exists()

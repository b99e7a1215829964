"""The exports on the project page: loaded with htmx, a button per format that starts
a background export, the list polling while one runs, then a download link."""

from __future__ import annotations

import pytest

from labeling.models import Item
from marketplace.models import ExportJob
from marketplace.services.exports.jobs import export_job_run
from tests.factories import UserFactory
from tests.marketplace.export_helpers import answer, contributor, funded_project

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture(autouse=True)
def _store(settings, tmp_path):
    settings.DATASET_STORAGE_DIR = str(tmp_path / "store")
    settings.AUTO_PAYOUT_NEAR = ""


@pytest.fixture
def project():
    project = funded_project(items=3, owner=UserFactory(username="owner"))
    alice = contributor("alice")
    for item in Item.objects.filter(project=project):
        answer(item, alice)
    return project


def _url(project) -> str:
    return f"/projects/{project.public_id}/exports/"


def test_the_project_page_loads_the_exports_with_htmx(client, project) -> None:
    client.force_login(project.owner)
    page = client.get(f"/projects/{project.public_id}/").content.decode()
    assert f'hx-get="{_url(project)}" hx-trigger="load"' in page
    assert f'href="{_url(project)}"' in page  # without JavaScript: the exports page
    fragment = client.get(_url(project), **HTMX)
    assert fragment.status_code == 200
    html = fragment.content.decode()
    assert "<html" not in html
    for fmt in ("jsonl", "csv", "parquet"):
        assert f'name="format" value="{fmt}"' in html
    assert 'data-polling="false"' in html
    assert 'hx-trigger="every' not in html


def test_a_button_starts_an_export_that_polls_until_its_link(client, project) -> None:
    client.force_login(project.owner)
    response = client.post(_url(project), {"format": "csv"}, **HTMX)
    assert response.status_code == 200
    job = ExportJob.objects.get()
    assert (job.format, job.requested_by) == ("csv", project.owner)
    html = response.content.decode()
    assert 'data-polling="true"' in html
    assert 'hx-trigger="every 2s"' in html
    assert 'data-export-status="queued"' in html
    export_job_run(job.pk)
    html = client.get(_url(project), **HTMX).content.decode()
    assert 'data-polling="false"' in html
    link = f"/api/projects/{project.public_id}/exports/{job.public_id}/download"
    assert f'href="{link}"' in html
    download = client.get(link)  # the page's session is enough
    assert download.status_code == 200
    assert b"".join(download.streaming_content).startswith(b"item_id,")


def test_without_javascript_the_form_posts_and_comes_back(client, project) -> None:
    client.force_login(project.owner)
    response = client.post(_url(project), {"format": "parquet"})
    assert response.status_code == 302
    assert response["Location"] == _url(project)
    page = client.get(_url(project)).content.decode()
    assert "<html" in page
    assert 'data-export-status="queued"' in page


def test_a_refusal_is_shown_with_its_code_and_starts_nothing(client, project) -> None:
    client.force_login(project.owner)
    for bad in ("xml", "json\x00l", "x" * 10_000):
        html = client.post(_url(project), {"format": bad}, **HTMX).content.decode()
        assert "[export_format_unknown]" in html
    assert not ExportJob.objects.exists()


def test_another_users_project_is_a_404(client, project) -> None:
    client.force_login(UserFactory(username="stranger"))
    assert client.get(_url(project), **HTMX).status_code == 404
    assert client.post(_url(project), {"format": "csv"}, **HTMX).status_code == 404
    assert not ExportJob.objects.exists()
    client.logout()
    assert client.get(_url(project)).status_code == 302  # to sign in

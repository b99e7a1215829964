"""Background exports: the job's life, its failure leaving no file, the API and who may
use it, and hostile requests answered with a 4xx and a code."""

from __future__ import annotations

import hashlib
import io
import json
import os
from datetime import timedelta

import pyarrow.parquet as pq
import pytest
from django.utils import timezone

from labeling.models import Item
from marketplace.models import ExportJob
from marketplace.services.exports import jobs, records
from marketplace.services.exports.jobs import (
    export_job_run,
    export_job_start,
    export_jobs_sweep,
)
from marketplace.storage import store_path
from tests.conftest import api_client_for
from tests.factories import UserFactory
from tests.marketplace.export_helpers import answer, contributor, funded_project

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _store(settings, tmp_path):
    settings.DATASET_STORAGE_DIR = str(tmp_path / "store")
    settings.AUTO_PAYOUT_NEAR = ""


@pytest.fixture
def project():
    project = funded_project(items=5, owner=UserFactory(username="owner"))
    alice = contributor("alice")
    for item in Item.objects.filter(project=project):
        answer(item, alice)
    return project


def _stored_files(settings) -> list[str]:
    directory = settings.DATASET_STORAGE_DIR
    return sorted(os.listdir(directory)) if os.path.isdir(directory) else []


def _url(project, suffix: str = "") -> str:
    return f"/api/projects/{project.public_id}/exports{suffix}"


def test_a_job_runs_to_done_with_its_file(project, settings, monkeypatch) -> None:
    monkeypatch.setattr(records, "CHUNK", 2)
    seen = []
    update = ExportJob.objects.filter

    def spy(*args, **kwargs):  # the progress UPDATE, once per chunk
        seen.append(kwargs)
        return update(*args, **kwargs)

    job = export_job_start(project=project, user=project.owner, format="csv")
    assert job.status == ExportJob.Status.QUEUED
    monkeypatch.setattr(ExportJob.objects, "filter", spy)
    job = export_job_run(job.pk)
    monkeypatch.undo()
    assert job.status == ExportJob.Status.DONE
    assert (job.items_done, job.items_total) == (5, 5)
    body = store_path(job.file_name).read_bytes()
    assert job.file_bytes == len(body)
    assert job.file_sha256 == hashlib.sha256(body).hexdigest()
    assert job.file_name == f"{job.file_sha256}.csv"
    document = json.loads(job.manifest)  # the signed manifest pins the file
    (pinned,) = document["manifest"]["files"]
    assert (pinned["sha256"], pinned["size"], pinned["items"]) == (job.file_sha256, len(body), 5)
    assert pinned["name"] == f"nearlabel-export-{job.public_id}.csv"
    assert document["signature"]["account_id"] == settings.NEAR_ACCOUNT_ID
    assert job.started_at
    assert job.finished_at
    assert len(seen) >= 3  # progress written per chunk (3 chunks), not per item
    # Run again: a done job is not redone.
    again = export_job_run(job.pk)
    assert again.finished_at == job.finished_at


def test_a_failing_export_fails_the_job_and_leaves_no_file(project, settings, monkeypatch) -> None:
    monkeypatch.setattr(records, "CHUNK", 2)
    fetched = records._fetched

    def breaks(**kwargs):
        for n, value in enumerate(fetched(**kwargs)):
            if n == 2:
                raise ConnectionError("the database went away")
            yield value

    monkeypatch.setattr(records, "_fetched", breaks)
    job = export_job_start(project=project, user=project.owner, format="jsonl")
    job = export_job_run(job.pk)
    assert job.status == ExportJob.Status.FAILED
    assert job.error_code == "export_failed"
    assert job.error_message
    assert job.file_name == ""
    assert job.file_bytes is None
    assert _stored_files(settings) == []  # not even a temporary file
    assert export_job_run(job.pk).status == ExportJob.Status.FAILED  # not rerun


def test_a_running_job_is_left_alone_until_its_worker_must_be_dead(project) -> None:
    job = export_job_start(project=project, user=project.owner, format="jsonl")
    ExportJob.objects.filter(pk=job.pk).update(
        status=ExportJob.Status.RUNNING, started_at=timezone.now()
    )
    assert export_job_run(job.pk).status == ExportJob.Status.RUNNING  # another worker's
    assert export_jobs_sweep() == 0
    ExportJob.objects.filter(pk=job.pk).update(
        started_at=timezone.now() - timedelta(seconds=jobs.EXPORT_JOB_STALE_SECONDS + 1)
    )
    sent = []
    import marketplace.tasks

    real = marketplace.tasks.export_job_run_task
    real_apply = real.apply_async
    try:
        real.apply_async = lambda args, **kw: sent.append(args)  # type: ignore[method-assign]
        assert export_jobs_sweep() == 1
    finally:
        real.apply_async = real_apply  # type: ignore[method-assign]
    assert export_job_run(job.pk).status == ExportJob.Status.DONE


def test_a_lost_queued_job_is_swept(project) -> None:
    job = export_job_start(project=project, user=project.owner, format="jsonl")
    ExportJob.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(minutes=5))
    assert export_jobs_sweep() == 1


def test_the_same_export_under_way_is_not_started_twice(project) -> None:
    first = export_job_start(project=project, user=project.owner, format="jsonl")
    assert export_job_start(project=project, user=project.owner, format="jsonl").pk == first.pk
    assert export_job_start(project=project, user=project.owner, format="csv").pk != first.pk


def test_too_many_exports_at_once_are_refused(project, monkeypatch) -> None:
    monkeypatch.setattr(jobs, "MAX_ACTIVE_JOBS_PER_USER", 2)
    export_job_start(project=project, user=project.owner, format="jsonl")
    export_job_start(project=project, user=project.owner, format="csv")
    response = api_client_for(project.owner).post(
        _url(project), {"format": "parquet"}, format="json"
    )
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "export_jobs_limit"


def test_the_api_starts_polls_and_downloads(project, django_capture_on_commit_callbacks) -> None:
    client = api_client_for(project.owner)
    with django_capture_on_commit_callbacks(execute=True):  # the eager task runs
        response = client.post(_url(project), {"format": "parquet"}, format="json")
    assert response.status_code == 202
    job_id = response.json()["id"]
    state = client.get(_url(project, f"/{job_id}")).json()
    assert state["status"] == "done"
    assert state["progress"] == 100
    assert state["items_done"] == state["items_total"] == 5
    assert state["error"] is None
    assert state["download_url"] == _url(project, f"/{job_id}/download")
    download = client.get(state["download_url"])
    assert download.status_code == 200
    body = b"".join(download.streaming_content)
    assert int(download["Content-Length"]) == len(body) == state["file_bytes"]
    assert download["X-Content-SHA256"] == hashlib.sha256(body).hexdigest()
    assert download["Content-Type"] == "application/vnd.apache.parquet"
    assert download["Content-Disposition"] == (
        f'attachment; filename="nearlabel-export-{job_id}.parquet"'
    )
    assert pq.read_table(io.BytesIO(body)).num_rows == 5
    listed = client.get(_url(project)).json()
    assert [j["id"] for j in listed] == [job_id]


def test_download_before_done_is_a_409_with_a_code(project) -> None:
    client = api_client_for(project.owner)
    job = export_job_start(project=project, user=project.owner, format="jsonl")
    response = client.get(_url(project, f"/{job.public_id}/download"))
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "export_not_ready"
    state = client.get(_url(project, f"/{job.public_id}")).json()
    assert (state["status"], state["progress"], state["download_url"]) == ("queued", 0, None)
    ExportJob.objects.filter(pk=job.pk).update(
        status=ExportJob.Status.FAILED, error_code="export_failed", error_message="Broke."
    )
    response = client.get(_url(project, f"/{job.public_id}/download"))
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "export_failed"
    state = client.get(_url(project, f"/{job.public_id}")).json()
    assert state["error"] == {"code": "export_failed", "message": "Broke."}


def test_a_done_job_whose_file_is_gone_answers_410(project, settings) -> None:
    job = export_job_run(export_job_start(project=project, user=project.owner, format="jsonl").pk)
    store_path(job.file_name).unlink()
    response = api_client_for(project.owner).get(_url(project, f"/{job.public_id}/download"))
    assert response.status_code == 410
    assert response.json()["error"]["code"] == "export_file_gone"


def test_nobody_but_the_owner_gets_a_byte(project) -> None:
    job = export_job_run(export_job_start(project=project, user=project.owner, format="jsonl").pk)
    stranger = api_client_for(UserFactory(username="stranger"))
    for response in (
        stranger.post(_url(project), {"format": "jsonl"}, format="json"),
        stranger.get(_url(project)),
        stranger.get(_url(project, f"/{job.public_id}")),
        stranger.get(_url(project, f"/{job.public_id}/download")),
        stranger.get(f"/api/projects/{project.public_id}/export?format=csv"),
    ):
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "project_not_found"
    from rest_framework.test import APIClient

    anonymous = APIClient().get(_url(project, f"/{job.public_id}/download"))
    assert anonymous.status_code in (401, 403)
    assert anonymous.json()["error"]["code"]
    # The service refuses a non-owner too, whatever calls it.
    from marketplace.errors import ExportForbiddenError

    with pytest.raises(ExportForbiddenError):
        export_job_start(project=project, user=UserFactory(username="other"), format="csv")


def test_another_projects_job_is_not_found(project) -> None:
    other = funded_project(items=1, owner=project.owner)
    job = export_job_start(project=other, user=project.owner, format="jsonl")
    response = api_client_for(project.owner).get(_url(project, f"/{job.public_id}"))
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "export_not_found"


def test_a_project_without_items_has_nothing_to_export() -> None:
    owner = UserFactory(username="empty-owner")
    empty = funded_project(items=0, owner=owner)
    response = api_client_for(owner).post(_url(empty), {"format": "jsonl"}, format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "export_empty"
    assert not ExportJob.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        {"format": "xml"},
        {"format": "json\u0000l"},
        {"format": "jsonl" * 1000},
        {"format": 7},
        {"format": ["jsonl"]},
        {"format": {"a": {"b": ["c"]}}},
        {},
        {"format": "jsonl", "extra": 1},
        {"format": "\ud800"},
    ],
)
def test_hostile_bodies_are_refused_with_a_code(project, body) -> None:
    client = api_client_for(project.owner)
    client.raise_request_exception = False
    raw = json.dumps(body)  # lone surrogates escaped, as a hostile client would send them
    response = client.post(_url(project), raw, content_type="application/json")
    assert 400 <= response.status_code < 500, response.content
    assert response.json()["error"]["code"]
    assert not ExportJob.objects.exists()


def test_hostile_paths_and_queries_are_refused_with_a_code(project) -> None:
    client = api_client_for(project.owner)
    client.raise_request_exception = False
    for url in (
        _url(project, "/00000000-0000-0000-0000-000000000000"),
        _url(project, "/00000000-0000-0000-0000-000000000000/download"),
        "/api/projects/00000000-0000-0000-0000-000000000000/exports",
        f"/api/projects/{project.public_id}/export?format=xml",
        f"/api/projects/{project.public_id}/export?format=js%00onl",
        f"/api/projects/{project.public_id}/export?format=" + "x" * 5000,
    ):
        response = client.get(url)
        assert 400 <= response.status_code < 500, url
        if response["Content-Type"] == "application/json":
            assert response.json()["error"]["code"]
    response = client.get(_url(project, "/not-a-uuid"))
    assert response.status_code == 404
    response = client.post(_url(project), b"\x00\xff{", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"]


@pytest.mark.parametrize("fmt", ["csv", "parquet", "jsonl"])
def test_the_synchronous_export_serves_every_format(project, fmt) -> None:
    response = api_client_for(project.owner).get(
        f"/api/projects/{project.public_id}/export?format={fmt}"
    )
    assert response.status_code == 200
    body = b"".join(response.streaming_content)
    assert (
        response["Content-Type"]
        == {
            "csv": "text/csv; charset=utf-8",
            "parquet": "application/vnd.apache.parquet",
            "jsonl": "application/x-ndjson",
        }[fmt]
    )
    assert response["X-Content-SHA256"] == hashlib.sha256(body).hexdigest()
    response = api_client_for(project.owner).get(
        f"/api/projects/{project.public_id}/export?format=xml"
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "export_format_unknown"


def test_a_done_export_verifies_against_the_chain_and_a_stranger_gets_neither(
    project, chain
) -> None:
    """The file and its manifest, downloaded by the owner, pass dataset verification
    against the local chain's access keys; another requester gets 404 for both."""
    import io

    from marketplace.services.manifests import manifest_verify
    from tests.conftest import api_client_for
    from tests.factories import UserFactory

    api = api_client_for(project.owner)
    started = api.post(
        f"/api/projects/{project.public_id}/exports", {"format": "jsonl"}, format="json"
    )
    assert started.status_code == 202, started.content
    job_id = started.json()["id"]
    base = f"/api/projects/{project.public_id}/exports/{job_id}"
    export_job_run(ExportJob.objects.get(public_id=job_id).pk)
    body = b"".join(api.get(f"{base}/download").streaming_content)
    manifest = api.get(f"{base}/manifest")
    assert manifest.status_code == 200
    report = manifest_verify(
        document=manifest.content,
        files={"export.jsonl": io.BytesIO(body)},
        expected_account_id=chain.platform_key.account_id,
        client=chain.client,
    )
    assert report.ok, report
    stranger = api_client_for(UserFactory())
    for path in (f"{base}/download", f"{base}/manifest"):
        answer = stranger.get(path)
        assert answer.status_code == 404
        assert answer.json()["error"]["code"] == "project_not_found"

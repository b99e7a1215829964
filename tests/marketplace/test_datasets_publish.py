"""Publishing a completed project as a dataset version: terms, datasheet, royalty
shares, the background build (files, signed manifest), and its refusals."""

import json
from unittest import mock

import pytest

from labeling.models import Project, Submission
from labeling.services.projects import project_close
from marketplace.models import Dataset, DatasetFile, DatasetVersion, RoyaltyShare
from marketplace.services.datasets import (
    dataset_publish,
    dataset_version_build,
    dataset_versions_build_stale,
)
from marketplace.storage import file_sha256, store_open
from payouts.money import near_to_yocto
from tests.conftest import api_client_for
from tests.factories import UserFactory, project_with_items
from tests.labeling.dashboard_data import dashboard_project

pytestmark = pytest.mark.django_db

TERMS = {
    "title": "Pets, labelled",
    "licence": "CC-BY-4.0",
    "price": near_to_yocto("2"),
    "royalty_bps": 2000,
    "summary": "Five short texts about pets.",
    "motivation": "To train a pet classifier.",
}


@pytest.fixture(autouse=True)
def _store(settings, tmp_path):
    settings.DATASET_STORAGE_DIR = str(tmp_path / "store")


@pytest.fixture
def completed():
    # Lone dissenters (score 0.17) are rejected rather than left to review: every answer
    # is decided, so closing completes the project.
    project = dashboard_project(reject_threshold=0.2)
    project_close(project=project)
    project.refresh_from_db()
    assert project.status == Project.Status.COMPLETED
    return project


def test_a_version_fixes_terms_shares_and_figures_and_builds_signed_files(completed, chain):
    with mock.patch("config.enqueue._send"):  # the build runs below, by hand
        version = dataset_publish(user=completed.owner, project=completed, **TERMS)
    assert version.status == DatasetVersion.Status.BUILDING
    assert version.number == 1
    assert version.fee_bps == 1000
    assert version.royalty_bps == 2000
    assert version.price == near_to_yocto("2")
    assert version.total_price == near_to_yocto("2.2")
    # Royalty shares: each contributor's accepted answers in the project.
    accepted = Submission.objects.filter(
        assignment__project=completed, status=Submission.Status.ACCEPTED
    )
    shares = {s.contributor.username: s.accepted_answers for s in version.royalty_shares.all()}
    assert sum(shares.values()) == accepted.count() > 0
    for username, n in shares.items():
        assert n == accepted.filter(assignment__contributor__username=username).count()
    stats = version.statistics
    assert stats["items"] == 5
    assert stats["answers"] == 15
    assert stats["answers_accepted"] == accepted.count()
    assert stats["contributors"] == 3
    assert {row["label"] for row in stats["label_distribution"]} == {"cat", "dog", "bird"}
    assert sum(row["items"] for row in stats["label_distribution"]) == stats["labelled_items"]
    assert stats["agreement"]["overall"] is not None
    assert isinstance(stats["agreement"]["overall"], str)  # never a float
    assert len(version.samples) == 5
    assert all("contributor" not in json.dumps(sample) for sample in version.samples)

    version = dataset_version_build(version_id=version.pk)
    assert version.status == DatasetVersion.Status.READY, version.error_message
    files = {f.format: f for f in version.files.all()}
    assert set(files) == {"jsonl", "csv", "parquet"}
    for file in files.values():
        with store_open(file.file_name) as stored:
            assert file_sha256(stored) == (file.sha256, file.size)
    document = json.loads(version.manifest)
    assert document["signature"]["manifest_sha256"] == version.manifest_sha256
    pinned = {entry["format"]: entry for entry in document["manifest"]["files"]}
    for fmt, file in files.items():
        assert pinned[fmt]["sha256"] == file.sha256
        assert pinned[fmt]["size"] == file.size
        assert pinned[fmt]["items"] == 5
    assert document["manifest"]["dataset"]["version"] == 1
    # A second run of the build changes nothing.
    again = dataset_version_build(version_id=version.pk)
    assert again.manifest == version.manifest
    assert DatasetFile.objects.filter(version=version).count() == 3


def test_a_new_version_is_a_new_snapshot(completed, chain):
    first = dataset_publish(user=completed.owner, project=completed, **TERMS)
    second = dataset_publish(
        user=completed.owner, project=completed, **{**TERMS, "price": near_to_yocto("3")}
    )
    assert (first.number, second.number) == (1, 2)
    assert Dataset.objects.filter(project=completed).count() == 1
    first.refresh_from_db()
    assert first.price == near_to_yocto("2")  # the first version's terms did not move


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"title": "  "}, "dataset_publish_invalid"),
        ({"title": "x" * 201}, "dataset_publish_invalid"),
        ({"title": "a\x00b"}, "dataset_publish_invalid"),
        ({"motivation": "\ud800"}, "dataset_publish_invalid"),
        ({"licence": "WTFPL"}, "dataset_licence_unknown"),
        ({"price": 0}, "dataset_publish_invalid"),
        ({"price": 10**40}, "dataset_publish_invalid"),
        ({"royalty_bps": 5001}, "dataset_publish_invalid"),
        ({"royalty_bps": -1}, "dataset_publish_invalid"),
        ({"royalty_bps": True}, "dataset_publish_invalid"),
    ],
)
def test_bad_terms_are_refused_and_nothing_is_written(completed, change, code):
    from config.errors import ApplicationError

    with pytest.raises(ApplicationError) as caught:
        dataset_publish(user=completed.owner, project=completed, **{**TERMS, **change})
    assert caught.value.code == code
    assert not Dataset.objects.exists()
    assert not RoyaltyShare.objects.exists()


def test_only_the_owner_publishes_and_only_a_completed_project(completed):
    from config.errors import ApplicationError

    active = project_with_items(items=2)
    with pytest.raises(ApplicationError) as caught:
        dataset_publish(user=active.owner, project=active, **TERMS)
    assert caught.value.code == "project_state_invalid"
    project = completed
    with pytest.raises(ApplicationError) as caught:
        dataset_publish(user=UserFactory(), project=project, **TERMS)
    assert caught.value.code == "project_not_found"
    assert not DatasetVersion.objects.exists()


def test_a_failed_build_leaves_no_file_row_and_is_not_on_sale(completed):
    with mock.patch("config.enqueue._send"):
        version = dataset_publish(user=completed.owner, project=completed, **TERMS)
    with mock.patch("marketplace.services.datasets.export_write", side_effect=OSError("disk full")):
        version = dataset_version_build(version_id=version.pk)
    assert version.status == DatasetVersion.Status.FAILED
    assert version.error_code == "dataset_build_failed"
    assert not DatasetFile.objects.exists()


def test_the_sweep_builds_a_version_whose_task_was_lost(completed, chain):
    with mock.patch("config.enqueue._send"):
        version = dataset_publish(user=completed.owner, project=completed, **TERMS)
    assert dataset_versions_build_stale() == 0  # too young: its task may still run
    DatasetVersion.objects.filter(pk=version.pk).update(
        created_at=version.created_at.replace(year=2020)
    )
    assert dataset_versions_build_stale() == 1
    version.refresh_from_db()
    assert version.status == DatasetVersion.Status.READY


def test_the_api_publishes_and_refuses_with_codes(completed, chain):
    api = api_client_for(completed.owner)
    url = f"/api/projects/{completed.public_id}/datasets"
    body = {**TERMS, "price": "2"}
    answer = api.post(url, body, format="json")
    assert answer.status_code == 202, answer.content
    assert answer.json()["number"] == 1
    assert answer.json()["price"] == "2"
    for bad, code in (
        ({**body, "price": 2}, "invalid"),
        ({**body, "royalty_bps": "1e309"}, "invalid"),
        ({**body, "title": "a\x00"}, None),
        ({**body, "licence": "nope"}, "dataset_licence_unknown"),
    ):
        refused = api.post(url, bad, format="json")
        assert 400 <= refused.status_code < 500, refused.content
        if code:
            assert refused.json()["error"]["code"] == code
    stranger = api_client_for(UserFactory())
    assert stranger.post(url, body, format="json").status_code == 404
    assert DatasetVersion.objects.count() == 1


def test_the_owner_page_counts_each_versions_buyers_in_one_query():
    """The versions table: buyers per version (completed purchases only), at a cost that
    does not grow with the versions."""
    from django.test import Client

    from marketplace.models import Purchase
    from tests.factories import dataset_version_ready

    first = dataset_version_ready()
    project = first.dataset.project
    owner = project.owner
    for buyer_name, status in (("b1", "completed"), ("b2", "completed"), ("b3", "failed")):
        Purchase.objects.create(
            version=first,
            buyer=UserFactory(username=buyer_name),
            method="balance",
            status=status,
            price=first.price,
            fee=first.fee,
            royalty=first.royalty,
            journal=_journal(buyer_name) if status == "completed" else None,
        )
    client = Client()
    client.force_login(owner)
    url = f"/projects/{project.public_id}/dataset/versions/"
    one_version = _queries(client, url)
    dataset_version_ready(project=project)
    dataset_version_ready(project=project)
    assert _queries(client, url) == one_version
    body = client.get(url).content.decode()
    assert body.count('data-status="ready"') == 3
    row = body[body.index('data-version="1"') :].split("</tr>")[0]
    assert row.rstrip().endswith('<td class="num">2</td>')


def _journal(key: str):
    from payouts.models import Journal

    return Journal.objects.create(kind=Journal.Kind.DATASET_SALE, idempotency_key=f"t:{key}")


def _queries(client, url) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)

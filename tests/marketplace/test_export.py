"""An export is answered only once complete: a failure half-way is an error, never a 200
with a truncated body."""

import json

import pytest
from rest_framework.test import APIClient

from labeling.models import Item
from marketplace.services.exports import records
from tests.conftest import api_client_for
from tests.factories import ItemFactory, ProjectFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def project():
    project = ProjectFactory(owner=UserFactory(username="exporter"))
    ItemFactory.create_batch(7, project=project)
    return project


def _client(project) -> APIClient:
    client = api_client_for(project.owner)
    client.raise_request_exception = False
    return client


def test_export_answers_with_its_length(project, monkeypatch) -> None:
    monkeypatch.setattr(records, "CHUNK", 2)  # several chunks
    response = _client(project).get(f"/api/projects/{project.public_id}/export")
    assert response.status_code == 200
    body = b"".join(response.streaming_content)
    assert int(response["Content-Length"]) == len(body)
    assert response["Content-Disposition"] == f'attachment; filename="{project.public_id}.jsonl"'
    lines = [json.loads(line) for line in body.decode().split("\n") if line]
    assert len(lines) == Item.objects.count() == 7


def test_an_export_failing_half_way_is_not_a_200(project, monkeypatch) -> None:
    monkeypatch.setattr(records, "CHUNK", 2)
    fetched = records._fetched
    chunks = []

    def fails_on_the_third_chunk(**kwargs):
        for value in fetched(**kwargs):
            chunks.append(value)
            if len(chunks) == 3:
                raise ConnectionError("the database went away")
            yield value

    monkeypatch.setattr(records, "_fetched", fails_on_the_third_chunk)
    response = _client(project).get(f"/api/projects/{project.public_id}/export")
    assert len(chunks) == 3  # it failed after writing four records
    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == "internal_error"


def test_an_item_that_cannot_be_encoded_fails_the_export(project) -> None:
    """A row stored before imports were validated (SQLite takes a lone surrogate)."""
    from django.db import connection

    if connection.vendor == "postgresql":
        pytest.skip("PostgreSQL refuses to store the row in the first place")
    Item.objects.filter(pk=Item.objects.order_by("pk")[3].pk).update(data={"t": "\ud800"})
    response = _client(project).get(f"/api/projects/{project.public_id}/export")
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal_error"

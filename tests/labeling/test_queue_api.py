"""The queue over HTTP: status codes and stable error codes of every refusal."""

from datetime import timedelta

import pytest
from django.utils import timezone

from labeling.models import Assignment, Submission
from tests.conftest import api_client_for
from tests.factories import UserFactory, project_with_items

pytestmark = pytest.mark.django_db


@pytest.fixture
def project():
    return project_with_items(items=2, answers_per_item=1)


def _next(api, project):
    return api.get(f"/api/projects/{project.public_id}/next")


def test_next_submit_and_none_left(project) -> None:
    api = api_client_for(UserFactory())
    first = _next(api, project)
    assert first.status_code == 200
    body = first.json()
    assert set(body["item"]) == {"id", "data"}  # no answers, no final label
    submit = api.post(
        f"/api/assignments/{body['id']}/submit", {"answer": {"label": "cat"}}, format="json"
    )
    assert submit.status_code == 201
    assert submit.json()["status"] == "pending"
    second = _next(api, project).json()
    api.post(f"/api/assignments/{second['id']}/submit", {"answer": {"label": "dog"}}, format="json")
    assert _next(api, project).status_code == 204


def test_someone_elses_assignment_is_404(project) -> None:
    owner, intruder = api_client_for(UserFactory()), api_client_for(UserFactory())
    assignment = _next(owner, project).json()
    for path in ("submit", "skip"):
        response = intruder.post(
            f"/api/assignments/{assignment['id']}/{path}",
            {"answer": {"label": "cat"}},
            format="json",
        )
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "assignment_not_found"
    assert Assignment.objects.get().status == "reserved"


def test_expired_reservation_is_409(project) -> None:
    api = api_client_for(UserFactory())
    assignment = _next(api, project).json()
    Assignment.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response = api.post(
        f"/api/assignments/{assignment['id']}/submit", {"answer": {"label": "cat"}}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "assignment_expired"
    assert not Submission.objects.exists()


def test_unknown_label_is_400_with_the_labels(project) -> None:
    api = api_client_for(UserFactory())
    assignment = _next(api, project).json()
    response = api.post(
        f"/api/assignments/{assignment['id']}/submit", {"answer": {"label": "cow"}}, format="json"
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "answer_invalid"
    assert error["details"]["labels"] == ["cat", "dog", "bird"]


def test_second_submit_returns_the_same_result(project) -> None:
    api = api_client_for(UserFactory())
    assignment = _next(api, project).json()
    url = f"/api/assignments/{assignment['id']}/submit"
    first = api.post(url, {"answer": {"label": "cat"}}, format="json").json()
    again = api.post(url, {"answer": {"label": "dog"}}, format="json")
    assert again.json()["id"] == first["id"]
    assert again.json()["answer"] == {"label": "cat"}
    assert Submission.objects.count() == 1


def test_malformed_assignment_id_is_404() -> None:
    api = api_client_for(UserFactory())
    response = api.post("/api/assignments/not-a-uuid/submit", {"answer": {}}, format="json")
    assert response.status_code == 404


def test_inactive_project_is_409() -> None:
    project = project_with_items(items=1, status="paused")
    owner_api = api_client_for(project.owner)
    response = _next(owner_api, project)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "project_not_active"

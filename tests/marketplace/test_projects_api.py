"""Projects over the REST API: creation, imports (all or nothing), publishing, export."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from labeling.models import Item, Project
from payouts.money import near_to_yocto
from payouts.near.keys import key_generate
from tests.conftest import api_client_for, nep413_proof
from tests.factories import UserFactory, escrow_fund

pytestmark = pytest.mark.django_db

PROJECT = {
    "title": "Pets",
    "task_type": "classification",
    "label_config": ["cat", "dog"],
    "reward_per_answer": "0.05",
    "answers_per_item": 3,
}


def _create(api, **overrides) -> dict:
    response = api.post("/api/projects/", {**PROJECT, **overrides}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def test_create_project_reads_amounts_exactly(requester_api) -> None:
    project = _create(requester_api, reward_per_answer="0.000000000000000000000123")
    assert project["reward_per_answer"] == "0.000000000000000000000123"
    stored = Project.objects.get(public_id=project["id"])
    assert stored.reward_per_answer == 123
    assert project["status"] == "draft"
    assert project["label_config"] == {"labels": ["cat", "dog"]}


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"reward_per_answer": 0.05}, "reward_per_answer"),
        ({"reward_per_answer": "-1"}, "reward_per_answer"),
        ({"reward_per_answer": "1e-2"}, "reward_per_answer"),
        ({"reward_per_answer": "0"}, "reward_per_answer"),
        ({"reward_per_answer": "0.0000000000000000000000001"}, "reward_per_answer"),
        ({"answers_per_item": 0}, "answers_per_item"),
        ({"task_type": "telepathy"}, "task_type"),
    ],
)
def test_bad_project_fields_are_refused(requester_api, overrides, field) -> None:
    response = requester_api.post("/api/projects/", {**PROJECT, **overrides}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert field in response.json()["error"]["details"]
    assert not Project.objects.exists()


def test_bad_label_config_has_its_own_code(requester_api) -> None:
    response = requester_api.post(
        "/api/projects/", {**PROJECT, "label_config": ["only"]}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "label_config_invalid"


def test_malformed_json_is_refused_with_a_code(requester_api) -> None:
    response = requester_api.post(
        "/api/projects/", data='{"title": ', content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_request"


def test_anonymous_requests_are_refused(client) -> None:
    response = client.get("/api/projects/")
    assert response.status_code in (401, 403)
    assert response.json()["error"]["code"] == "not_authenticated"


def test_import_json_list(requester_api) -> None:
    project = _create(requester_api)
    items = [{"external_id": "a", "data": {"text": "x"}}, {"text": "bare object is data"}]
    response = requester_api.post(f"/api/projects/{project['id']}/items/", items, format="json")
    assert response.status_code == 201
    assert response.json() == {"created": 2}
    stored = {i.external_id: i.data for i in Item.objects.all()}
    assert stored == {"a": {"text": "x"}, "": {"text": "bare object is data"}}


def test_import_jsonl_file(requester_api) -> None:
    project = _create(requester_api)
    body = (
        b'{"external_id": "1", "data": {"text": "a"}}\n'
        b"\n"
        b'{"external_id": "2", "data": {"text": "b"}}\n'
    )
    upload = SimpleUploadedFile("items.jsonl", body, content_type="application/x-ndjson")
    response = requester_api.post(
        f"/api/projects/{project['id']}/items/", {"file": upload}, format="multipart"
    )
    assert response.status_code == 201
    assert sorted(Item.objects.values_list("external_id", flat=True)) == ["1", "2"]


def test_import_csv_file(requester_api) -> None:
    project = _create(requester_api)
    body = b'external_id,text,source\nr1,"Hello, world",web\nr2,Bye,app\n'
    upload = SimpleUploadedFile("items.csv", body, content_type="text/csv")
    response = requester_api.post(
        f"/api/projects/{project['id']}/items/", {"file": upload}, format="multipart"
    )
    assert response.status_code == 201
    assert Item.objects.get(external_id="r1").data == {"text": "Hello, world", "source": "web"}


@pytest.mark.parametrize(
    ("name", "body", "line"),
    [
        ("items.jsonl", b'{"data": {"t": 1}}\n{"data": {"t": 2}}\n{"data": \n', 3),
        ("items.jsonl", b'{"data": {"t": 1}}\n[1, 2]\n', 2),
        ("items.jsonl", b'{"data": {}}\n', 1),
        ("items.csv", b"text,label\nok,1\nnot,enough,columns,here\n", 3),
        ("items.csv", b"text\na\nb\n", None),
        (
            "items.jsonl",
            b'{"external_id": "x", "data": {"t": 1}}\n{"external_id": "x", "data": {"t": 2}}\n',
            2,
        ),
    ],
)
def test_a_bad_row_refuses_the_whole_upload_with_its_line(requester_api, name, body, line) -> None:
    project = _create(requester_api)
    if line is None:  # a good file, for contrast: the test would notice a broken parser
        upload = SimpleUploadedFile(name, body)
        assert (
            requester_api.post(
                f"/api/projects/{project['id']}/items/", {"file": upload}, format="multipart"
            ).status_code
            == 201
        )
        return
    upload = SimpleUploadedFile(name, body)
    response = requester_api.post(
        f"/api/projects/{project['id']}/items/", {"file": upload}, format="multipart"
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "import_invalid"
    assert error["details"]["line"] == line
    assert not Item.objects.exists()


def test_external_ids_already_in_the_project_are_refused(requester_api) -> None:
    project = _create(requester_api)
    url = f"/api/projects/{project['id']}/items/"
    assert (
        requester_api.post(url, [{"external_id": "a", "data": {"t": 1}}], format="json").status_code
        == 201
    )
    response = requester_api.post(
        url,
        [{"external_id": "b", "data": {"t": 2}}, {"external_id": "a", "data": {"t": 3}}],
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["error"]["details"]["line"] == 2
    assert Item.objects.count() == 1


def test_unknown_file_type_is_refused(requester_api) -> None:
    project = _create(requester_api)
    upload = SimpleUploadedFile("items.xlsx", b"PK..")
    response = requester_api.post(
        f"/api/projects/{project['id']}/items/", {"file": upload}, format="multipart"
    )
    assert response.json()["error"]["code"] == "import_format_unknown"


def test_someone_elses_project_is_not_found(requester_api) -> None:
    project = _create(requester_api)
    stranger = api_client_for(UserFactory())
    response = stranger.post(f"/api/projects/{project['id']}/items/", [{"t": 1}], format="json")
    assert response.status_code == 404
    assert stranger.get(f"/api/projects/{project['id']}/").status_code == 404  # drafts are private


def test_publish_is_refused_until_escrow_covers_reward_plus_fee(requester_api) -> None:
    project = _create(requester_api)
    requester_api.post(
        f"/api/projects/{project['id']}/items/", [{"t": n} for n in range(4)], format="json"
    )
    stored = Project.objects.get(public_id=project["id"])
    needed = 4 * 3 * (near_to_yocto("0.05") + near_to_yocto("0.005"))
    escrow_fund(stored, amount=needed - 1, key="short")
    response = requester_api.post(f"/api/projects/{project['id']}/publish")
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "project_not_funded"
    assert error["details"]["shortfall"] == "0.000000000000000000000001"
    assert Project.objects.get(pk=stored.pk).status == "draft"
    escrow_fund(stored, amount=1, key="top-up")
    response = requester_api.post(f"/api/projects/{project['id']}/publish")
    assert response.status_code == 200
    assert response.json()["status"] == "active"
    detail = requester_api.get(f"/api/projects/{project['id']}/").json()
    assert detail["progress"]["items_total"] == 4
    assert detail["progress"]["answers_wanted"] == 12


def test_import_into_active_project_needs_funding(requester_api) -> None:
    project = _create(requester_api)
    url = f"/api/projects/{project['id']}/items/"
    requester_api.post(url, [{"t": 1}], format="json")
    escrow_fund(Project.objects.get(public_id=project["id"]))
    requester_api.post(f"/api/projects/{project['id']}/publish")
    response = requester_api.post(url, [{"t": 2}], format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "project_not_funded"
    assert Item.objects.count() == 1


def test_export_streams_every_item_with_its_answers(
    requester_api, django_capture_on_commit_callbacks
) -> None:
    project = _create(requester_api, answers_per_item=2)
    requester_api.post(
        f"/api/projects/{project['id']}/items/",
        [{"external_id": "e1", "data": {"t": 1}}, {"external_id": "e2", "data": {"t": 2}}],
        format="json",
    )
    escrow_fund(Project.objects.get(public_id=project["id"]))
    requester_api.post(f"/api/projects/{project['id']}/publish")
    workers = [UserFactory() for _ in range(2)]
    accounts = []
    for worker in workers:
        api = api_client_for(worker)
        key = key_generate()  # an implicit account: proven without a chain
        accounts.append(key.account_id)
        response = api.post("/api/me/near-account", nep413_proof(key), format="json")
        assert response.status_code == 200, response.content
        while (response := api.get(f"/api/projects/{project['id']}/next")).status_code == 200:
            with django_capture_on_commit_callbacks(execute=True):
                api.post(
                    f"/api/assignments/{response.json()['id']}/submit",
                    {"answer": {"label": "dog"}, "time_on_task_ms": 1500},
                    format="json",
                )
    response = requester_api.get(f"/api/projects/{project['id']}/export?format=jsonl")
    assert response.status_code == 200
    assert response.streaming
    lines = [
        json.loads(line) for line in b"".join(response.streaming_content).decode().splitlines()
    ]
    assert [line["external_id"] for line in lines] == ["e1", "e2"]
    first = lines[0]
    assert first["final_answer"] == {"label": "dog"}
    assert first["confidence"] > 0.9  # two agreeing answers, the posterior of the last fit
    assert sorted(a["contributor_near_account"] for a in first["answers"]) == sorted(accounts)
    assert {a["decision"] for a in first["answers"]} == {"accepted"}
    assert first["answers"][0]["time_on_task_ms"] == 1500
    bad = requester_api.get(f"/api/projects/{project['id']}/export?format=xml")
    assert bad.json()["error"]["code"] == "export_format_unknown"

"""POST /api/datasets/verify: no sign-in, a report for any well-formed request, 4xx with a
code for whatever is not a manifest, 413 past the size limits, 503 without a chain."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from tests.marketplace.test_manifests import signed  # noqa: F401  (fixture)

URL = "/api/datasets/verify"


def _post(manifest: bytes | None, *files: tuple[str, bytes], client=None, **fields):
    data: dict = dict(fields)
    if manifest is not None:
        data["manifest"] = SimpleUploadedFile("manifest.json", manifest)
    if files:
        data["files"] = [SimpleUploadedFile(name, content) for name, content in files]
    return (client or APIClient()).post(URL, data, format="multipart")


def _error(response) -> str:
    return response.json()["error"]["code"]


def test_an_honest_download_verifies_without_signing_in(signed) -> None:  # noqa: F811
    response = _post(
        signed["text"].encode(),
        ("mine.jsonl", signed["jsonl"].read_bytes()),
        ("data.csv", signed["csv"].read_bytes()),
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["ok"] is True
    assert body["manifest_sha256"] == signed["digest"]
    assert {c["name"]: c["code"] for c in body["checks"]} == {
        "manifest_sha256": "ok",
        "signature": "ok",
        "platform": "ok",
        "file:mine.jsonl": "ok",
        "file:data.csv": "ok",
    }
    assert body["files_not_given"] == []
    project = json.loads(signed["text"])["manifest"]["project"]
    assert body["subject"]["project"] == {
        "id": project["id"],
        "title": project["title"],
        "task_type": project["task_type"],
    }


def test_the_manifest_alone_verifies_and_lists_the_files_not_given(signed) -> None:  # noqa: F811
    body = _post(signed["text"].encode()).json()
    assert body["ok"] is True
    assert sorted(body["files_not_given"]) == ["data.csv", "data.jsonl"]


def test_a_tampered_download_answers_200_with_the_failed_checks(signed) -> None:  # noqa: F811
    tampered = signed["text"].replace("Cats and dogs", "Cats and dogz").encode()
    response = _post(tampered, ("data.csv", b"id\n1\n3\n"))
    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is False
    codes = {c["name"]: c["code"] for c in body["checks"]}
    assert codes["manifest_sha256"] == "manifest_hash_mismatch"
    assert codes["file:data.csv"] == "file_hash_mismatch"


def test_the_expected_account_can_be_named(signed) -> None:  # noqa: F811
    body = _post(signed["text"].encode(), account_id="someone.localnet").json()
    assert {c["name"]: c["code"] for c in body["checks"]}["signature"] == "signer_unexpected"
    response = _post(signed["text"].encode(), account_id="Not An Account")
    assert (response.status_code, _error(response)) == (400, "near_account_invalid")


def test_an_unreachable_chain_answers_503_with_the_checks(signed, settings) -> None:  # noqa: F811
    settings.NEAR_RPC_URL = "http://127.0.0.1:9"
    response = _post(signed["text"].encode())
    assert response.status_code == 503
    error = response.json()["error"]
    assert error["code"] == "chain_unavailable"
    assert {c["name"]: c["code"] for c in error["details"]["checks"]}["manifest_sha256"] == "ok"


@pytest.mark.parametrize(
    ("manifest", "code"),
    [
        (b"not json", "manifest_not_json"),
        (b'{"schema": "\\u0000"}', "manifest_text_invalid"),
        (b'{"schema": "\\udc00"}', "manifest_text_invalid"),
        (b"\x00\x00", "manifest_not_json"),
        (b"[" * 5000 + b"]" * 5000, "manifest_too_deep"),
        (b'{"schema": 1e999}', "manifest_number_invalid"),
        (b'{"schema": "nearlabel-manifest/1"}', "manifest_invalid"),
        (b'"just a string"', "manifest_invalid"),
    ],
)
def test_hostile_manifests_answer_400_with_a_code(db, manifest: bytes, code: str) -> None:
    response = _post(manifest)
    assert response.status_code == 400, response.content
    assert _error(response) == code


def test_a_manifest_is_required(db) -> None:
    response = _post(None, ("data.csv", b"x"))
    assert (response.status_code, _error(response)) == (400, "manifest_missing")


def test_a_manifest_sent_as_text_is_read(signed) -> None:  # noqa: F811
    response = APIClient().post(URL, {"manifest": signed["text"]}, format="multipart")
    assert response.status_code == 200
    assert response.json()["ok"] is True


def test_json_bodies_are_not_taken(db) -> None:
    response = APIClient().post(URL, {"manifest": "{}"}, format="json")
    assert (response.status_code, _error(response)) == (415, "unsupported_media_type")


def test_oversize_answers_413(db, settings) -> None:
    from marketplace.services.manifests import MANIFEST_MAX_BYTES

    response = _post(b" " * (MANIFEST_MAX_BYTES + 1))
    assert (response.status_code, _error(response)) == (413, "manifest_too_large")
    settings.DATASET_VERIFY_MAX_BYTES = 1000
    response = _post(b"{}", ("big.csv", b"x" * 200_000))
    assert (response.status_code, _error(response)) == (413, "request_too_large")


def test_too_many_files_are_refused(db) -> None:
    files = [(f"f{i}.csv", b"x") for i in range(11)]
    response = _post(b"{}", *files)
    assert (response.status_code, _error(response)) == (400, "verify_files_too_many")


def test_verification_is_throttled_per_client(db, settings) -> None:
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "dataset_verify": "2/min"}
    client = APIClient()
    statuses = [_post(b"x", client=client).status_code for _ in range(3)]
    assert statuses == [400, 400, 429]


def test_the_schema_documents_the_endpoint(db) -> None:
    import yaml

    schema = yaml.safe_load(APIClient().get("/api/schema/").content)
    operation = schema["paths"][URL]["post"]
    assert operation["security"] == [{}]
    assert {"200", "400", "413", "429", "503"} <= set(operation["responses"])
    body = operation["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert body["required"] == ["manifest"]
    report = schema["components"]["schemas"]["VerifyReport"]
    assert set(report["required"]) >= {"ok", "checks", "files_not_given"}
    assert json.dumps(operation).count("manifest_too_large") >= 1


def test_an_account_id_sent_as_a_file_is_400_not_500(signed) -> None:  # noqa: F811
    response = _post(
        signed["text"].encode(), account_id=SimpleUploadedFile("account", b"nearlabel.localnet")
    )
    assert (response.status_code, _error(response)) == (400, "near_account_invalid")

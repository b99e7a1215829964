"""The OpenAPI schema documents every endpoint of the API."""

import pytest
import yaml

pytestmark = pytest.mark.django_db


def test_schema_lists_the_api(client) -> None:
    response = client.get("/api/schema/")
    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    paths = set(schema["paths"])
    for path in [
        "/api/projects/",
        "/api/projects/{project_id}/",
        "/api/projects/{project_id}/items/",
        "/api/projects/{project_id}/deposits/",
        "/api/projects/{project_id}/publish",
        "/api/projects/{project_id}/next",
        "/api/projects/{project_id}/export",
        "/api/assignments/{assignment_id}/submit",
        "/api/assignments/{assignment_id}/skip",
        "/api/auth/near/challenge",
        "/api/auth/near/verify",
        "/api/me/",
        "/api/me/near-account",
        "/api/me/payouts",
    ]:
        assert path in paths, path
    amount = schema["components"]["schemas"]["PayoutRequest"]["properties"]["amount"]
    assert amount["type"] == "string"


@pytest.mark.parametrize("path", ["/api/me/payouts", "/api/projects/{project_id}/deposits/"])
def test_money_moving_posts_document_the_idempotency_key(client, path: str) -> None:
    schema = yaml.safe_load(client.get("/api/schema/").content)
    parameters = schema["paths"][path]["post"]["parameters"]
    header = next(p for p in parameters if p["name"] == "Idempotency-Key")
    assert header["in"] == "header"
    assert not header.get("required", False)
    assert "Idempotent-Replayed" in header["description"]
    assert "422" in schema["paths"][path]["post"]["responses"]


def test_swagger_ui_is_served(client) -> None:
    assert client.get("/api/docs/").status_code == 200


def _operations(schema: dict):
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            yield path, method, operation


def test_every_operation_documents_its_error_answers(client) -> None:
    """Each operation lists the error statuses the API's machinery can give it, in the
    error envelope, with the stable codes each may carry."""
    schema = yaml.safe_load(client.get("/api/schema/").content)
    envelope = schema["components"]["schemas"]["Error"]
    assert envelope["required"] == ["error"]
    assert set(schema["components"]["schemas"]["ErrorDetail"]["required"]) == {"code", "message"}
    for path, method, operation in _operations(schema):
        responses = operation["responses"]
        expected = {"500"}
        if method == "post":
            expected |= {"400", "413", "415"}
        if "{" in path:
            expected.add("404")
        if operation.get("security") != [{}]:
            expected |= {"401", "403"}
        assert expected <= set(responses), (method, path, sorted(responses))
        for status in expected:
            content = responses[status]["content"]["application/json"]["schema"]
            assert content == {"$ref": "#/components/schemas/Error"}, (method, path, status)
            assert "Codes: `" in responses[status]["description"]


@pytest.mark.parametrize(
    ("path", "method", "status"),
    [
        ("/api/projects/{project_id}/deposits/", "post", "503"),
        ("/api/projects/{project_id}/deposits/", "post", "429"),
        ("/api/auth/near/verify", "post", "429"),
        ("/api/auth/token", "post", "429"),
        ("/api/projects/{project_id}/next", "get", "409"),
    ],
)
def test_operations_document_their_own_errors(client, path, method, status) -> None:
    schema = yaml.safe_load(client.get("/api/schema/").content)
    assert status in schema["paths"][path][method]["responses"]


def test_request_bodies_refuse_unknown_fields_as_the_schema_says(client) -> None:
    """A typo'd field is refused, not dropped; the schema says so (additionalProperties)."""
    from labeling.api.serializers import SubmitSerializer

    serializer = SubmitSerializer(data={"anwser": {"label": "cat"}, "answer": {"label": "cat"}})
    assert not serializer.is_valid()
    assert list(serializer.errors) == ["anwser"]
    assert serializer.errors["anwser"][0].code == "invalid"
    schema = yaml.safe_load(client.get("/api/schema/").content)
    for name in ("Submit", "ProjectCreate", "DepositCreate", "PayoutRequest", "NearProof"):
        assert schema["components"]["schemas"][name]["additionalProperties"] is False, name


def test_the_whitespace_list_is_what_str_strip_removes() -> None:
    from config.schema import NOT_ONLY_WHITESPACE, WHITESPACE

    assert set(WHITESPACE) == {c for c in map(chr, range(0x110000)) if c.isspace()}
    import re

    assert re.fullmatch(NOT_ONLY_WHITESPACE, "a")
    assert not any(re.fullmatch(NOT_ONLY_WHITESPACE, c) for c in WHITESPACE)

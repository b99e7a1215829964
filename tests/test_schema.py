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

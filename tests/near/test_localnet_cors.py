"""The local RPC answers a browser's CORS requests as nearcore's default configuration does
(actix-cors permissive, narrowed to three request headers): a page on another origin can
preflight and call it, and reads the answer."""

from __future__ import annotations

import http.client
import json
from urllib.parse import urlsplit

import pytest

from payouts.near.localnet import LocalNetServer

PAGE = "http://localhost:8000"


def _request(
    server: LocalNetServer, method: str, path: str = "/", *, headers=None, body: bytes | None = None
) -> http.client.HTTPResponse:
    parts = urlsplit(server.url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
    connection.request(method, path, body=body, headers=headers or {})
    response = connection.getresponse()
    response.read()
    connection.close()
    return response


def test_a_preflight_for_a_json_post_is_allowed_for_the_pages_origin(server) -> None:
    response = _request(
        server,
        "OPTIONS",
        headers={
            "Origin": PAGE,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert response.status == 200
    assert response.getheader("Access-Control-Allow-Origin") == PAGE  # echoed, not "*"
    assert "POST" in response.getheader("Access-Control-Allow-Methods").split(", ")
    allowed = response.getheader("Access-Control-Allow-Headers").split(", ")
    assert sorted(allowed) == ["accept", "authorization", "content-type"]
    assert response.getheader("Access-Control-Allow-Credentials") == "true"
    assert response.getheader("Access-Control-Max-Age") == "3600"
    assert response.getheader("Content-Length") == "0"


@pytest.mark.parametrize(
    ("headers", "why"),
    [
        ({}, "Access-Control-Request-Method header is missing"),
        ({"Access-Control-Request-Method": "FETCH"}, "Access-Control-Request-Method"),
        (
            {
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "x-api-key",
            },
            "not allowed",
        ),
        (
            {
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "Content-Type, X-Custom",
            },
            "not allowed",
        ),
    ],
)
def test_a_preflight_outside_the_rules_is_refused(server, headers, why) -> None:
    parts = urlsplit(server.url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
    connection.request("OPTIONS", "/", headers={"Origin": PAGE, **headers})
    response = connection.getresponse()
    text = response.read().decode()
    assert response.status == 400
    assert why in text
    assert response.getheader("Access-Control-Allow-Origin") is None


def test_header_names_in_a_preflight_compare_without_case(server) -> None:
    response = _request(
        server,
        "OPTIONS",
        headers={
            "Origin": PAGE,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "Content-Type,ACCEPT",
        },
    )
    assert response.status == 200


def test_an_rpc_answer_to_a_page_carries_its_origin(server) -> None:
    body = json.dumps({"jsonrpc": "2.0", "id": "1", "method": "status", "params": []}).encode()
    response = _request(
        server,
        "POST",
        headers={"Origin": PAGE, "Content-Type": "application/json"},
        body=body,
    )
    assert response.status == 200
    assert response.getheader("Access-Control-Allow-Origin") == PAGE
    assert response.getheader("Access-Control-Allow-Credentials") == "true"
    assert response.getheader("Vary") == "Origin"


def test_an_error_answer_to_a_page_carries_its_origin_too(server) -> None:
    """A JSON-RPC error (and nearcore's HTTP 400 for a request validation error) must be
    readable by the page, or it cannot tell the person what went wrong."""
    body = json.dumps({"jsonrpc": "2.0", "id": "1", "method": "no_such", "params": []}).encode()
    response = _request(
        server, "POST", headers={"Origin": PAGE, "Content-Type": "application/json"}, body=body
    )
    assert response.status in (200, 400)
    assert response.getheader("Access-Control-Allow-Origin") == PAGE


def test_a_request_without_an_origin_gets_no_cors_headers(server) -> None:
    response = _request(server, "GET", "/status")
    assert response.status == 200
    assert response.getheader("Access-Control-Allow-Origin") is None
    assert response.getheader("Vary") is None

"""Every page carries a strict Content-Security-Policy that names the NEAR RPC of the
moment (the in-browser wallet fetches it), and no page needs an inline script."""

import re

import pytest

pytestmark = pytest.mark.django_db


def _policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {
        name: values
        for name, *values in (part.split() for part in header.split(";") if part.strip())
    }


def test_pages_forbid_inline_scripts_and_styles(client) -> None:
    policy = _policy(client.get("/"))
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]


def test_connect_src_follows_the_configured_rpc(client, settings) -> None:
    settings.NEAR_RPC_URL = "http://127.0.0.1:45678"
    assert "http://127.0.0.1:45678" in _policy(client.get("/"))["connect-src"]
    settings.NEAR_RPC_URL = "https://rpc.testnet.near.org"
    connect = _policy(client.get("/"))["connect-src"]
    assert "https://rpc.testnet.near.org" in connect
    assert "http://127.0.0.1:45678" not in connect


def test_home_has_no_inline_script(client) -> None:
    page = client.get("/").content.decode()
    scripts = re.findall(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", page)
    assert scripts == []
    assert " style=" not in page

"""Server-rendered pages say which chain they pay on: loudly when it is not NEAR."""

import pytest

pytestmark = pytest.mark.django_db

BANNER = "not to NEAR. No real NEAR moves."


@pytest.mark.parametrize("path", ["/", "/admin/login/"])
def test_pages_show_the_local_chain_banner(client, settings, path) -> None:
    settings.NEAR_IS_LOCALNET = True
    response = client.get(path)
    assert response.status_code == 200
    assert BANNER in response.content.decode()


@pytest.mark.parametrize("path", ["/", "/admin/login/"])
def test_pages_on_a_real_network_show_no_banner(client, settings, path) -> None:
    settings.NEAR_IS_LOCALNET = False
    response = client.get(path)
    assert response.status_code == 200
    assert BANNER not in response.content.decode()


def test_the_api_docs_work_offline(client) -> None:
    """Swagger UI's files come from the app itself, not a CDN, and are served; its start-up
    script too (a file of the view's, not an inline script: the CSP forbids those)."""
    import re

    page = client.get("/api/docs/").content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert assets, page[:500]
    assert all(asset.startswith(("/static/", "/api/docs/?script")) for asset in assets), assets
    assert "<script>" not in page
    for asset in assets:
        response = client.get(asset)
        assert response.status_code == 200, asset
        assert b"".join(response.streaming_content if response.streaming else [response.content])


def test_the_admin_is_styled(client) -> None:
    page = client.get("/admin/login/").content.decode()
    assert "/static/admin/css/base.css" in page
    response = client.get("/static/admin/css/base.css")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/css")

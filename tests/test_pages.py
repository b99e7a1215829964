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

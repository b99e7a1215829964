"""The pages stay light enough for a slow phone: what a first visit downloads (the HTML
and the scripts and stylesheets it names, before compression) stays under a budget per
page, and nothing big loads unasked (the Wallet Selector's 1.1 MB bundle only on a click,
Chart.js only on the project page)."""

import re

import pytest
from django.contrib.staticfiles import finders

from tests.factories import UserFactory, project_with_items
from tests.labeling.dashboard_data import dashboard_project

pytestmark = pytest.mark.django_db

KB = 1024
# Bytes a first visit downloads, uncompressed (WhiteNoise and the HTML are gzipped on
# the wire: roughly a third of this). htmx alone is 52 KB.
BUDGET = 120 * KB
BUDGET_WITH_CHARTS = 340 * KB  # the project page: Chart.js is 210 KB


def _weight(client, path: str) -> tuple[int, list[str]]:
    response = client.get(path)
    assert response.status_code == 200, path
    html = response.content.decode()
    assets = re.findall(r'<(?:script[^>]*\bsrc|link[^>]*\bhref)="/static/([^"?]+)"', html)
    total = len(response.content)
    for asset in assets:
        found = finders.find(asset)
        assert found, asset
        with open(found, "rb") as file:
            total += len(file.read())
    return total, assets


@pytest.mark.parametrize(
    ("path", "signed_in"),
    [
        ("/", False),
        ("/signin/", False),
        ("/signup/", False),
        ("/account/", True),
        ("/me/", True),
        ("/projects/", True),
        ("/projects/new/", True),
        ("/datasets/", False),
        ("/datasets/purchases/", True),
    ],
)
def test_a_page_weighs_less_than_its_budget(client, path, signed_in) -> None:
    if signed_in:
        client.force_login(UserFactory())
    total, assets = _weight(client, path)
    assert total < BUDGET, (path, total, assets)
    assert not any("near-selector" in asset or "chart" in asset for asset in assets), assets


def test_the_workbench_weighs_less_than_its_budget(client) -> None:
    project = project_with_items(items=3)
    client.force_login(UserFactory())
    total, _assets = _weight(client, f"/work/{project.public_id}/")
    assert total < BUDGET, total


def test_the_project_page_with_its_charts_weighs_less_than_its_budget(client) -> None:
    project = dashboard_project()
    client.force_login(project.owner)
    total, assets = _weight(client, f"/projects/{project.public_id}/")
    assert any("chart" in asset for asset in assets), assets
    assert total < BUDGET_WITH_CHARTS, total


def test_the_dataset_page_with_its_buy_panel_weighs_less_than_its_budget(client) -> None:
    from tests.factories import dataset_version_ready

    version = dataset_version_ready()
    client.force_login(UserFactory())
    total, assets = _weight(client, f"/datasets/{version.dataset.public_id}/")
    assert any("near-wallet" in asset for asset in assets), assets
    assert total < BUDGET, total
    assert not any("near-selector" in asset for asset in assets), assets

"""The pages that exist today, in a real browser: they render without a console error or
a request leaving the server, keep untrusted text inert, and pass axe-core."""

import pytest

from labeling.models import Project
from tests.browser.conftest import axe_violations, screenshot
from tests.factories import UserFactory, project_with_items

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

XSS = '<img src=x onerror="alert(1)"><script>alert(2)</script>'


def test_the_home_page_lists_open_projects_and_keeps_their_titles_inert(page) -> None:
    project_with_items(items=1, title=f"Cats {XSS}")
    project_with_items(items=1, title="A finished one", status=Project.Status.COMPLETED)
    page.goto("/")
    cards = page.locator(".project-card")
    assert cards.count() == 1
    assert "Cats <img" in cards.first.inner_text()  # shown as text, not as markup
    assert page.locator("img[src=x]").count() == 0
    assert page.watched.dialogs == []
    assert page.watched.console_errors == []
    assert page.watched.outside_requests == []
    assert axe_violations(page) == []
    screenshot(page, "home")


def test_the_api_docs_render_offline(page) -> None:
    page.goto("/api/docs/")
    page.wait_for_selector(".opblock", timeout=15_000)
    assert page.locator(".opblock").count() > 20
    assert page.get_by_text("/api/projects/{project_id}/review").count() >= 1
    assert page.watched.outside_requests == []
    assert page.watched.console_errors == []
    screenshot(page, "api-docs")


def test_the_admin_is_styled_and_shows_the_quality_engine(page) -> None:
    UserFactory(username="staff", is_staff=True, is_superuser=True)
    page.goto("/admin/login/")
    header = page.locator("#header")
    background = header.evaluate("el => getComputedStyle(el).backgroundColor")
    assert background not in ("rgba(0, 0, 0, 0)", "transparent")  # the admin's CSS loaded
    page.fill("#id_username", "staff")
    page.fill("#id_password", "correct horse battery")
    page.click("input[type=submit]")
    page.goto("/admin/labeling/contributorquality/")
    assert page.locator("#content h1").inner_text()
    assert page.watched.outside_requests == []
    assert page.watched.console_errors == []
    assert axe_violations(page) == []
    screenshot(page, "admin")

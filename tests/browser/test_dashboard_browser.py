"""The project page in a real browser: the charts draw, the confusion matrix holds the
right numbers, the review queue works with the keyboard alone, untrusted text stays
inert, nothing leaves the server, and axe-core finds nothing serious."""

import pytest

from labeling.models import Submission
from tests.browser.conftest import axe_violations, screenshot
from tests.labeling.dashboard_data import ANSWERS, dashboard_project, in_review

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

XSS = '<img src=x onerror="alert(1)"><script>alert(2)</script>'

CHARTS_DRAWN = """() => {
  const canvases = [...document.querySelectorAll('canvas[data-chart]')];
  return canvases.length === 3 && canvases.every(c => window.Chart && Chart.getChart(c));
}"""

# Pixels a canvas has painted (alpha > 0): a blank canvas has none.
PAINTED = """canvas => {
  const { width, height } = canvas;
  const pixels = canvas.getContext('2d').getImageData(0, 0, width, height).data;
  let painted = 0;
  for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) painted++;
  return painted;
}"""


# The figure "Answers in review" as the page shows it now.
IN_REVIEW = """() => [...document.querySelectorAll('#figures dt')]
  .find(dt => dt.textContent === 'Answers in review').nextElementSibling.textContent"""


def _sign_in(page, client, user, live_server) -> None:
    """The user's session, made by Django's test client, in the browser's cookie jar."""
    client.force_login(user)
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )


def _inert(page) -> None:
    assert page.locator("img[src=x]").count() == 0
    assert page.watched.dialogs == []


def _clean(page) -> None:
    assert page.watched.dialogs == []
    assert page.watched.console_errors == []
    assert page.watched.outside_requests == []
    assert axe_violations(page) == []


@pytest.fixture
def project(transactional_db):
    return dashboard_project(
        title=f"Pets {XSS}",
        labels=(f"cat{XSS}", "dog", "bird"),
        usernames=(f"alice{XSS}", "bob", "carol"),
        text=f"A photo {XSS}",
        answers=ANSWERS * 3,  # 15 items, 45 answers, 9 in review
        spread_hours=30,
    )


def test_the_dashboard_draws_its_charts_and_tables(page, client, live_server, project) -> None:
    _sign_in(page, client, project.owner, live_server)
    page.goto(f"/projects/{project.public_id}/")
    page.wait_for_function(CHARTS_DRAWN, timeout=10_000)
    for canvas in page.locator("canvas[data-chart]").all():
        assert canvas.evaluate(PAINTED) > 500, canvas.get_attribute("id")
    # The charts got the figures the tables show.
    progress = page.evaluate("Chart.getChart(document.getElementById('chart-progress')).data")
    assert progress["datasets"][0]["data"][-1] == 15  # every item decided
    assert len(progress["labels"]) >= 30  # by hour over the project's 30 hours
    scores = page.evaluate("Chart.getChart(document.getElementById('chart-scores')).data")
    assert sum(scores["datasets"][0]["data"]) == 45
    # The confusion matrix: rows the final label, columns the answer.
    rows = page.locator("table.confusion tbody tr")
    assert rows.count() == 3
    counts = [
        [
            int(n)
            for n in row.locator("td[data-count]").evaluate_all("c => c.map(x => x.dataset.count)")
        ]
        for row in rows.all()
    ]
    assert counts == [[15, 3, 0], [0, 15, 3], [3, 0, 6]]
    assert rows.first.locator("th").inner_text().startswith(f"cat{XSS}")  # shown as text
    # Untrusted text is text: the title, labels and usernames show their markup.
    assert XSS in page.locator("h1").inner_text()
    assert f"alice{XSS}" in page.locator("table.leaderboard").inner_text()
    _inert(page)
    # The data tables are there for whoever opens them.
    page.locator("#chart-scores-title ~ details summary").click()
    assert page.locator("#chart-scores-title ~ details table tbody tr").count() == 10
    _clean(page)
    screenshot(page, "dashboard")

    page.set_viewport_size({"width": 375, "height": 800})
    page.wait_for_timeout(200)  # Chart.js resizes on the next frame
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"the page scrolls sideways on a phone ({width}px)"
    for canvas in page.locator("canvas[data-chart]").all():
        assert canvas.bounding_box()["width"] <= 375
    _clean(page)
    screenshot(page, "dashboard-phone")


def test_the_figures_refresh_while_the_project_runs(page, client, live_server, project) -> None:
    _sign_in(page, client, project.owner, live_server)
    page.goto(f"/projects/{project.public_id}/")
    figures = page.locator("#figures")
    assert figures.get_attribute("hx-trigger") == "every 10s"
    first = in_review(project)[0]
    from labeling.services.quality import submission_review_decide

    submission_review_decide(
        project=project,
        submission_public_id=first.public_id,
        accept=True,
        reason="",
        by=project.owner,
    )
    # The next poll (within ~10 s) shows one answer fewer in review.
    assert page.evaluate(IN_REVIEW) == "9"
    page.wait_for_function(f"() => ({IN_REVIEW})() === '8'", timeout=15_000)
    assert page.watched.console_errors == []
    assert page.watched.outside_requests == []


def test_review_with_the_keyboard_alone(page, client, live_server, project) -> None:
    _sign_in(page, client, project.owner, live_server)
    page.goto(f"/projects/{project.public_id}/")
    page.get_by_role("link", name="Review 9 answers").focus()
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/projects/{project.public_id}/review/")
    first, second, third = in_review(project)[:3]
    cards = page.locator("li.review-item")
    assert cards.count() == 9
    assert "A photo <img" in cards.first.locator(".item-data").inner_text()
    _inert(page)
    _clean(page)

    # Accept the first: its Accept button, reached with Tab, pressed with Enter.
    accept = cards.first.get_by_role("button", name="Accept")
    _tab_to(page, accept)
    page.keyboard.press("Enter")
    done = page.locator(f"#review-{first.public_id}.review-done")
    done.wait_for()
    assert "Accepted" in done.inner_text()
    # Focus moved to the decided card, so Tab goes on to the next one.
    assert page.evaluate("document.activeElement.id") == f"review-{first.public_id}"

    # Reject the second: a blank reason is refused with its code, nothing changes.
    second_card = page.locator(f"#review-{second.public_id}")
    reason = second_card.get_by_label("Reason (the contributor sees it)")
    _tab_to(page, reason)
    page.keyboard.type("   ")
    page.keyboard.press("Enter")
    error = page.locator(f"#review-error-{second.public_id}")
    error.wait_for(state="visible")
    assert "[invalid]" in error.inner_text()
    second.refresh_from_db()
    assert second.status == Submission.Status.REVIEW
    screenshot(page, "review")
    page.keyboard.press("Control+a")
    page.keyboard.type(f"Not a cat {XSS}")
    page.keyboard.press("Tab")  # to the Reject button
    assert page.evaluate("document.activeElement.textContent.trim()") == "Reject"
    page.keyboard.press("Space")
    page.locator(f"#review-{second.public_id}.review-done").wait_for()
    _inert(page)

    first.refresh_from_db()
    second.refresh_from_db()
    third.refresh_from_db()
    assert (first.status, first.decided_by_id) == (Submission.Status.ACCEPTED, project.owner.pk)
    assert (second.status, second.decision_reason) == (
        Submission.Status.REJECTED,
        f"Not a cat {XSS}",
    )
    assert third.status == Submission.Status.REVIEW
    # The error of the blank reason was the only response error; nothing else went wrong.
    # The blank reason's 400 is the only error the browser logged (its own line and htmx's).
    reject_url = f"/projects/{project.public_id}/review/{second.public_id}/reject/"
    assert len(page.watched.console_errors) == 2, page.watched.console_errors
    assert "status of 400" in page.watched.console_errors[0]
    assert f"Error Code 400 from {reject_url}" in page.watched.console_errors[1]
    assert page.watched.outside_requests == []
    assert axe_violations(page) == []


def _tab_to(page, locator, *, limit: int = 60) -> None:
    """Press Tab until `locator` has the focus (as a keyboard user would)."""
    for _ in range(limit):
        if locator.evaluate("el => el === document.activeElement"):
            return
        page.keyboard.press("Tab")
    raise AssertionError("never reached with Tab")


def test_the_review_queue_fits_a_phone(page, client, live_server, project) -> None:
    from labeling.models import Item

    first = in_review(project)[0]
    Item.objects.filter(pk=first.assignment.item_id).update(
        data={"text": "W" * 300, "k" * 80: "v" * 300}, external_id="E" * 120
    )
    _sign_in(page, client, project.owner, live_server)
    page.set_viewport_size({"width": 375, "height": 800})
    page.goto(f"/projects/{project.public_id}/review/")
    expect_cards = page.locator("li.review-item")
    assert expect_cards.count() == 9
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"the review queue scrolls sideways on a phone ({width}px)"
    reject = expect_cards.first.get_by_role("button", name="Reject")
    box = reject.bounding_box()
    assert box["x"] + box["width"] <= 375
    _clean(page)
    screenshot(page, "review-phone")

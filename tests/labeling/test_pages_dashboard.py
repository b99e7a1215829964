"""The project page and its review queue through Django's test client: the owner's alone,
its figures and tables from the data, and review decisions that change the answer and
move money once, or are refused with a code and change nothing."""

import re

import pytest
from django.urls import NoReverseMatch, reverse

from labeling.models import Item, Project, Submission
from payouts.money import yocto_to_near
from payouts.selectors import earnings_summary, escrow_balance, ledger_trial_balance
from tests.factories import UserFactory, project_with_items
from tests.labeling.dashboard_data import dashboard_project, in_review

pytestmark = pytest.mark.django_db


def _page(project) -> str:
    return reverse("project-dashboard", kwargs={"project_id": project.public_id})


def _review(project) -> str:
    return reverse("project-review", kwargs={"project_id": project.public_id})


def _decide(project, submission, verb: str) -> str:
    return reverse(
        f"project-review-{verb}",
        kwargs={"project_id": project.public_id, "submission_id": submission.public_id},
    )


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_the_owner_sees_figures_charts_matrix_and_leaderboard(client) -> None:
    project = dashboard_project()
    client.force_login(project.owner)
    response = client.get(_page(project))
    assert response.status_code == 200
    html = response.content.decode()
    assert "<h1>Pets" in html
    figures = dict(re.findall(r"<dt>([^<]+)</dt><dd>([^<]+)", html))
    assert figures["Items"] == "5"
    assert figures["Items decided"] == "5"
    assert figures["Answers"] == "15"
    assert figures["Answers in review"] == "3"
    assert figures["Contributors"] == "3"
    spent = 12 * project.cost_per_answer
    assert figures["Escrow spent"].strip() == f"{yocto_to_near(spent)} NEAR"
    # The charts' data for the script, and the same data as tables.
    assert 'id="dashboard-data" type="application/json"' in html
    assert html.count("<canvas") == 3
    assert 'src="/static/vendor/chartjs/chart.umd.min.js" defer' in html
    assert "15 answers scored: 12 scored 0.5 or more, 3 less" in html
    # The confusion matrix: rows the final label, columns the answer.
    matrix = re.search(r'<table class="confusion".*?</table>', html, re.S).group(0)
    counts = [
        [int(n) for n in re.findall(r'data-count="(\d+)"', row)]
        for row in re.findall(r"<tr>\s*<th scope=\"row\">.*?</tr>", matrix, re.S)
    ]
    assert counts == [[5, 1, 0], [0, 5, 1], [1, 0, 2]]
    # Shaded by share of the row: 5 of 6 and 2 of 3 on the diagonal, 1 of 6 and 1 of 3 off it.
    assert matrix.count("shade-5 diagonal") == 2
    assert matrix.count("shade-4 diagonal") == 1
    assert (matrix.count("shade-1"), matrix.count("shade-2")) == (2, 1)
    # The leaderboard: the dissenter has the lowest share accepted (2 of 2 decided).
    board = re.search(r'<table class="leaderboard">.*?</table>', html, re.S).group(0)
    assert [name for name in ("alice", "bob", "carol") if name in board] == [
        "alice",
        "bob",
        "carol",
    ]
    assert "Review 3 answers" in _text(html)
    # The exports: marketplace's fragment, loaded with htmx (test_export_pages.py).
    assert f'hx-get="/projects/{project.public_id}/exports/" hx-trigger="load"' in html


def test_the_export_link_works_with_the_session(
    client, settings, tmp_path, django_capture_on_commit_callbacks
) -> None:
    """The page loads the exports by path; a signed-in owner's browser starts one and
    downloads it with the session."""
    settings.DATASET_STORAGE_DIR = str(tmp_path)
    project = dashboard_project()
    client.force_login(project.owner)
    html = client.get(_page(project)).content.decode()
    exports = re.search(r'hx-get="(/projects/[^"]+/exports/)"', html).group(1)
    with django_capture_on_commit_callbacks(execute=True):  # the (eager) export task runs
        client.post(exports, {"format": "jsonl"}, HTTP_HX_REQUEST="true")
    fragment = client.get(exports, HTTP_HX_REQUEST="true").content.decode()
    url = re.search(r'href="(/api/projects/[^"]+/download)"', fragment).group(1)
    response = client.get(url)
    assert response.status_code == 200
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert len(lines) == Item.objects.filter(project=project).count()


def test_a_stranger_gets_404_and_nobody_signed_in_is_sent_to_sign_in(client) -> None:
    project = dashboard_project()
    urls = [
        _page(project),
        _review(project),
        reverse("project-dashboard-figures", kwargs={"project_id": project.public_id}),
    ]
    for url in urls:
        anonymous = client.get(url)
        assert anonymous.status_code == 302
        assert anonymous["Location"] == f"/signin/?next={url}"
    client.force_login(UserFactory())
    for url in urls:
        assert client.get(url).status_code == 404
    submission = in_review(project)[0]
    refused = client.post(_decide(project, submission, "accept"))
    assert refused.status_code == 404
    submission.refresh_from_db()
    assert submission.status == Submission.Status.REVIEW


def test_an_htmx_request_after_the_session_ended_sends_the_page_to_sign_in(client) -> None:
    project = dashboard_project()
    url = reverse("project-dashboard-figures", kwargs={"project_id": project.public_id})
    response = client.get(
        url, HTTP_HX_REQUEST="true", HTTP_HX_CURRENT_URL=f"http://testserver{_page(project)}"
    )
    assert response.status_code == 200
    assert response["HX-Redirect"] == f"/signin/?next={_page(project)}"


def test_the_figures_fragment_polls_while_active_only(client) -> None:
    project = dashboard_project()
    client.force_login(project.owner)
    url = reverse("project-dashboard-figures", kwargs={"project_id": project.public_id})
    fragment = client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert fragment.startswith('<section id="figures"')
    assert 'hx-trigger="every 10s"' in fragment
    assert "<html" not in fragment
    Project.objects.filter(pk=project.pk).update(status=Project.Status.COMPLETED)
    fragment = client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert "hx-trigger" not in fragment  # the last answer stops the polling
    assert client.get(url).status_code == 302  # not htmx: the page instead


def test_accepting_in_review_pays_once_and_records_who(client) -> None:
    project = dashboard_project()
    owner = project.owner
    client.force_login(owner)
    submission = in_review(project)[0]
    contributor = submission.assignment.contributor
    before = earnings_summary(user=contributor).balance
    escrow_before = escrow_balance(reference=project.escrow_reference)
    response = client.post(_decide(project, submission, "accept"), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert html.startswith(
        f'<li class="card review-item review-done" id="review-{submission.public_id}"'
    )
    assert "Accepted" in html
    submission.refresh_from_db()
    assert submission.status == Submission.Status.ACCEPTED
    assert submission.decided_by == owner
    assert submission.decided_at is not None
    assert earnings_summary(user=contributor).balance == before + project.reward_per_answer
    assert escrow_balance(reference=project.escrow_reference) == (
        escrow_before - project.cost_per_answer
    )
    # Again (a double click): the same answer, no second payment.
    again = client.post(_decide(project, submission, "accept"), HTTP_HX_REQUEST="true")
    assert again.status_code == 200
    assert earnings_summary(user=contributor).balance == before + project.reward_per_answer
    assert sum(ledger_trial_balance().values()) == 0


def test_rejecting_needs_a_reason_and_keeps_it(client) -> None:
    project = dashboard_project()
    client.force_login(project.owner)
    submission = in_review(project)[0]
    contributor = submission.assignment.contributor
    before = earnings_summary(user=contributor).balance
    url = _decide(project, submission, "reject")
    for reason in ("", "   "):
        refused = client.post(url, {"reason": reason}, HTTP_HX_REQUEST="true")
        assert refused.status_code == 400
        assert "[invalid]" in refused.content.decode()
        assert 'role="alert"' in refused.content.decode()
        submission.refresh_from_db()
        assert submission.status == Submission.Status.REVIEW
        assert submission.decided_by is None
    done = client.post(url, {"reason": "Cats have whiskers."}, HTTP_HX_REQUEST="true")
    assert done.status_code == 200
    assert "Cats have whiskers." in done.content.decode()
    submission.refresh_from_db()
    assert submission.status == Submission.Status.REJECTED
    assert submission.decision_reason == "Cats have whiskers."
    assert submission.decided_by == project.owner
    assert earnings_summary(user=contributor).balance == before  # nothing paid


def test_a_decided_answer_is_refused_with_its_code(client) -> None:
    project = dashboard_project()
    client.force_login(project.owner)
    submission = in_review(project)[0]
    client.post(_decide(project, submission, "accept"), HTTP_HX_REQUEST="true")
    refused = client.post(
        _decide(project, submission, "reject"), {"reason": "no"}, HTTP_HX_REQUEST="true"
    )
    assert refused.status_code == 409
    assert "[submission_not_in_review]" in refused.content.decode()
    submission.refresh_from_db()
    assert submission.status == Submission.Status.ACCEPTED


def test_review_without_javascript_posts_and_redirects_with_a_message(client) -> None:
    project = dashboard_project()
    client.force_login(project.owner)
    first, second = in_review(project)[:2]
    page = client.get(_review(project)).content.decode()
    assert page.count('class="card review-item"') == 3
    assert f'action="{_decide(project, first, "accept")}"' in page
    response = client.post(_decide(project, first, "accept"), follow=True)
    assert response.redirect_chain == [(_review(project), 302)]
    assert "Accepted." in response.content.decode()
    response = client.post(_decide(project, second, "reject"), {"reason": ""}, follow=True)
    assert "[invalid]" in response.content.decode()
    second.refresh_from_db()
    assert second.status == Submission.Status.REVIEW
    assert client.get(_review(project)).content.decode().count('class="card review-item"') == 2


def test_publishing_and_closing_from_the_page(client) -> None:
    project = project_with_items(items=2, status=Project.Status.DRAFT, fund=False)
    client.force_login(project.owner)
    url = reverse("project-status", kwargs={"project_id": project.public_id})
    page = client.get(_page(project)).content.decode()
    assert 'name="action" value="publish"' in page
    assert "Nobody has answered yet." in page  # an empty project's page renders
    assert "No answered item has a final label yet." in page
    # The set-up steps, where their pages exist (the requester's pages add them).
    for name in ("project-upload", "project-fund"):
        try:
            step = reverse(name, kwargs={"project_id": project.public_id})
        except NoReverseMatch:
            continue
        assert f'href="{step}"' in page
    assert "[invalid]" in client.post(url, {"action": "delete"}, follow=True).content.decode()
    refused = client.post(url, {"action": "publish"}, follow=True)
    assert "[project_not_funded]" in refused.content.decode()
    project.refresh_from_db()
    assert project.status == Project.Status.DRAFT
    from tests.factories import escrow_fund

    escrow_fund(project)
    client.post(url, {"action": "publish"})
    project.refresh_from_db()
    assert project.status == Project.Status.ACTIVE
    page = client.get(_page(project)).content.decode()
    assert 'name="action" value="close"' in page
    assert 'hx-trigger="every 10s"' in page
    closed = client.post(url, {"action": "close"}, follow=True)
    assert "Closed and completed." in closed.content.decode()
    project.refresh_from_db()
    assert project.status == Project.Status.COMPLETED
    assert client.get(url).status_code == 405  # POST only


def test_untrusted_text_is_escaped() -> None:
    from django.test import Client

    xss = '<img src=x onerror="alert(1)">'
    project = dashboard_project(
        title=f"T{xss}", labels=(f"c{xss}", "dog", "bird"), usernames=(f"a{xss}"[:150], "b", "c")
    )
    client = Client()
    client.force_login(project.owner)
    for url in (_page(project), _review(project)):
        html = client.get(url).content.decode()
        assert "<img src=x" not in html
        assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in html


def test_the_page_takes_a_fixed_number_of_queries(client, django_assert_max_num_queries) -> None:
    """However many contributors, items and answers: the figures are counted by the
    database, not per row."""
    small = dashboard_project(title="small", usernames=("a1", "a2", "a3"))
    big = dashboard_project(
        title="big", usernames=("b1", "b2", "b3"), answers=[("cat", "dog", "cat")] * 12
    )
    client.force_login(small.owner)
    with django_assert_max_num_queries(25) as small_queries:
        assert client.get(_page(small)).status_code == 200
    client.force_login(big.owner)
    with django_assert_max_num_queries(25) as big_queries:
        assert client.get(_page(big)).status_code == 200
    assert len(big_queries.captured_queries) == len(small_queries.captured_queries)
    with django_assert_max_num_queries(12):
        client.get(
            reverse("project-dashboard-figures", kwargs={"project_id": big.public_id}),
            HTTP_HX_REQUEST="true",
        )
    with django_assert_max_num_queries(12) as review_queries:
        assert client.get(_review(big)).status_code == 200
    assert len(in_review(big)) == 12
    assert len(review_queries.captured_queries) <= 12


def test_a_contributor_of_the_project_cannot_decide_its_reviews_nor_close_it(client) -> None:
    """Having answered in a project gives no say over it: every requester endpoint is 404
    to anyone but the owner, for htmx and plain forms alike, and nothing changes."""
    project = dashboard_project()
    submission = in_review(project)[0]
    contributor = submission.assignment.contributor
    earned = earnings_summary(user=contributor).earned
    client.force_login(contributor)
    posts = [
        (_decide(project, submission, "accept"), {}),
        (_decide(project, submission, "reject"), {"reason": "mine now"}),
        (reverse("project-status", kwargs={"project_id": project.public_id}), {"action": "close"}),
    ]
    for url, data in posts:
        for headers in ({}, {"HTTP_HX_REQUEST": "true"}):
            assert client.post(url, data, **headers).status_code == 404
    submission.refresh_from_db()
    assert submission.status == Submission.Status.REVIEW
    assert Project.objects.get(pk=project.pk).status == project.status
    assert earnings_summary(user=contributor).earned == earned


def test_the_review_queue_names_the_smoothed_gold_accuracy_apart_from_the_leaderboards(client):
    """The leaderboard's gold accuracy is right / answered (3/3 = 100%); the score's
    part is the engine's estimate (3+1)/(3+2) = 0.80. Both on one requester's screens
    under one name would contradict each other: the estimate says what it is."""
    project = dashboard_project()
    submission = in_review(project)[0]
    parts = dict(submission.score_parts or {})
    parts["gold"] = {"answers": 3, "correct": 3, "accuracy": 0.8}
    Submission.objects.filter(pk=submission.pk).update(score_parts=parts)
    client.force_login(project.owner)
    html = _text(client.get(_review(project)).content.decode())
    assert "Estimated gold accuracy 0.80 (from 3 gold answers, counting one right" in html
    assert " Gold accuracy 0.80" not in html

"""The contributors' pages through Django's test client: the home page's cards, the
workbench (claim, submit, skip, the refusals), history and earnings, and withdrawals."""

import re
import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from labeling.models import Assignment, ContributorQuality, Item, Project, Submission
from labeling.services import queue
from labeling.services.queue import assignment_claim_next, assignment_submit
from payouts.models import Payout
from payouts.money import near_to_yocto
from payouts.near.keys import key_generate
from payouts.selectors import earnings_summary
from tests.conftest import near_account_prove
from tests.factories import (
    ItemFactory,
    UserFactory,
    earnings_give,
    escrow_fund,
    project_with_items,
)

pytestmark = pytest.mark.django_db

XSS = '<img src=x onerror="alert(1)"><script>alert(2)</script>'
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def contributor(client):
    user = UserFactory(username="ann")
    client.force_login(user)
    return user


def _project_of(*data, **kwargs):
    """A funded active project with items of these data."""
    project = project_with_items(items=0, fund=False, **kwargs)
    for value in data:
        ItemFactory(project=project, data=value)
    escrow_fund(project)
    return project


def _work(project) -> str:
    return f"/work/{project.public_id}/"


def _reserved(user, project) -> Assignment:
    return Assignment.objects.get(
        contributor=user, project=project, status=Assignment.Status.RESERVED
    )


def _answer(project, user, label, *, time_ms=None, status=None):
    assignment = assignment_claim_next(project=project, contributor=user)
    submission = assignment_submit(
        public_id=assignment.public_id, contributor=user, answer={"label": label},
        time_on_task_ms=time_ms,
    )  # fmt: skip
    if status:
        Submission.objects.filter(pk=submission.pk).update(status=status)
    return submission


# --- home ------------------------------------------------------------------------------


def test_home_lists_open_projects_as_cards_for_anyone(client) -> None:
    """Anonymous visitors see active projects only, each with its pay and a sign-in link
    that comes back to the project's workbench."""
    shown = project_with_items(items=4, title="Sentiment of reviews")
    project_with_items(items=1, title="A draft", status=Project.Status.DRAFT)
    project_with_items(items=1, title="A finished one", status=Project.Status.COMPLETED)
    page = client.get("/").content.decode()
    assert "Sentiment of reviews" in page
    assert "A draft" not in page
    assert "A finished one" not in page
    assert "0.05 NEAR" in page  # the contributor's reward, not reward + fee
    assert "new project" in page  # no timed answer yet
    assert "4 items" in page
    assert f'href="/signin/?next=/work/{shown.public_id}/"' in page
    assert "Start labeling" not in page


def test_home_shows_time_per_answer_work_left_and_the_viewers_standing(client, contributor):
    project = project_with_items(items=5, answers_per_item=1, title="Timed", min_reputation=0.7)
    for index, (seconds, status) in enumerate([(10, None), (20, "accepted"), (30, None)]):
        _answer(project, UserFactory(username=f"u{index}"), "cat", time_ms=seconds * 1000,
                status=status)  # fmt: skip
    # A rejected answer does not count towards the estimate.
    _answer(project, UserFactory(username="slow"), "cat", time_ms=900_000, status="rejected")
    paused = project_with_items(items=2, title="Paused here")
    ContributorQuality.objects.create(
        project=paused, contributor=contributor, paused_at=timezone.now(),
        pause_reason="Too many check items wrong.",
    )  # fmt: skip
    low = project_with_items(items=2, title="Strict", min_reputation=0.9)
    ContributorQuality.objects.create(project=low, contributor=contributor, reputation=0.5)

    page = client.get("/").content.decode()
    cards = {
        title: page[page.index(f"<h2>{title}</h2>") :].split("</li>")[0]
        for title in ("Timed", "Paused here", "Strict")
    }
    assert "about 20 s" in cards["Timed"]
    assert "1 item" in cards["Timed"]  # 5 items, 4 of them answered once (overlap 1)
    assert "0.70" in cards["Timed"]
    assert f'href="/work/{project.public_id}/"' in cards["Timed"]
    assert "Too many check items wrong." in cards["Paused here"]
    assert "Start labeling" not in cards["Paused here"]
    assert "Below the minimum" in cards["Strict"]
    assert "0.50" in cards["Strict"]


def _home_queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/").status_code == 200
    return len(queries)


def test_home_reads_a_fixed_number_of_queries_however_many_projects(
    client, contributor, django_assert_max_num_queries
) -> None:
    first = project_with_items(items=2, answers_per_item=1)
    _answer(first, UserFactory(), "cat", time_ms=5000)
    few = _home_queries(client)
    for _ in range(12):
        project = project_with_items(items=2, answers_per_item=1)
        _answer(project, UserFactory(), "dog", time_ms=7000)
        ContributorQuality.objects.create(project=project, contributor=contributor, reputation=0.8)
    assert _home_queries(client) == few
    # session, user, projects, work left, times, standing
    with django_assert_max_num_queries(6):
        client.get("/")


def test_home_keeps_titles_inert(client) -> None:
    project_with_items(items=1, title=f"Cats {XSS}")
    page = client.get("/").content.decode()
    assert "<script>alert(2)" not in page
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in page


# --- the workbench: access ----------------------------------------------------------------


def test_the_workbench_sends_anonymous_visitors_to_sign_in(client) -> None:
    project = project_with_items(items=1)
    response = client.get(_work(project))
    assert response.status_code == 302
    assert response["Location"] == f"/signin/?next=/work/{project.public_id}/"
    assert not Assignment.objects.exists()


def test_an_htmx_request_after_the_session_ended_sends_the_page_to_sign_in(client) -> None:
    """The workbench's submit and the earnings page's polling, signed out meanwhile: the
    whole page goes to the sign-in (HX-Redirect), not the sign-in into the fragment."""
    project = project_with_items(items=1)
    work = f"http://testserver{_work(project)}"
    submit = client.post(
        _work(project), {"action": "skip"}, HTTP_HX_REQUEST="true", HTTP_HX_CURRENT_URL=work
    )
    assert submit.status_code == 200
    assert submit["HX-Redirect"] == f"/signin/?next={_work(project)}"
    poll = client.get(
        "/me/payouts/", HTTP_HX_REQUEST="true", HTTP_HX_CURRENT_URL="http://testserver/me/?page=2"
    )
    assert poll["HX-Redirect"] == "/signin/?next=/me/%3Fpage%3D2"
    assert not Assignment.objects.exists()


@pytest.mark.parametrize(
    "current",
    ["https://evil.example/steal", "http://testserver//evil.example/x", "//evil.example/x",
     "http://testserver/\\evil.example", "javascript:alert(1)"],
)  # fmt: skip
def test_the_sign_in_redirect_of_an_htmx_request_stays_on_this_site(client, current) -> None:
    """HX-Current-URL is the client's word: a next= taken from it is this site's path."""
    response = client.get("/me/payouts/", HTTP_HX_REQUEST="true", HTTP_HX_CURRENT_URL=current)
    target = response["HX-Redirect"]
    assert target.startswith("/signin/?next=%2F") or target.startswith("/signin/?next=/")
    assert "evil" not in target
    assert "javascript" not in target


def test_another_requesters_draft_and_unknown_projects_are_404(client, contributor) -> None:
    draft = project_with_items(items=2, status=Project.Status.DRAFT)
    assert client.get(_work(draft)).status_code == 404
    assert client.post(_work(draft), {"action": "skip"}).status_code == 404
    assert client.get(f"/work/{uuid.uuid4()}/").status_code == 404
    assert not Assignment.objects.exists()


# --- the workbench: the item ----------------------------------------------------------------


def test_the_workbench_shows_the_item_the_instructions_the_labels_and_a_timer(
    client, contributor
) -> None:
    project = _project_of(
        {"text": "A purring thing", "source": "forum", "n": 3}, instructions="Pick the **animal**."
    )
    response = client.get(_work(project))
    page = response.content.decode()
    assert response.status_code == 200
    assignment = _reserved(contributor, project)
    assert '<p class="item-text">A purring thing</p>' in page
    assert "<dt>source</dt><dd>forum</dd>" in page
    assert "<dt>n</dt><dd>3</dd>" in page
    assert "Pick the <strong>animal</strong>." in page
    for number, label in enumerate(["cat", "dog", "bird"], start=1):
        assert f'value="{label}" data-key="{number}"' in page
    assert f'name="assignment" value="{assignment.public_id}"' in page
    expires = re.search(r'data-expires-at="([^"]+)"', page).group(1)
    assert expires == assignment.expires_at.isoformat()
    # Showing it again reserves nothing new.
    client.get(_work(project))
    assert Assignment.objects.filter(contributor=contributor).count() == 1


def test_untrusted_text_on_the_workbench_is_escaped(client, contributor) -> None:
    project = _project_of(
        {"text": f"D {XSS}", f"k {XSS}": f"v {XSS}"},
        title=f"T {XSS}", instructions=f"Hi {XSS} [x](javascript:alert(3))",
        label_config={"labels": [f"L {XSS}", "plain"]},
    )  # fmt: skip
    page = client.get(_work(project)).content.decode()
    assert "<script>alert(2)" not in page
    assert "<img src=x" not in page
    assert "javascript:" not in page
    assert page.count("&lt;script&gt;alert(2)&lt;/script&gt;") >= 4  # title, text, key, label


# --- the workbench: answering -----------------------------------------------------------


def test_a_plain_form_submit_records_the_answer_and_redirects_to_the_next_item(
    client, contributor
) -> None:
    project = project_with_items(items=3)
    client.get(_work(project))
    first = _reserved(contributor, project)
    response = client.post(
        _work(project),
        {"assignment": first.public_id, "action": "submit", "label": "dog",
         "time_on_task_ms": "4200"},
    )  # fmt: skip
    assert response.status_code == 302
    assert response["Location"] == _work(project)
    submission = Submission.objects.get(assignment=first)
    assert submission.answer == {"label": "dog"}
    assert submission.time_on_task_ms == 4200
    page = client.get(_work(project)).content.decode()
    second = _reserved(contributor, project)
    assert second.item_id != first.item_id
    assert second.item.data["text"] in page
    assert "1 answer this session" in page


def test_an_htmx_submit_answers_with_the_next_item_in_the_same_request(client, contributor) -> None:
    """One round trip: the answer is recorded and the next item reserved and returned."""
    project = project_with_items(items=3)
    client.get(_work(project))
    first = _reserved(contributor, project)
    response = client.post(
        _work(project), {"assignment": first.public_id, "action": "submit", "label": "cat"}, **HTMX
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in page
    assert page.lstrip().startswith('<section id="task"')
    second = _reserved(contributor, project)
    assert f'value="{second.public_id}"' in page
    assert second.item.data["text"] in page
    assert "1 answer this session" in page
    assert "up to 0.05 NEAR" in page
    assert Submission.objects.get(assignment=first).time_on_task_ms is None


def test_submitting_without_a_label_says_so_and_records_nothing(client, contributor) -> None:
    project = project_with_items(items=2)
    client.get(_work(project))
    assignment = _reserved(contributor, project)
    data = {"assignment": assignment.public_id, "action": "submit"}
    response = client.post(_work(project), data, **HTMX)
    assert response.status_code == 200
    assert "[answer_invalid]" in response.content.decode()
    assert f'value="{assignment.public_id}"' in response.content.decode()  # the same item
    followed = client.post(_work(project), {**data, "label": "zebra"}, follow=True)
    assert "[answer_invalid]" in followed.content.decode()
    assert "zebra" in followed.content.decode()
    assert not Submission.objects.exists()
    assert _reserved(contributor, project) == assignment  # still theirs


def test_skip_gives_the_item_back_and_shows_the_next(client, contributor) -> None:
    project = project_with_items(items=2)
    client.get(_work(project))
    first = _reserved(contributor, project)
    page = client.post(
        _work(project), {"assignment": first.public_id, "action": "skip"}, **HTMX
    ).content.decode()
    first.refresh_from_db()
    assert first.status == Assignment.Status.SKIPPED
    assert _reserved(contributor, project).item.data["text"] in page
    assert not Submission.objects.exists()
    assert "0 answers this session" in page


def test_the_empty_queue_is_said_plainly(client, contributor) -> None:
    project = project_with_items(items=1)
    client.get(_work(project))
    assignment = _reserved(contributor, project)
    page = client.post(
        _work(project), {"assignment": assignment.public_id, "action": "submit", "label": "cat"},
        **HTMX,
    ).content.decode()  # fmt: skip
    assert "Nothing left for you here" in page
    assert "data-workbench-form" not in page
    full = client.get(_work(project))
    assert full.status_code == 200
    assert "Nothing left for you here" in full.content.decode()


def test_an_expired_reservation_is_said_with_its_code_and_a_new_item_follows(
    client, contributor
) -> None:
    project = project_with_items(items=2)
    client.get(_work(project))
    first = _reserved(contributor, project)
    Assignment.objects.filter(pk=first.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    page = client.post(
        _work(project), {"assignment": first.public_id, "action": "submit", "label": "cat"}, **HTMX
    ).content.decode()
    assert "[assignment_expired]" in page
    first.refresh_from_db()
    assert first.status == Assignment.Status.EXPIRED
    assert not Submission.objects.exists()
    assert f'value="{_reserved(contributor, project).public_id}"' in page
    # Without htmx: the same message after the redirect.
    second = _reserved(contributor, project)
    Assignment.objects.filter(pk=second.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    followed = client.post(
        _work(project), {"assignment": second.public_id, "action": "skip"}, follow=True
    )
    assert "[assignment_expired]" in followed.content.decode()


def test_a_paused_contributor_is_told_why(client, contributor) -> None:
    project = project_with_items(items=2)
    ContributorQuality.objects.create(
        project=project, contributor=contributor, paused_at=timezone.now(),
        pause_reason="Accuracy on check items below 0.6.",
    )  # fmt: skip
    response = client.get(_work(project))
    page = response.content.decode()
    assert response.status_code == 403
    assert "Accuracy on check items below 0.6." in page
    assert "[contributor_paused]" in page
    assert "data-workbench-form" not in page
    assert not Assignment.objects.exists()


def test_a_project_not_taking_answers_says_so(client, contributor) -> None:
    project = project_with_items(items=2, status=Project.Status.PAUSED)
    response = client.get(_work(project))
    assert response.status_code == 409
    assert "[project_not_active]" in response.content.decode()
    htmx = client.get(_work(project), **HTMX)
    assert htmx.status_code == 200
    assert "[project_not_active]" in htmx.content.decode()
    assert not Assignment.objects.exists()


def test_someone_elses_assignment_cannot_be_answered_from_the_page(client, contributor) -> None:
    project = project_with_items(items=2)
    other = UserFactory()
    theirs = assignment_claim_next(project=project, contributor=other)
    page = client.post(
        _work(project), {"assignment": theirs.public_id, "action": "submit", "label": "cat"}, **HTMX
    ).content.decode()
    assert "[assignment_not_found]" in page
    assert not Submission.objects.exists()


def test_an_assignment_is_answered_only_on_its_own_projects_page(client, contributor) -> None:
    """A reservation of project A posted to project B's workbench is refused as unknown
    there: nothing is recorded, skipped, or counted in B's session, and A's reservation
    stays as it was."""
    first = project_with_items(items=2, title="First")
    second = project_with_items(items=2, title="Second")
    client.get(_work(first))
    client.get(_work(second))
    theirs = _reserved(contributor, first)
    for action in ("submit", "skip"):
        data = {"assignment": theirs.public_id, "action": action, "label": "cat"}
        page = client.post(_work(second), data, **HTMX).content.decode()
        assert "[assignment_not_found]" in page
        assert "0 answers this session" in page
        followed = client.post(_work(second), data, follow=True).content.decode()
        assert "[assignment_not_found]" in followed
    assert not Submission.objects.exists()
    assert _reserved(contributor, first) == theirs


# --- gold --------------------------------------------------------------------------------


@pytest.fixture
def gold_first(monkeypatch):
    """Claims take a gold item whenever one is due, and one is due at once (rate 0.5)."""
    monkeypatch.setattr(queue._random, "random", lambda: 0.99)


def _gold_project(**kwargs):
    project = project_with_items(items=4, gold_rate=0.5, **kwargs)
    gold = Item.objects.filter(project=project).order_by("pk").first()
    Item.objects.filter(pk=gold.pk).update(is_gold=True, gold_answer={"label": "bird"})
    return project, gold


def _normalised(page: str, assignment: Assignment) -> str:
    """The page's main part without what differs between any two items: ids, text, times,
    tokens."""
    page = page[page.index('<main id="main">') : page.index("</main>")]
    page = page.replace(str(assignment.public_id), "ID").replace(assignment.item.data["text"], "T")
    page = re.sub(r'(data-expires-at|data-now|value)="[^"]*"', r'\1=""', page)
    return re.sub(r"until \d\d:\d\d \w+", "until", page)


def test_a_gold_item_looks_like_any_other_item_until_it_is_answered(
    client, contributor, gold_first
) -> None:
    """The workbench HTML of a gold item is the HTML of an ordinary one: nothing in it
    says gold or picks the known answer."""
    project, gold = _gold_project()
    gold_page = client.get(_work(project)).content.decode()
    gold_assignment = _reserved(contributor, project)
    assert gold_assignment.item_id == gold.pk
    assert "gold" not in gold_page.lower()
    assert "checked" not in gold_page
    other = UserFactory()
    client.force_login(other)
    Item.objects.filter(pk=gold.pk).update(is_gold=False, gold_answer=None)
    Assignment.objects.filter(item=gold).update(status=Assignment.Status.SKIPPED)
    Project.objects.filter(pk=project.pk).update(gold_rate=0)
    plain_page = client.get(_work(project)).content.decode()
    plain_assignment = _reserved(other, project)
    assert _normalised(gold_page, gold_assignment) == _normalised(plain_page, plain_assignment)


def test_gold_feedback_follows_the_answer_where_the_project_shows_it(
    client, contributor, gold_first
) -> None:
    project, gold = _gold_project()
    client.get(_work(project))
    assignment = _reserved(contributor, project)
    assert assignment.item_id == gold.pk
    page = client.post(
        _work(project), {"assignment": assignment.public_id, "action": "submit", "label": "cat"},
        **HTMX,
    ).content.decode()  # fmt: skip
    assert "Not quite: this was a check item, and its answer is bird." in page
    assert "data-feedback" in page


def test_no_gold_feedback_where_the_project_hides_it(client, contributor, gold_first) -> None:
    project, gold = _gold_project(show_gold_feedback=False)
    client.get(_work(project))
    assignment = _reserved(contributor, project)
    assert assignment.item_id == gold.pk
    response = client.post(
        _work(project), {"assignment": assignment.public_id, "action": "submit", "label": "bird"},
        follow=True,
    )  # fmt: skip
    page = response.content.decode()
    assert "check item" not in page
    assert "data-feedback" not in page


# --- history and earnings ------------------------------------------------------------------


def test_the_earnings_page_sends_anonymous_visitors_to_sign_in(client) -> None:
    for path in ("/me/", "/me/payouts/"):
        response = client.get(path)
        assert response.status_code == 302
        assert response["Location"] == f"/signin/?next={path}"
    response = client.post("/me/withdraw/", {"amount": "1", "idempotency_key": "k"})
    assert response.status_code == 302
    assert not Payout.objects.exists()


def test_the_earnings_page_shows_money_answers_and_quality(client, contributor, settings):
    settings.AUTO_PAYOUT_NEAR = ""
    project = project_with_items(items=4, title="Birds", answers_per_item=1)
    _answer(project, contributor, "cat", status=Submission.Status.ACCEPTED)
    rejected = _answer(project, contributor, "dog", status=Submission.Status.REJECTED)
    Submission.objects.filter(pk=rejected.pk).update(
        decision_reason="Most others said bird.", score=0.12
    )
    _answer(project, contributor, "bird")  # pending
    earnings_give(contributor, near_to_yocto("0.05"))
    ContributorQuality.objects.create(project=project, contributor=contributor, reputation=0.83)
    page = client.get("/me/").content.decode()
    assert re.search(r"data-balance>0.05 NEAR<", page)
    assert re.search(r"data-earned>0.05 NEAR<", page)
    assert "1 answer accepted" in page
    assert "1 answer waiting for a decision" in page
    assert "Most others said bird." in page
    assert "0.12" in page
    assert "0.83" in page
    assert page.count("data-submission") == 3
    assert 'name="amount" id="id_amount" value="0.05"' in page  # the whole balance
    assert "Link a NEAR account" in page
    assert 'href="/account/"' in page


def test_the_quality_figures_say_they_are_as_of_the_last_rating(client, contributor, settings):
    """Two answers accepted while the engine's last rating counted none: the page does not
    put "Answers 0" beside "2 answers accepted" unexplained. It says which answers it
    counts (rated ones, as of the last rating), and says "not rated yet" with no rating."""
    settings.AUTO_PAYOUT_NEAR = ""
    project = project_with_items(items=4, answers_per_item=1, title="Birds")
    _answer(project, contributor, "cat", status=Submission.Status.ACCEPTED)
    _answer(project, contributor, "dog", status=Submission.Status.ACCEPTED)
    page = client.get("/me/").content.decode()
    assert "2 answers accepted" in page
    assert "Not rated yet" in page
    assert "<dt>Answers</dt>" not in page
    ContributorQuality.objects.create(project=project, contributor=contributor, reputation=0.8)
    page = client.get("/me/").content.decode()
    assert "<dt>Answers</dt>" not in page
    assert re.search(r"<dt>Answers rated</dt><dd data-answers-rated>0</dd>", page)
    assert "last rating" in page


def test_gold_counts_stay_hidden_where_the_project_hides_gold(client, contributor) -> None:
    """How many of one's answers were to check items would tell, answer after answer,
    which items are gold: the page shows it only for projects that reveal gold."""
    hiding = project_with_items(items=1, show_gold_feedback=False, title="Hiding")
    showing = project_with_items(items=1, title="Showing")
    ContributorQuality.objects.create(
        project=hiding, contributor=contributor, answers=9, gold_answers=3, gold_correct=1
    )
    page = client.get("/me/").content.decode()
    assert "Check items right" not in page
    assert "1 / 3" not in page
    ContributorQuality.objects.create(
        project=showing, contributor=contributor, answers=4, gold_answers=2, gold_correct=2
    )
    page = client.get("/me/").content.decode()
    assert "<dt>Check items right</dt><dd>2 / 2</dd>" in page
    assert re.search(r"<dd data-answers-rated>13</dd>", page)


def test_a_gold_answers_score_stays_hidden_where_the_project_hides_gold(
    client, contributor, gold_first
) -> None:
    project, gold = _gold_project(show_gold_feedback=False)
    submission = _answer(project, contributor, "cat")
    assert submission.assignment.item_id == gold.pk
    Submission.objects.filter(pk=submission.pk).update(
        status=Submission.Status.REJECTED, score=0.0777
    )
    page = client.get("/me/").content.decode()
    assert "Rejected" in page
    assert "0.08" not in page
    assert '<td class="num">\u2013</td>' in page  # an en dash: no score


def test_answers_are_paginated(client, contributor) -> None:
    project = project_with_items(items=30, answers_per_item=1)
    for _ in range(30):
        _answer(project, contributor, "cat")
    first = client.get("/me/").content.decode()
    assert first.count("data-submission") == 25
    assert 'href="?page=2"' in first
    second = client.get("/me/?page=2").content.decode()
    assert second.count("data-submission") == 5
    assert 'href="?page=1"' in second
    assert "?page=3" not in second
    assert client.get("/me/?page=abc").status_code == 200


def _me_queries(client, path: str = "/me/") -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(path).status_code == 200
    return len(queries)


def test_the_earnings_page_reads_a_fixed_number_of_queries(client, contributor) -> None:
    """However many answers, projects, standings and payouts: no query per row, and the
    lists are bounded (a page of answers, the latest payouts)."""
    first = project_with_items(items=2, answers_per_item=1)
    _answer(first, contributor, "cat")
    ContributorQuality.objects.create(project=first, contributor=contributor, reputation=0.8)
    Payout.objects.create(user=contributor, receiver_id="ann.near", amount=1, status="confirmed")
    few = _me_queries(client)
    for n in range(6):
        project = project_with_items(items=5, answers_per_item=1, title=f"P{n}")
        for _ in range(5):
            _answer(project, contributor, "dog")
        ContributorQuality.objects.create(project=project, contributor=contributor, answers=5)
    for n in range(60):
        Payout.objects.create(
            user=contributor, receiver_id="ann.near", amount=n + 1, status="confirmed"
        )
    assert _me_queries(client) == few
    assert _me_queries(client, "/me/?page=2") == few
    page = client.get("/me/payouts/").content.decode()
    assert page.count("data-payout ") == 50  # the latest 50, not every payout ever


def test_payouts_show_their_state_and_transaction(client, contributor, settings) -> None:
    settings.NEAR_EXPLORER_TX_URL = "https://explorer.example/txns/"
    Payout.objects.create(
        user=contributor, receiver_id="ann.near", amount=near_to_yocto("1"),
        status=Payout.Status.CONFIRMED, tx_hash="HASH1",
    )  # fmt: skip
    page = client.get("/me/payouts/").content.decode()
    assert 'href="https://explorer.example/txns/HASH1"' in page
    assert "Paid" in page
    assert "hx-trigger" not in page  # every payout final: no polling
    settings.NEAR_EXPLORER_TX_URL = ""
    Payout.objects.create(
        user=contributor, receiver_id="ann.near", amount=near_to_yocto("2"),
        status=Payout.Status.SUBMITTED, tx_hash="HASH2",
    )  # fmt: skip
    page = client.get("/me/").content.decode()
    assert '<code class="tx-hash">HASH2</code>' in page
    assert "explorer.example" not in page
    assert 'hx-get="/me/payouts/" hx-trigger="every 3s"' in page
    other = UserFactory()
    Payout.objects.create(user=other, receiver_id="bob.near", amount=1, status="pending")
    assert "bob.near" not in client.get("/me/payouts/").content.decode()


@pytest.fixture
def earner(client, settings):
    """3 NEAR of earnings and a proven NEAR account; no automatic payouts."""
    settings.AUTO_PAYOUT_NEAR = ""
    user = UserFactory(username="earner")
    near_account_prove(user, key_generate())
    earnings_give(user, near_to_yocto("3"))
    client.force_login(user)
    return user


def test_a_withdrawal_posted_twice_with_its_key_pays_once(client, chain, earner) -> None:
    page = client.get("/me/").content.decode()
    key = re.search(r'name="idempotency_key" value="([^"]+)"', page).group(1)
    assert 'value="3"' in page  # the whole balance by default
    data = {"amount": "1", "idempotency_key": key}
    first = client.post("/me/withdraw/", data, follow=True)
    assert "Withdrawal of 1 NEAR" in first.content.decode()
    again = client.post("/me/withdraw/", data, follow=True)
    assert "already requested" in again.content.decode()
    assert Payout.objects.filter(user=earner).count() == 1
    assert earnings_summary(user=earner).balance == near_to_yocto("2")
    assert 'data-payout data-status="' in again.content.decode()
    # The same key for another amount is refused with its code.
    other = client.post("/me/withdraw/", {**data, "amount": "2"}, follow=True)
    assert "[idempotency_key_reused]" in other.content.decode()
    assert Payout.objects.filter(user=earner).count() == 1


def test_withdrawal_refusals_are_shown_with_their_codes(client, earner) -> None:
    below = client.post(
        "/me/withdraw/", {"amount": "0.001", "idempotency_key": "a"}, follow=True
    ).content.decode()
    assert "[payout_below_minimum]" in below
    too_much = client.post(
        "/me/withdraw/", {"amount": "5", "idempotency_key": "b"}, follow=True
    ).content.decode()
    assert "[insufficient_funds]" in too_much
    bad = client.post("/me/withdraw/", {"amount": "1e3", "idempotency_key": "c"})
    assert bad.status_code == 400
    assert "[amount_invalid]" in bad.content.decode()
    assert not Payout.objects.exists()
    assert earnings_summary(user=earner).balance == near_to_yocto("3")


@pytest.mark.parametrize("key", [None, "", "k" * 300, "a\x00b"])
def test_a_withdrawal_form_without_its_key_says_so_with_a_code(client, earner, key) -> None:
    """The hidden once-only key missing or mangled: the page says the form came back
    incomplete, with a code, and the amount typed stays; nothing is withdrawn."""
    data = {"amount": "1.5"} if key is None else {"amount": "1.5", "idempotency_key": key}
    response = client.post("/me/withdraw/", data)
    page = response.content.decode()
    assert response.status_code == 400
    assert "The form came back incomplete" in page
    assert re.search(r"\[(required|max_length|null_characters_not_allowed)\]", page)
    assert 'value="1.5"' in page
    # A fresh key for the next submit, not the mangled one sent back.
    uuid.UUID(re.search(r'name="idempotency_key" value="([^"]+)"', page).group(1))
    assert not Payout.objects.exists()


def test_withdrawing_without_a_near_account_points_to_the_account_page(client, settings):
    settings.AUTO_PAYOUT_NEAR = ""
    user = UserFactory()
    earnings_give(user, near_to_yocto("1"))
    client.force_login(user)
    page = client.post(
        "/me/withdraw/", {"amount": "1", "idempotency_key": "k"}, follow=True
    ).content.decode()
    assert "[near_account_missing]" in page
    assert 'href="/account/"' in page
    assert not Payout.objects.exists()

"""The requester's pages: their projects, and the wizard that creates one with the API's
own rules (each bad field refused next to it, nothing created) and a sanitised preview."""

import html
import re

import pytest

from labeling.markdown import MAX_SOURCE
from labeling.models import Project
from labeling.task_types import REGISTRY
from payouts.money import near_to_yocto
from tests.factories import ItemFactory, ProjectFactory, UserFactory, escrow_fund

pytestmark = pytest.mark.django_db

XSS = '<img src=x onerror="alert(1)"><script>alert(2)</script>'

GOOD = {
    "task_type": "classification",
    "labels": "positive\nnegative\n  neutral  \n\n",
    "title": "Review sentiment",
    "instructions": "Is the review **positive**?",
    "reward_per_answer": "0.05",
    "answers_per_item": "5",
    "min_answers_per_item": "2",
    "target_confidence": "0.9",
    "gold_rate": "0.2",
    "show_gold_feedback": "on",
    "accept_threshold": "0.6",
    "reject_threshold": "0.3",
    "min_reputation": "0.4",
    "reservation_seconds": "900",
}


@pytest.fixture
def signed_in(client, requester):
    client.force_login(requester)
    return client


def field_errors(page: str, field: str) -> str:
    """The text of the error list Django renders next to the field (id_<field>_error)."""
    match = re.search(rf'<ul class="errorlist" id="id_{field}_error">(.*?)</ul>', page, re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", match.group(1))) if match else ""


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/projects/"),
        ("get", "/projects/new/"),
        ("post", "/projects/new/"),
        ("post", "/projects/preview-instructions/"),
    ],
)
def test_anonymous_visitors_are_sent_to_sign_in(client, method, path) -> None:
    response = getattr(client, method)(path)
    assert response.status_code == 302
    assert response["Location"] == f"/signin/?next={path}"
    assert not Project.objects.exists()


def test_my_projects_lists_mine_only_with_state_progress_and_escrow(signed_in, requester) -> None:
    draft = ProjectFactory(owner=requester, title=f"Cats {XSS}", status="draft")
    ItemFactory.create_batch(2, project=draft)
    active = ProjectFactory(owner=requester, title="Dogs", status="active")
    ItemFactory.create_batch(3, project=active)
    escrow_fund(active)
    ProjectFactory(title="Somebody else's")
    response = signed_in.get("/projects/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Somebody else" not in page
    assert "Cats &lt;img src=x onerror=&quot;alert(1)&quot;&gt;&lt;script&gt;" in page
    assert "<script>alert" not in page
    assert f'href="/projects/{draft.public_id}/"' in page
    assert f'href="/projects/{draft.public_id}/items/"' in page
    assert f'href="/projects/{draft.public_id}/fund/"' in page
    assert 'href="/projects/new/"' in page
    rows = re.findall(r"<tr>(.*?)</tr>", page, re.S)[1:]
    dogs, cats = rows  # newest first
    assert "Dogs" in dogs
    assert "funded" in dogs
    assert f"{active.items.count() * 3 * active.cost_per_answer / 10**24:g} NEAR" in dogs
    # The draft needs 2 items x 3 answers x (0.05 + 10 % fee) = 0.33 NEAR.
    assert "needs 0.33 more" in cats
    assert "Draft" in cats


def test_my_projects_without_any_invites_to_create_one(signed_in) -> None:
    page = signed_in.get("/projects/").content.decode()
    assert "You have no projects yet" in page
    assert "<table" not in page


def test_the_wizard_offers_every_registered_task_type_and_the_api_defaults(signed_in) -> None:
    page = signed_in.get("/projects/new/").content.decode()
    for name, task_type in REGISTRY.items():
        assert f'value="{name}"' in page
        assert task_type.label in page
    assert re.search(r'name="answers_per_item" value="3"[^>]*min="1"[^>]*max="50"', page)
    assert re.search(r'name="gold_rate" value="0.1"', page)
    assert 'hx-post="/projects/preview-instructions/"' in page
    assert 'hx-trigger="input changed delay:400ms"' in page
    assert "<details" in page
    assert '<details class="advanced" open' not in page


def test_a_good_project_is_created_with_its_amounts_in_yocto(signed_in, requester) -> None:
    response = signed_in.post("/projects/new/", GOOD)
    project = Project.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/projects/{project.public_id}/items/"
    assert project.owner == requester
    assert project.status == Project.Status.DRAFT
    assert project.title == "Review sentiment"
    assert project.label_config == {"labels": ["positive", "negative", "neutral"]}
    assert project.reward_per_answer == near_to_yocto("0.05") == 5 * 10**22
    assert project.answers_per_item == 5
    assert project.min_answers_per_item == 2
    assert project.target_confidence == 0.9
    assert project.gold_rate == 0.2
    assert project.show_gold_feedback is True
    assert (project.accept_threshold, project.reject_threshold) == (0.6, 0.3)
    assert project.min_reputation == 0.4
    assert project.reservation_seconds == 900
    assert project.instructions == "Is the review **positive**?"


def test_blank_minimum_means_a_fixed_overlap_and_unchecked_means_no_feedback(signed_in) -> None:
    body = {**GOOD, "min_answers_per_item": ""}
    del body["show_gold_feedback"]
    assert signed_in.post("/projects/new/", body).status_code == 302
    project = Project.objects.get()
    assert project.min_answers_per_item == project.answers_per_item == 5
    assert project.show_gold_feedback is False


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("title", "", "This field is required."),
        ("title", "x" * 201, "no more than 200 characters"),
        ("labels", "only-one", "2 to 200 labels. [label_config_invalid]"),
        ("labels", "cat\ndog\ncat", "Labels must be distinct. [label_config_invalid]"),
        ("labels", "cat\n" + "d" * 101, "at most 100 characters. [label_config_invalid]"),
        ("task_type", "transcription", "Select a valid choice."),
        ("reward_per_answer", "abc", "Not a NEAR amount"),
        ("reward_per_answer", "0", "more than zero"),
        ("reward_per_answer", "-1", "Not a NEAR amount"),
        ("reward_per_answer", "0.1234567890123456789012345", "Not a NEAR amount"),
        ("answers_per_item", "0", "greater than or equal to 1"),
        ("answers_per_item", "51", "less than or equal to 50"),
        ("answers_per_item", "two", "Enter a whole number."),
        ("min_answers_per_item", "0", "greater than or equal to 1"),
        ("target_confidence", "0.4", "greater than or equal to 0.5"),
        ("gold_rate", "0.6", "less than or equal to 0.5"),
        ("accept_threshold", "1.5", "less than or equal to 1"),
        ("reject_threshold", "-0.1", "greater than or equal to 0"),
        ("min_reputation", "2", "less than or equal to 1"),
        ("reservation_seconds", "10", "greater than or equal to 30"),
        ("instructions", "x" * (MAX_SOURCE + 1), "at most 50000 characters"),
    ],
)
def test_each_bad_field_is_refused_next_to_it_and_nothing_is_created(
    signed_in, field, value, error
) -> None:
    response = signed_in.post("/projects/new/", {**GOOD, field: value})
    assert response.status_code == 200
    page = response.content.decode()
    assert error in field_errors(page, field), field_errors(page, field) or page
    assert 'aria-invalid="true"' in page
    assert "The project was not created" in page
    assert not Project.objects.exists()


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"min_answers_per_item": "6"}, "min_answers_per_item must be between 1 and"),
        ({"accept_threshold": "0.2", "reject_threshold": "0.5"}, "reject_threshold <= accept"),
    ],
)
def test_settings_that_contradict_are_refused_with_their_code(signed_in, changes, error) -> None:
    """A domain refusal (project_create) is shown with its code, the quality settings
    open so the fields are in view, and nothing is created."""
    response = signed_in.post("/projects/new/", {**GOOD, **changes})
    page = html.unescape(response.content.decode())
    assert response.status_code == 200
    assert error in page
    assert "[project_settings_invalid]" in page
    assert '<details class="advanced" open>' in page
    assert not Project.objects.exists()


def test_a_refused_form_keeps_what_was_typed_and_previews_it_sanitised(signed_in) -> None:
    body = {**GOOD, "title": "", "instructions": f"**Kept** {XSS}", "labels": f"a\n{XSS}"}
    page = signed_in.post("/projects/new/", body).content.decode()
    assert "<strong>Kept</strong>" in page
    assert "onerror" not in page.split('id="instructions-preview"')[1].split("</section>")[0]
    assert "<script>alert(2)" not in page
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in page  # the labels, as typed


def test_the_preview_renders_markdown_and_strips_scripts_links_and_handlers(signed_in) -> None:
    source = (
        "# Title\n\n**bold** and [a link](https://example.org)\n\n"
        "<script>alert(1)</script>\n\n[click](javascript:alert(2))\n\n"
        '<img src=x onerror="alert(3)">\n\n<a href="#" onclick="alert(4)">x</a>'
    )
    response = signed_in.post("/projects/preview-instructions/", {"instructions": source})
    assert response.status_code == 200
    fragment = response.content.decode()
    assert "<h1>Title</h1>" in fragment
    assert "<strong>bold</strong>" in fragment
    assert 'href="https://example.org"' in fragment
    for bad in ("<script", "javascript:", "onerror", "onclick", "<img"):
        assert bad not in fragment, bad
    assert "<html" not in fragment  # a fragment, not a page


def test_the_preview_of_nothing_says_where_it_will_appear(signed_in) -> None:
    fragment = signed_in.post("/projects/preview-instructions/", {}).content.decode()
    assert "appear here" in fragment


def test_the_preview_is_post_only(signed_in) -> None:
    assert signed_in.get("/projects/preview-instructions/").status_code == 405


def test_another_users_session_sees_none_of_mine(client, requester) -> None:
    ProjectFactory(owner=requester, title="Mine", status="draft")
    client.force_login(UserFactory())
    assert "Mine" not in client.get("/projects/").content.decode()


def test_many_projects_are_paged(signed_in, requester) -> None:
    ProjectFactory.create_batch(21, owner=requester, status="draft")
    first = signed_in.get("/projects/").content.decode()
    assert first.count('<progress max="1"') == 20
    assert "Page 1 of 2" in first
    second = signed_in.get("/projects/?page=2").content.decode()
    assert second.count('<progress max="1"') == 1


def test_the_task_types_are_named_in_the_pages_language() -> None:
    """The wizard's task-type choices are marked for translation (lazy), not the
    registry's English."""
    from django.utils.functional import Promise

    from labeling.views.requester import ProjectForm

    labels = [label for _, label in ProjectForm().fields["task_type"].choices]
    assert labels
    assert all(isinstance(label, Promise) for label in labels)

"""Requesters' pages: their projects, and the wizard that creates one.

The wizard is refused by the API's own rules: its form only reads text as the JSON
types the API takes (a number, a list of labels), then ProjectCreateSerializer checks
the bounds and project_create the rest, exactly as for POST /api/projects/. A field's
error is shown next to it; a domain refusal with its code. The set-up steps that
follow (upload, fund, publish) live in marketplace.views.
"""

from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods, require_POST
from rest_framework.fields import empty

from config.errors import ApplicationError
from config.users import User
from labeling import selectors
from labeling.api.serializers import ProjectCreateSerializer
from labeling.markdown import MAX_SOURCE, markdown_safe
from labeling.models import Project
from labeling.services.projects import project_create
from labeling.task_types import ConfigInvalidError, task_type_choices
from labeling.views.access import signed_in_user
from payouts.money import yocto_to_near

PROJECTS_PER_PAGE = 20

# The words the pages use for a project's state (the model's choices are not translated).
STATUS_NAMES = {
    Project.Status.DRAFT: _("Draft"),
    Project.Status.ACTIVE: _("Open"),
    Project.Status.PAUSED: _("Paused"),
    Project.Status.COMPLETED: _("Completed"),
}
STATUS_BADGES = {
    Project.Status.DRAFT: "badge-warn",
    Project.Status.ACTIVE: "badge-good",
    Project.Status.PAUSED: "",
    Project.Status.COMPLETED: "",
}


def status_context(project: Project) -> dict[str, str]:
    return {
        "status_name": str(STATUS_NAMES.get(Project.Status(project.status), project.status)),
        "status_badge": STATUS_BADGES.get(Project.Status(project.status), ""),
    }


# The task types' names as people read them (the registry's labels are not translated);
# a type missing here shows its registry label.
TASK_TYPE_NAMES = {"classification": _("Classification")}


def task_type_options() -> list[tuple[str, Any]]:
    """The wizard's task-type choices, named in the page's language."""
    return [(name, TASK_TYPE_NAMES.get(name, label)) for name, label in task_type_choices()]


@dataclass(frozen=True)
class ProjectRow:
    project: Project
    status_name: str
    status_badge: str
    items: int
    items_resolved: int
    escrow_near: str
    shortfall_near: str  # "0" once the escrow covers every answer still to pay
    funded: bool


@login_required
def projects(request: HttpRequest) -> HttpResponse:
    """The user's projects, newest first, with their state, progress and escrow."""
    owned = Project.objects.filter(owner=signed_in_user(request)).order_by("-created_at", "-pk")
    page = Paginator(owned, PROJECTS_PER_PAGE).get_page(request.GET.get("page"))
    rows = []
    # The same selectors as the API's project detail, per project on the page (a page is
    # at most PROJECTS_PER_PAGE): one formula for what a project needs, wherever shown.
    for project in page:
        funding = selectors.project_funding(project=project)
        progress = selectors.project_progress(project=project)
        rows.append(
            ProjectRow(
                project=project,
                **status_context(project),
                items=progress["items_total"],
                items_resolved=progress["items_resolved"],
                escrow_near=yocto_to_near(funding.escrow),
                shortfall_near=yocto_to_near(funding.shortfall),
                funded=funding.items > 0 and funding.shortfall == 0,
            )
        )
    return render(request, "labeling/requester/projects.html", {"page": page, "rows": rows})


class ProjectForm(forms.Form):
    """The wizard's fields. The form reads text as the JSON types the API takes; the
    API's serializer (bounds) and project_create (the rest) decide what is valid. Bounds
    and defaults are copied from the serializer onto the inputs, so the browser's own
    checks say the same."""

    task_type = forms.ChoiceField(
        label=_("Task type"), choices=task_type_options, widget=forms.RadioSelect
    )
    labels = forms.CharField(
        label=_("Labels"),
        widget=forms.Textarea(attrs={"rows": 5, "spellcheck": "false"}),
        help_text=_("One label per line, in the order contributors see them (2 to 200)."),
    )
    title = forms.CharField(label=_("Title"))
    # markdown_safe renders at most MAX_SOURCE characters: longer is refused here.
    instructions = forms.CharField(
        label=_("Instructions"),
        required=False,
        max_length=MAX_SOURCE,
        widget=forms.Textarea(attrs={"rows": 10}),
        help_text=_(
            "Markdown: **bold**, *italic*, lists, tables, links. Contributors see them "
            "beside every item."
        ),
    )
    reward_per_answer = forms.CharField(
        label=_("Reward per accepted answer, in NEAR"),
        max_length=64,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
        help_text=_('A decimal number such as "0.05". The platform fee is added on top.'),
    )
    answers_per_item = forms.IntegerField(
        label=_("Answers per item"),
        help_text=_("The most answers an item collects; the escrow is reserved for them."),
    )
    min_answers_per_item = forms.IntegerField(
        label=_("Minimum answers per item"),
        required=False,
        help_text=_(
            "Blank: always the number above. Fewer: further answers are asked only until "
            "the target confidence is reached."
        ),
    )
    target_confidence = forms.FloatField(
        label=_("Target confidence"),
        help_text=_("0.5 to 1: how sure the leading label must be to stop asking."),
    )
    gold_rate = forms.FloatField(
        label=_("Gold rate"),
        help_text=_("0 to 0.5: the share of each contributor's items that are gold (known)."),
    )
    show_gold_feedback = forms.BooleanField(
        label=_("Show the right answer after a gold item"), required=False
    )
    accept_threshold = forms.FloatField(
        label=_("Accept at score"),
        help_text=_("0 to 1: answers scoring at least this are accepted and paid."),
    )
    reject_threshold = forms.FloatField(
        label=_("Reject below score"),
        help_text=_("0 to 1, at most the accept score; between the two you review."),
    )
    min_reputation = forms.FloatField(
        label=_("Minimum reputation"),
        help_text=_("0 to 1: contributors below it (after enough gold) are paused."),
    )
    reservation_seconds = forms.IntegerField(
        label=_("Seconds to answer an item"),
        help_text=_("How long an item stays reserved for the contributor who took it."),
    )

    ADVANCED = (
        "min_answers_per_item",
        "target_confidence",
        "gold_rate",
        "show_gold_feedback",
        "accept_threshold",
        "reject_threshold",
        "min_reputation",
        "reservation_seconds",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        rules = ProjectCreateSerializer().fields
        for name, field in self.fields.items():
            rule = rules.get(name)
            if rule is None:
                continue
            for source, attr in (("min_value", "min"), ("max_value", "max")):
                if getattr(rule, source, None) is not None:
                    field.widget.attrs[attr] = getattr(rule, source)
            max_length = getattr(rule, "max_length", None)
            if max_length:
                field.widget.attrs["maxlength"] = max_length
            if rule.default is not empty:
                field.initial = rule.default
        choices = task_type_choices()
        if len(choices) == 1:
            self.fields["task_type"].initial = choices[0][0]
        self.fields["instructions"].widget.attrs.update(
            {
                "hx-post": reverse("project-instructions-preview"),
                # `input` rather than `keyup`: a paste or a dictation updates it too.
                "hx-trigger": "input changed delay:400ms",
                "hx-target": "#instructions-preview",
                "hx-swap": "innerHTML",
            }
        )

    def advanced_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.ADVANCED]

    def advanced_errors(self) -> bool:
        return any(self[name].errors for name in self.ADVANCED)

    def api_body(self) -> dict[str, Any]:
        """The cleaned fields as the body of POST /api/projects/."""
        body = dict(self.cleaned_data)
        labels = body.pop("labels")
        body["label_config"] = [line.strip() for line in labels.splitlines() if line.strip()]
        if body.get("min_answers_per_item") is None:
            body.pop("min_answers_per_item", None)
        return body


# The API's field names where the form's differ.
_FORM_FIELD = {"label_config": "labels"}


def _project_from_form(form: ProjectForm, owner: User) -> Project | None:
    """Create the project from a bound form, or None with the refusals added to it."""
    if not form.is_valid():
        return None
    serializer = ProjectCreateSerializer(data=form.api_body())
    if not serializer.is_valid():
        for name, errors in serializer.errors.items():
            target = _FORM_FIELD.get(name, name)
            for error in errors:
                form.add_error(target if target in form.fields else None, str(error))
        return None
    try:
        return project_create(owner=owner, **serializer.validated_data)
    except ConfigInvalidError as exc:
        form.add_error("labels", f"{exc.message} [{exc.code}]")
    except ApplicationError as exc:  # project_settings_invalid: settings that contradict
        form.add_error(None, f"{exc.message} [{exc.code}]")
    return None


@login_required
@require_http_methods(["GET", "POST"])
def project_new(request: HttpRequest) -> HttpResponse:
    """The wizard's first step: what to label, how to pay, how strict to be."""
    form = ProjectForm(request.POST or None)
    if request.method == "POST":
        project = _project_from_form(form, signed_in_user(request))
        if project is not None:
            messages.success(request, gettext("Project created. Now add the items to label."))
            return redirect("project-upload", project_id=project.public_id)
    # A refusal of the quality settings opens them, so the fields it names are in view.
    advanced_open = form.is_bound and (form.advanced_errors() or bool(form.non_field_errors()))
    context = {
        "form": form,
        "preview": markdown_safe(form["instructions"].value() or ""),
        "advanced_open": advanced_open,
    }
    return render(request, "labeling/requester/project_new.html", context)


@login_required
@require_POST
def instructions_preview(request: HttpRequest) -> HttpResponse:
    """The wizard's live preview: the instructions as contributors will see them, by the
    one renderer every page uses (markdown, then nh3)."""
    html = markdown_safe(request.POST.get("instructions", ""))
    return render(request, "labeling/requester/_instructions_preview.html", {"preview": html})

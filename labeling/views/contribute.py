"""Contributors' pages: open projects, the workbench, history and earnings.

The workbench calls the services the API's queue endpoints call (assignment_claim_next,
assignment_submit, assignment_skip): a page and an API client are served the same
work under the same rules. A submit answers with the next item in the same request
(one round trip): the server records the answer, then claims the next item, and an
htmx request gets the task fragment back, a plain form POST a redirect to the page
(which shows the reservation the claim made: claiming again returns it).
"""

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from config.errors import ApplicationError, NotFoundError
from config.pages import error_message, login_required_page
from config.users import User
from labeling import selectors
from labeling.errors import (
    AssignmentNotFoundError,
    ContributorPausedError,
    ProjectNotActiveError,
)
from labeling.markdown import markdown_safe
from labeling.models import Assignment, Project
from labeling.services.queue import assignment_claim_next, assignment_skip, assignment_submit
from labeling.task_types import AnswerInvalidError, task_type_get
from payouts import selectors as payout_selectors
from payouts.models import Payout
from payouts.money import AmountError, near_to_yocto, yocto_to_near
from payouts.services.payouts import payout_request_once

# --- shared helpers ------------------------------------------------------------------


def _user(request: HttpRequest) -> User:
    """The signed-in user of a view behind login_required."""
    return cast("User", request.user)


def _near(yocto: int) -> str:
    """yoctoNEAR as the pages show it: "0.05 NEAR"."""
    return gettext("%(amount)s NEAR") % {"amount": yocto_to_near(yocto)}


def _duration(ms: float) -> str:
    """A time per answer in words: "about 12 s", "about 2 min"."""
    seconds = ms / 1000
    if seconds < 90:
        return gettext("about %(n)s s") % {"n": max(1, round(seconds))}
    return gettext("about %(n)s min") % {"n": round(seconds / 60)}


def _project_for(user: User, project_id: Any) -> Project:
    """A project the user may see (published, or their own draft), or 404."""
    try:
        return selectors.project_get_visible(user=user, public_id=project_id)
    except NotFoundError as exc:
        raise Http404(exc.message) from exc


# --- home ------------------------------------------------------------------------------


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """The landing page: open projects as cards, with pay, time and standing."""
    user = _user(request) if request.user.is_authenticated else None
    cards = [
        {
            "open": open_project,
            "project": open_project.project,
            "pay": _near(open_project.project.reward_per_answer),
            "time": _duration(open_project.median_time_ms)
            if open_project.median_time_ms is not None
            else None,
        }
        for open_project in selectors.projects_open(user=user)
    ]
    return render(request, "home.html", {"cards": cards})


# --- the workbench ---------------------------------------------------------------------


def _classification_answer(data: QueryDict) -> Any:
    label = data.get("label", "")
    if not label:
        raise AnswerInvalidError(gettext("Choose a label first."))
    return {"label": label}


# How each task type's widget (templates/labeling/widgets/<task type>.html) posts its
# answer: the form's fields -> the answer the task type validates.
ANSWER_FROM_FORM: dict[str, Callable[[QueryDict], Any]] = {
    "classification": _classification_answer,
}

SESSION_KEY = "workbench:%s"  # answered-this-session counter, per project


class WorkbenchForm(forms.Form):
    """What every widget posts beside its answer fields."""

    assignment = forms.UUIDField()
    action = forms.ChoiceField(choices=[("submit", _("Submit")), ("skip", _("Skip"))])
    # As the browser measured it, from showing the item to submitting; empty without JS.
    time_on_task_ms = forms.IntegerField(required=False, min_value=0, max_value=86_400_000)


@dataclass
class _Task:
    """What the task fragment shows: the reservation, or why there is none."""

    assignment: Assignment | None = None
    empty: bool = False  # nothing left for this contributor
    blocked: ApplicationError | None = None  # paused, or the project not active
    status: int = 200


def _claim(project: Project, user: User) -> _Task:
    try:
        assignment = assignment_claim_next(project=project, contributor=user)
    except (ProjectNotActiveError, ContributorPausedError) as exc:
        return _Task(blocked=exc, status=exc.http_status)
    return _Task(assignment=assignment, empty=assignment is None)


def _item_display(data: Any) -> tuple[str | None, list[tuple[str, str]]]:
    """An item's data as the widget shows it: the `text` field, then the other fields as
    (key, value) text pairs (escaped by the template like everything else)."""
    if not isinstance(data, dict):
        return None, [(gettext("data"), json.dumps(data, ensure_ascii=False))]
    text = data.get("text")
    fields = [
        (str(key), value if isinstance(value, str) else json.dumps(value, ensure_ascii=False))
        for key, value in data.items()
        if key != "text"
    ]
    if text is not None and not isinstance(text, str):
        text = json.dumps(text, ensure_ascii=False)
    return text, fields


def _answer_text(answer: Any) -> str:
    """An answer in words: a classification's label, else its JSON."""
    if isinstance(answer, dict) and set(answer) == {"label"}:
        return str(answer["label"])
    return json.dumps(answer, ensure_ascii=False)


def _answered(request: HttpRequest, project: Project) -> int:
    return int(request.session.get(SESSION_KEY % project.public_id, 0))


def _task_context(
    request: HttpRequest,
    project: Project,
    task: _Task,
    *,
    errors: list[ApplicationError],
    feedback: dict[str, Any] | None = None,
) -> dict[str, Any]:
    answered = _answered(request, project)
    context: dict[str, Any] = {
        "project": project,
        "task": task,
        "errors": [*errors, *([task.blocked] if task.blocked else [])],
        "feedback": feedback,
        "feedback_answer": _answer_text(feedback["answer"]) if feedback else "",
        "answered": answered,
        "answered_value": _near(answered * project.reward_per_answer),
        "pay": _near(project.reward_per_answer),
        "widget": f"labeling/widgets/{project.task_type}.html",
    }
    if task.assignment is not None:
        text, fields = _item_display(task.assignment.item.data)
        labels = _labels(project)
        context.update(
            item_text=text,
            item_fields=fields,
            labels=[(index, label) for index, label in enumerate(labels, start=1)],
            expires_at=task.assignment.expires_at,
            now=timezone.now(),
        )
    return context


def _labels(project: Project) -> list[str]:
    """The labels a categorical widget offers, in the project's order."""
    return task_type_get(project.task_type).categories(project.label_config) or []


def _task_response(
    request: HttpRequest,
    project: Project,
    *,
    errors: list[ApplicationError],
    feedback: dict[str, Any] | None = None,
) -> HttpResponse:
    """The next reservation (claimed now) as the task fragment (htmx) or the page."""
    task = _claim(project, _user(request))
    context = _task_context(request, project, task, errors=errors, feedback=feedback)
    if request.htmx:  # type: ignore[attr-defined]
        # 200 whatever the refusal: the fragment says what happened and what to do next.
        return render(request, "labeling/workbench_task.html", context)
    context["instructions"] = markdown_safe(project.instructions)
    return render(request, "labeling/workbench.html", context, status=task.status)


@login_required_page
@require_http_methods(["GET", "POST"])
def workbench(request: HttpRequest, project_id: str) -> HttpResponse:
    """One item at a time: the item, the instructions, the answer widget, a timer.

    GET shows the contributor's reservation (claiming one if they hold none). POST
    answers or skips it and shows the next one.
    """
    project = _project_for(_user(request), project_id)
    if request.method == "POST":
        return _workbench_post(request, project)
    return _task_response(request, project, errors=[])


def _workbench_post(request: HttpRequest, project: Project) -> HttpResponse:
    user = _user(request)
    form = WorkbenchForm(request.POST)
    errors: list[ApplicationError] = []
    feedback = None
    if not form.is_valid():
        errors.append(
            ApplicationError(gettext("The form came back incomplete; try again."), code="invalid")
        )
    elif not selectors.assignment_is_contributors_in_project(
        project=project, contributor=user, public_id=form.cleaned_data["assignment"]
    ):
        # The services find the contributor's assignment in any project; this page answers
        # only its own project's (else B's page would record an answer to A and count it).
        errors.append(AssignmentNotFoundError(gettext("No such assignment in this project.")))
    elif form.cleaned_data["action"] == "skip":
        try:
            assignment_skip(public_id=form.cleaned_data["assignment"], contributor=user)
        except ApplicationError as exc:
            errors.append(exc)
    else:
        try:
            answer = ANSWER_FROM_FORM[project.task_type](request.POST)
            submission = assignment_submit(
                public_id=form.cleaned_data["assignment"],
                contributor=user,
                answer=answer,
                time_on_task_ms=form.cleaned_data["time_on_task_ms"],
            )
        except ApplicationError as exc:
            # An invalid answer leaves the reservation as it was: the claim below gives
            # the same item back, with the message beside it.
            errors.append(exc)
        else:
            key = SESSION_KEY % project.public_id
            request.session[key] = int(request.session.get(key, 0)) + 1
            feedback = selectors.submission_feedback(submission=submission)
    if request.htmx:  # type: ignore[attr-defined]
        # Refusals too answer 200 with the fragment (the error inside it, rendered by
        # partials/error.html as config.pages.error_fragment does): the fragment shows
        # what to do next, and a 4xx would not be swapped in (and is a console error).
        return _task_response(request, project, errors=errors, feedback=feedback)
    for error in errors:
        error_message(request, error)
    if feedback is not None:
        messages.info(request, _feedback_text(feedback))
    return redirect("workbench", project_id=project.public_id)


def _feedback_text(feedback: dict[str, Any]) -> str:
    answer = _answer_text(feedback["answer"])
    if feedback["correct"]:
        return gettext("Right: this was a check item, and its answer is %(answer)s.") % {
            "answer": answer
        }
    return gettext("Not quite: this was a check item, and its answer is %(answer)s.") % {
        "answer": answer
    }


# --- history and earnings ----------------------------------------------------------------

SUBMISSIONS_PER_PAGE = 25
# Pages of answers one can ask for: past it the offset would overflow the database's
# bigint (?page=10**30 was a 500); a contributor with more answers pages by project.
MAX_PAGE = 100_000
PAYOUTS_SHOWN = 50
PAYOUT_STATUS_TEXT: dict[str, Any] = {
    Payout.Status.PENDING: _("Waiting to be sent"),
    Payout.Status.SIGNED: _("Signed"),
    Payout.Status.SUBMITTED: _("Sent, waiting for the chain"),
    Payout.Status.CONFIRMED: _("Paid"),
    Payout.Status.FAILED: _("Failed, refunded to your balance"),
}


class WithdrawForm(forms.Form):
    amount = forms.CharField(
        label=_("Amount (NEAR)"),
        max_length=60,
        help_text=_("A decimal number of NEAR, such as 0.5."),
    )
    # Made when the form is shown: submitting it twice (a double click, a retry after a
    # lost answer) withdraws once (payout_request_once).
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=255)

    def clean_amount(self) -> int:
        try:
            return near_to_yocto(self.cleaned_data["amount"])
        except AmountError as exc:
            raise forms.ValidationError(
                gettext("Not a NEAR amount: use a decimal number such as 0.5."),
                code="amount_invalid",
            ) from exc


def _payouts_context(user: User) -> dict[str, Any]:
    payouts = list(payout_selectors.payouts_of_user(user=user)[:PAYOUTS_SHOWN])
    rows = [
        {
            "payout": payout,
            "amount": _near(payout.amount),
            "status_text": PAYOUT_STATUS_TEXT.get(payout.status, payout.status),
            "explorer_url": payout_selectors.payout_explorer_url(tx_hash=payout.tx_hash),
        }
        for payout in payouts
    ]
    polling = any(payout.status in Payout.OPEN_STATUSES for payout in payouts)
    return {"payout_rows": rows, "payouts_polling": polling}


def _page_number(request: HttpRequest) -> int:
    """?page=N, 1 for anything that is not a page number, at most MAX_PAGE."""
    try:
        return min(MAX_PAGE, max(1, int(request.GET.get("page", "1"))))
    except ValueError:
        return 1


def _me_context(request: HttpRequest, form: WithdrawForm | None = None) -> dict[str, Any]:
    user = _user(request)
    summary = payout_selectors.earnings_summary(user=user)
    royalties = payout_selectors.royalties_summary(user=user)
    work = selectors.contributor_work_summary(user=user)
    near = payout_selectors.near_account_of(user=user)
    page = _page_number(request)
    rows = selectors.submissions_of_contributor(
        user=user,
        limit=SUBMISSIONS_PER_PAGE + 1,
        offset=(page - 1) * SUBMISSIONS_PER_PAGE,
    )
    if form is None:
        form = WithdrawForm(
            initial={"amount": yocto_to_near(summary.balance), "idempotency_key": uuid.uuid4()}
        )
    return {
        # A key the form came back without (or mangled) is replaced: nothing was
        # requested with it, and the next submit must carry a valid one.
        "idempotency_key": uuid.uuid4()
        if form.is_bound and "idempotency_key" in form.errors
        else form["idempotency_key"].value(),
        "summary": summary,
        "money": {
            "balance": _near(summary.balance),
            "pending": _near(work.pending_value),
            "earned": _near(summary.earned),
            "in_flight": _near(summary.in_flight),
            "paid": _near(summary.paid),
            "royalties": _near(royalties.total),
        },
        # A share of dataset sales, apart from task pay ("earned").
        "royalties": royalties,
        "royalty_rows": [{"line": line, "amount": _near(line.amount)} for line in royalties.recent],
        "work": work,
        "quality": selectors.contributor_quality(user=user),
        "near": near,
        "near_verified": bool(near and near.verified_at),
        "min_payout": settings.MIN_PAYOUT_NEAR,
        "submissions": rows[:SUBMISSIONS_PER_PAGE],
        "page": page,
        "has_next": len(rows) > SUBMISSIONS_PER_PAGE,
        "form": form,
        **_payouts_context(user),
    }


@login_required_page
@require_GET
def me(request: HttpRequest) -> HttpResponse:
    """The contributor's money (balance, pending, earned, in flight, paid), quality,
    answers with their decisions, payouts, and the withdraw form."""
    return render(request, "labeling/me.html", _me_context(request))


@login_required_page
@require_GET
def me_payouts(request: HttpRequest) -> HttpResponse:
    """The payouts list alone: the page polls it while a payout is on its way."""
    return render(request, "labeling/me_payouts.html", _payouts_context(_user(request)))


@login_required_page
@require_POST
def withdraw(request: HttpRequest) -> HttpResponse:
    """Withdraw earnings to the contributor's proven NEAR account, once per form shown."""
    form = WithdrawForm(request.POST)
    if not form.is_valid():
        return render(request, "labeling/me.html", _me_context(request, form), status=400)
    try:
        payout, created = payout_request_once(
            user=_user(request),
            amount=form.cleaned_data["amount"],
            idempotency_key=form.cleaned_data["idempotency_key"],
        )
    except ApplicationError as exc:
        error_message(request, exc)
        return redirect("me")
    if created:
        messages.success(
            request,
            gettext("Withdrawal of %(amount)s to %(account)s requested.")
            % {"amount": _near(payout.amount), "account": payout.receiver_id},
        )
    else:
        messages.info(
            request,
            gettext("This withdrawal was already requested: nothing was sent twice."),
        )
    return redirect("me")

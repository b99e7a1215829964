"""A project's page for its requester: progress, quality, review queue and export.

Thin views: the figures come from labeling.selectors (aggregated by the database), the
decisions from labeling.services; what is left here is choosing what to show and in
which words. Every view is the owner's alone: anybody else gets 404, as for no project.
"""

import json
from datetime import datetime
from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import formats, timezone
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_POST

from config.errors import ApplicationError
from config.pages import error_fragment, error_message, login_required_page
from labeling import selectors
from labeling.models import Project, Submission
from labeling.services.projects import project_close, project_publish
from labeling.services.quality import submission_review_decide
from labeling.task_types import task_type_get
from labeling.views.access import owned_project, signed_in_user

STATUS_LABELS = {
    Project.Status.DRAFT: (_("Draft"), ""),
    Project.Status.ACTIVE: (_("Active"), "badge-good"),
    Project.Status.PAUSED: (_("Paused"), "badge-warn"),
    Project.Status.COMPLETED: (_("Completed"), ""),
}
SUBMISSION_LABELS = {
    Submission.Status.PENDING: (_("Pending"), ""),
    Submission.Status.REVIEW: (_("In review"), "badge-warn"),
    Submission.Status.ACCEPTED: (_("Accepted"), "badge-good"),
    Submission.Status.REJECTED: (_("Rejected"), "badge-bad"),
}
REVIEW_PAGE_SIZE = 100


def _status(project: Project) -> dict[str, Any]:
    label, badge = STATUS_LABELS[Project.Status(project.status)]
    return {"label": label, "badge": badge}


def _near(yocto: int) -> str:
    from payouts.money import yocto_to_near

    return yocto_to_near(yocto)


def _figures_context(project: Project) -> dict[str, Any]:
    figures = selectors.project_figures(project=project)
    figures["escrow_left_near"] = _near(figures["escrow_left"])
    figures["escrow_spent_near"] = _near(figures["escrow_spent"])
    figures["escrow_shortfall_near"] = _near(figures["escrow_shortfall"])
    return {
        "project": project,
        "figures": figures,
        "polling": project.status == Project.Status.ACTIVE,
    }


# --- the page ------------------------------------------------------------------------


@require_GET
@login_required_page
def project_dashboard(request: HttpRequest, project_id: Any) -> HttpResponse:
    """The project page: figures, charts, quality, the review queue's size, export."""
    project = owned_project(request, project_id)
    task_type = task_type_get(project.task_type)
    context = _figures_context(project)
    quality = selectors.project_quality(project=project)
    decided = selectors.project_decided_series(project=project)
    answers = selectors.project_answers_series(project=project)
    confusion = selectors.project_confusion(project=project)
    histogram = quality["score_histogram"]
    bins = _score_bins(len(histogram))
    charts = {
        "progress": _series_chart(decided),
        "answers": _series_chart(answers),
        "scores": {"labels": bins, "values": histogram},
    }
    figures = context["figures"]
    context.update(
        status=_status(project),
        labels=task_type.categories(project.label_config) or [],
        task_type=gettext(task_type.label),
        reward_near=_near(project.reward_per_answer),
        cost_near=_near(project.cost_per_answer),
        quality=quality,
        charts=charts,
        decided=_rows(charts["progress"]),
        answers=_rows(charts["answers"]),
        scores=list(zip(bins, histogram, strict=True)),
        progress_summary=_progress_summary(decided, figures),
        answers_summary=_answers_summary(answers, charts["answers"]["labels"]),
        scores_summary=_scores_summary(histogram, bins),
        confusion=confusion,
        confusion_summary=_confusion_summary(confusion),
        leaderboard=selectors.project_leaderboard(
            project=project, standings=quality["contributors"]
        ),
        can_publish=project.status in (Project.Status.DRAFT, Project.Status.PAUSED),
        can_close=project.status in (Project.Status.ACTIVE, Project.Status.PAUSED),
    )
    return render(request, "labeling/dashboard/project.html", context)


@require_GET
@login_required_page
def project_figures(request: HttpRequest, project_id: Any) -> HttpResponse:
    """The figures alone, polled by the page every few seconds while the project runs."""
    project = owned_project(request, project_id)
    if not getattr(request, "htmx", False):
        return redirect("project-dashboard", project_id=project.public_id)
    return render(request, "labeling/dashboard/_figures.html", _figures_context(project))


@require_POST
@login_required_page
def project_status_change(request: HttpRequest, project_id: Any) -> HttpResponse:
    """Publish or close the project (POST action=publish|close), then back to its page."""
    project = owned_project(request, project_id)
    action = request.POST.get("action")
    try:
        if action == "publish":
            project_publish(project=project)
            messages.success(request, gettext("Published: contributors can now work on it."))
        elif action == "close":
            project = project_close(project=project)
            if project.status == Project.Status.COMPLETED:
                messages.success(request, gettext("Closed and completed."))
            else:
                messages.success(
                    request, gettext("Closed: the answers waiting for your review decide it.")
                )
        else:
            raise ApplicationError(gettext("Publish or close: nothing else."), code="invalid")
    except ApplicationError as exc:
        error_message(request, exc)
    return redirect("project-dashboard", project_id=project.public_id)


# --- the review queue ----------------------------------------------------------------


class ReviewRejectForm(forms.Form):
    # Shown to the contributor: say what was wrong (max_length as the model's field).
    reason = forms.CharField(max_length=500, label=_("Reason"))


@require_GET
@login_required_page
def project_review(request: HttpRequest, project_id: Any) -> HttpResponse:
    """The answers waiting for the requester's decision, oldest first."""
    project = owned_project(request, project_id)
    waiting = selectors.submissions_in_review(project=project, limit=REVIEW_PAGE_SIZE)
    in_review = selectors.submissions_in_review_count(project=project)
    return render(
        request,
        "labeling/dashboard/review.html",
        {
            "project": project,
            "rows": [_review_row(s) for s in waiting],
            "in_review": in_review,
            "more": max(0, in_review - len(waiting)),
        },
    )


@require_POST
@login_required_page
def review_accept(request: HttpRequest, project_id: Any, submission_id: Any) -> HttpResponse:
    return _review_decide(request, project_id, submission_id, accept=True)


@require_POST
@login_required_page
def review_reject(request: HttpRequest, project_id: Any, submission_id: Any) -> HttpResponse:
    return _review_decide(request, project_id, submission_id, accept=False)


def _review_decide(
    request: HttpRequest, project_id: Any, submission_id: Any, *, accept: bool
) -> HttpResponse:
    """Accept (paid now) or reject (with a reason the contributor sees) an answer in
    review; htmx gets the decided row or an error fragment with its code, a plain form
    post goes back to the queue with a message."""
    project = owned_project(request, project_id)
    htmx = getattr(request, "htmx", False)
    try:
        reason = ""
        if not accept:
            form = ReviewRejectForm(request.POST)
            if not form.is_valid():
                raise ApplicationError(
                    gettext("Say why you reject this answer: the contributor sees the reason."),
                    code="invalid",
                )
            reason = form.cleaned_data["reason"]
        submission = submission_review_decide(
            project=project,
            submission_public_id=submission_id,
            accept=accept,
            reason=reason,
            by=signed_in_user(request),
        )
    except ApplicationError as exc:
        if htmx:
            return error_fragment(request, exc)
        error_message(request, exc)
        return redirect("project-review", project_id=project.public_id)
    if htmx:
        return render(
            request,
            "labeling/dashboard/_review_done.html",
            {"project": project, "row": _review_row(submission)},
        )
    messages.success(request, gettext("Accepted.") if accept else gettext("Rejected."))
    return redirect("project-review", project_id=project.public_id)


# --- words and shapes for the templates ----------------------------------------------


def _text(value: Any) -> str:
    """A JSON value as a person reads it: strings as they are, the rest as JSON."""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _answer_text(answer: Any) -> str:
    if isinstance(answer, dict) and set(answer) == {"label"}:
        return _text(answer["label"])
    return _text(answer)


def _review_row(submission: Submission) -> dict[str, Any]:
    item = submission.assignment.item
    parts = submission.score_parts or {}
    gold = parts.get("gold") or {}
    behaviour = parts.get("behaviour") or {}
    model = parts.get("model") or {}
    label, badge = SUBMISSION_LABELS[Submission.Status(submission.status)]
    return {
        "id": submission.public_id,
        "status": submission.status,
        "status_label": label,
        "status_badge": badge,
        "reason": submission.decision_reason,
        "item_name": item.external_id or str(item.public_id),
        "item_data": [(_text(key), _text(value)) for key, value in (item.data or {}).items()]
        if isinstance(item.data, dict)
        else [("", _text(item.data))],
        "answer": _answer_text(submission.answer),
        "final": None if item.final_answer is None else _answer_text(item.final_answer),
        "contributor": submission.assignment.contributor.get_username(),
        "score": submission.score,
        "parts": {
            "method": parts.get("method"),
            "agreement": parts.get("agreement"),
            "reliability": parts.get("reliability"),
            "correct": parts.get("correct"),
            "prior": parts.get("prior"),
            "model_used": bool(model.get("used")),
            "gold_accuracy": gold.get("accuracy"),
            "gold_answers": gold.get("answers"),
            "gold_match": parts.get("gold_match"),
            "behaviour_factor": behaviour.get("factor"),
            "behaviour_flags": [_text(flag) for flag in behaviour.get("flags", [])],
        },
    }


def _bucket_label(start: datetime, unit: str) -> str:
    local = timezone.localtime(start)
    if unit == "day":
        return formats.date_format(local, "M j")
    return formats.date_format(local, "M j, H:i")


def _series_chart(series: selectors.TimeSeries) -> dict[str, Any]:
    return {
        "unit": series.unit,
        "labels": [_bucket_label(start, series.unit) for start in series.starts],
        "values": series.values,
    }


def _rows(chart: dict[str, Any]) -> list[tuple[str, int]]:
    return list(zip(chart["labels"], chart["values"], strict=True))


def _score_bins(n: int) -> list[str]:
    return [f"{i / n:.1f}\u2013{(i + 1) / n:.1f}" for i in range(n)]  # an en dash


def _progress_summary(series: selectors.TimeSeries, figures: dict[str, Any]) -> str:
    unit = gettext("hour") if series.unit == "hour" else gettext("day")
    return gettext(
        "%(decided)s of %(items)s items decided so far, counted by %(unit)s since %(since)s."
    ) % {
        "decided": series.values[-1] if series.values else 0,
        "items": figures["items_total"],
        "unit": unit,
        "since": _bucket_label(series.starts[0], series.unit),
    }


def _answers_summary(series: selectors.TimeSeries, labels: list[str]) -> str:
    total = sum(series.values)
    if not total:
        return gettext("No answers since %(since)s.") % {"since": labels[0]}
    peak = max(range(len(series.values)), key=lambda i: series.values[i])
    return ngettext(
        "%(total)s answer since %(since)s; the busiest hour, %(when)s, had %(peak)s.",
        "%(total)s answers since %(since)s; the busiest hour, %(when)s, had %(peak)s.",
        total,
    ) % {
        "total": total,
        "since": labels[0],
        "when": labels[peak],
        "peak": series.values[peak],
    }


def _scores_summary(histogram: list[int], bins: list[str]) -> str:
    total = sum(histogram)
    if not total:
        return gettext("No answer has been scored yet.")
    low = sum(histogram[: len(histogram) // 2])
    mode = max(range(len(histogram)), key=lambda i: histogram[i])
    return gettext(
        "%(total)s answers scored: %(high)s scored 0.5 or more, %(low)s less; the most "
        "common range is %(range)s (%(count)s answers)."
    ) % {
        "total": total,
        "high": total - low,
        "low": low,
        "range": bins[mode],
        "count": histogram[mode],
    }


def _confusion_summary(confusion: selectors.Confusion | None) -> str:
    if confusion is None or not confusion.total:
        return gettext("No answered item has a final label yet.")
    rated = [row for row in confusion.rows if row.total]
    worst = min(rated, key=lambda row: row.agreement or 0)
    return gettext(
        "Contributors gave the item's final label in %(agreement)s%% of %(total)s answers; "
        "least often for “%(label)s” (%(worst)s%%)."
    ) % {
        "agreement": formats.number_format(confusion.agreement or 0, 1),
        "total": confusion.total,
        "label": worst.label,
        "worst": formats.number_format(worst.agreement or 0, 1),
    }

"""The requester's pages for a project's data and money: upload, funding, publishing,
exports.

Each calls the service the API calls (items_import, project_deposit, deposit_recheck,
project_publish); a refusal is shown with its code and stores nothing. Forms post and
redirect; an htmx request gets the fragment it swaps in instead.
"""

import csv
import io
import json
import uuid
from dataclasses import dataclass
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRefresh
from django_htmx.middleware import HtmxDetails

from config.errors import ApplicationError
from config.pages import error_message
from labeling import selectors
from labeling.models import Project
from labeling.services.projects import project_publish as project_publish_service
from labeling.task_types import task_type_get
from labeling.views.access import owned_project, signed_in_user
from labeling.views.requester import status_context
from marketplace.api.serializers import DepositCreateSerializer
from marketplace.errors import ImportTooLargeError
from marketplace.models import ExportJob
from marketplace.selectors import export_jobs, project_deposits
from marketplace.services.exports.jobs import export_job_start
from marketplace.services.funding import project_deposit
from marketplace.services.imports import MAX_REPORTED_ERRORS, items_import, rows_from_upload
from payouts.errors import ChainUnavailableError
from payouts.models import Deposit
from payouts.money import yocto_to_near
from payouts.selectors import near_account_of
from payouts.services.deposits import deposit_recheck
from payouts.views.account import safe_next


class HtmxHttpRequest(HttpRequest):
    """A request as django-htmx's middleware leaves it (for the type checker)."""

    htmx: HtmxDetails


# Seconds between the fund page's looks at a pending deposit.
DEPOSIT_POLL_SECONDS = 3

DEPOSIT_STATUS_NAMES = {
    Deposit.Status.PENDING: _("Waiting for the chain"),
    Deposit.Status.CREDITED: _("Credited"),
    Deposit.Status.FAILED: _("Failed"),
}
DEPOSIT_STATUS_BADGES = {
    Deposit.Status.PENDING: "badge-warn",
    Deposit.Status.CREDITED: "badge-good",
    Deposit.Status.FAILED: "badge-bad",
}


# --- Upload --------------------------------------------------------------------------


class UploadForm(forms.Form):
    file = forms.FileField(
        label=_("File of items"),
        help_text=_("JSONL (one item per line), CSV with a header, or a JSON list."),
        widget=forms.ClearableFileInput(attrs={"accept": ".jsonl,.ndjson,.csv,.json"}),
    )


@dataclass(frozen=True)
class UploadResult:
    created: int = 0
    error: ApplicationError | None = None

    @property
    def bad_lines(self) -> list[dict[str, Any]]:
        """The bad records the import named ({"line", "reason"}), in line order."""
        extra = (self.error.extra if self.error else None) or {}
        if "errors" in extra:
            return list(extra["errors"])
        return [extra] if "line" in extra else []

    @property
    def more_errors(self) -> bool:
        return bool(self.error and (self.error.extra or {}).get("more_errors"))


def _examples(project: Project) -> dict[str, str]:
    """The formats, shown with the project's own labels for the gold answer."""
    task_type = task_type_get(project.task_type)
    labels = task_type.categories(project.label_config) or []
    gold = task_type.category_answer(project.label_config, 0) if labels else None
    jsonl = "\n".join(
        json.dumps(line, ensure_ascii=False)
        for line in (
            {"external_id": "r1", "data": {"text": gettext("Arrived quickly, works well.")}},
            {"external_id": "r2", "data": {"text": gettext("Broke after two days.")}},
            *(
                [{"external_id": "g1", "data": {"text": gettext("A known case.")}, "gold": gold}]
                if gold
                else []
            ),
        )
    )
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["external_id", "text", "gold"])
    writer.writerow(["r1", gettext("Arrived quickly, works well."), ""])
    writer.writerow(["r2", gettext("Broke after two days."), ""])
    if labels:
        writer.writerow(["g1", gettext("A known case."), labels[0]])
    return {"jsonl": jsonl, "csv": out.getvalue().rstrip("\n")}


def _upload_context(project: Project) -> dict[str, Any]:
    progress = selectors.project_progress(project=project)
    return {
        "project": project,
        **status_context(project),
        "items": progress["items_total"],
        "items_gold": progress["items_gold"],
        "max_errors": MAX_REPORTED_ERRORS,
        "max_file_mib": settings.IMPORT_MAX_FILE_BYTES // (1024 * 1024),
    }


def _import(project: Project, form: UploadForm) -> UploadResult:
    upload = form.cleaned_data["file"]
    try:
        if upload.size > settings.IMPORT_MAX_FILE_BYTES:
            raise ImportTooLargeError(
                gettext("The file is larger than %(limit)s MiB; split it into several imports.")
                % {"limit": settings.IMPORT_MAX_FILE_BYTES // (1024 * 1024)},
                extra={"limit_bytes": settings.IMPORT_MAX_FILE_BYTES},
            )
        rows = rows_from_upload(name=upload.name or "", content=upload.read())
        return UploadResult(created=items_import(project=project, rows=rows))
    except ApplicationError as exc:
        return UploadResult(error=exc)


@login_required
@require_http_methods(["GET", "POST"])
def project_upload(request: HtmxHttpRequest, project_id: uuid.UUID) -> HttpResponse:
    """Add items from a file, all or nothing; every bad line is named. Several uploads
    add up."""
    project = owned_project(request, project_id)
    form = UploadForm()
    result = None
    if request.method == "POST":
        form = UploadForm(request.POST, request.FILES)
        if form.is_valid():
            result = _import(project, form)
            if result.error is None and not request.htmx:
                messages.success(request, _created_message(result.created))
                return redirect("project-upload", project_id=project.public_id)
    context = {
        **_upload_context(project),
        "form": form,
        "result": result,
        "created_message": _created_message(result.created) if result else "",
    }
    if request.htmx:
        # 200 with the refusal in it: htmx swaps it in, and the page shows it in place.
        return render(request, "marketplace/_upload_result.html", context)
    return render(request, "marketplace/project_upload.html", {**context, **_examples(project)})


def _created_message(created: int) -> str:
    return ngettext("%(count)s item added.", "%(count)s items added.", created) % {"count": created}


# --- Funding -------------------------------------------------------------------------


class DepositForm(forms.Form):
    """A transfer to credit. The hash and account are checked by the API's serializer and
    the deposit service (each refusal with its code); the key makes a second submit of
    the same form (a double click, a retried request) answer the first deposit."""

    tx_hash = forms.CharField(
        label=_("Transaction hash"),
        max_length=64,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
        help_text=_("The hash your wallet shows for the transfer (base58)."),
    )
    sender_account_id = forms.CharField(
        label=_("Sent from (optional)"),
        required=False,
        max_length=64,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
        help_text=_("Your linked NEAR account unless you say otherwise."),
    )
    idempotency_key = forms.RegexField(
        regex=r"^[\x21-\x7e]{1,255}$", widget=forms.HiddenInput, required=True
    )


@dataclass(frozen=True)
class DepositRow:
    deposit: Deposit
    amount_near: str
    status_name: str
    status_badge: str


def _funding_context(project: Project) -> dict[str, Any]:
    funding = selectors.project_funding(project=project)
    deposits = project_deposits(project=project)
    rows = [
        DepositRow(
            deposit=deposit,
            amount_near=yocto_to_near(deposit.amount),
            status_name=str(DEPOSIT_STATUS_NAMES.get(Deposit.Status(deposit.status), "")),
            status_badge=DEPOSIT_STATUS_BADGES.get(Deposit.Status(deposit.status), ""),
        )
        for deposit in deposits
    ]
    return {
        "project": project,
        **status_context(project),
        "funding": funding,
        "required_near": yocto_to_near(funding.required),
        "escrow_near": yocto_to_near(funding.escrow),
        "shortfall_near": yocto_to_near(funding.shortfall),
        "cost_per_answer_near": yocto_to_near(funding.cost_per_answer),
        "funded": funding.items > 0 and funding.shortfall == 0,
        "deposits": rows,
        "pending": any(row.deposit.status == Deposit.Status.PENDING for row in rows),
        "poll_seconds": DEPOSIT_POLL_SECONDS,
    }


def _deposit_message(deposit: Deposit, *, created: bool) -> str:
    values = {"amount": yocto_to_near(deposit.amount)}
    if not created:
        return gettext("This deposit was recorded already (%(amount)s NEAR).") % values
    if deposit.status == Deposit.Status.CREDITED:
        return gettext("%(amount)s NEAR credited to the project.") % values
    return (
        gettext("%(amount)s NEAR seen on chain; it is credited once the chain finalises it.")
        % values
    )


def _deposit_from_form(request: HttpRequest, project: Project, form: DepositForm) -> bool:
    """Credit the deposit the form names; False with the refusals added to the form."""
    if not form.is_valid():
        return False
    body = {"tx_hash": form.cleaned_data["tx_hash"].strip()}
    if form.cleaned_data["sender_account_id"].strip():
        body["sender_account_id"] = form.cleaned_data["sender_account_id"].strip()
    serializer = DepositCreateSerializer(data=body)
    if not serializer.is_valid():
        for name, errors in serializer.errors.items():
            for error in errors:
                form.add_error(name if name in form.fields else None, str(error))
        return False
    try:
        deposit, created = project_deposit(
            project=project,
            user=signed_in_user(request),
            tx_hash=serializer.validated_data["tx_hash"],
            sender_account_id=serializer.validated_data.get("sender_account_id"),
            idempotency_key=form.cleaned_data["idempotency_key"],
        )
    except ApplicationError as exc:
        form.add_error(None, f"{exc.message} [{exc.code}]")
        return False
    if deposit.status == Deposit.Status.FAILED:
        messages.error(request, f"{deposit.failure_reason} [deposit_failed]")
    else:
        messages.success(request, _deposit_message(deposit, created=created))
    return True


@login_required
@require_http_methods(["GET", "POST"])
def project_fund(request: HttpRequest, project_id: uuid.UUID) -> HttpResponse:
    """What the project needs, where to send it, and the form that credits a transfer."""
    project = owned_project(request, project_id)
    if request.method == "POST":
        form = DepositForm(request.POST)
        if _deposit_from_form(request, project, form):
            return redirect("project-fund", project_id=project.public_id)
        if "idempotency_key" in form.errors:  # altered or lost: the next submit gets a new one
            data = request.POST.copy()
            data["idempotency_key"] = uuid.uuid4().hex
            form.data = data
    else:
        # A key per rendered form: its submits are one request, however many arrive.
        form = DepositForm(initial={"idempotency_key": uuid.uuid4().hex})
    user = signed_in_user(request)
    context = {
        **_funding_context(project),
        "form": form,
        "platform_account": settings.NEAR_ACCOUNT_ID,
        "near_account": near_account_of(user=user),
    }
    return render(request, "marketplace/project_fund.html", context)


@login_required
@require_POST
def project_deposits_check(request: HtmxHttpRequest, project_id: uuid.UUID) -> HttpResponse:
    """Ask the chain again about the project's pending deposits (deposit_recheck, what the
    periodic job runs): credited once final, failed if they failed. The fund page polls
    this while one is pending; without JavaScript its button posts here."""
    project = owned_project(request, project_id)
    unreachable = decided = False
    for deposit in project_deposits(project=project):
        if deposit.status != Deposit.Status.PENDING:
            continue
        try:
            deposit = deposit_recheck(deposit_id=deposit.pk)
        except ChainUnavailableError:
            unreachable = True  # still pending; the next look asks again
            continue
        if deposit.status == Deposit.Status.CREDITED:
            decided = True
            messages.success(request, _deposit_message(deposit, created=True))
        elif deposit.status == Deposit.Status.FAILED:
            decided = True
            messages.error(request, f"{deposit.failure_reason} [deposit_failed]")
    if request.htmx:
        if decided:
            # What the page offers depends on the escrow (what to send, publishing): it
            # is drawn again whole, with the news on top.
            return HttpResponseClientRefresh()
        context = {**_funding_context(project), "unreachable": unreachable}
        return render(request, "marketplace/_funding_state.html", context)
    if unreachable:
        messages.warning(request, gettext("The NEAR RPC did not answer; try again shortly."))
    return redirect("project-fund", project_id=project.public_id)


# --- Publishing ----------------------------------------------------------------------


@login_required
@require_POST
def project_publish(request: HttpRequest, project_id: uuid.UUID) -> HttpResponse:
    """Open the project to contributors (project_publish): refused with its code while it
    has no items or its escrow falls short; then on to the project's page."""
    project = owned_project(request, project_id)
    try:
        project_publish_service(project=project)
    except ApplicationError as exc:
        error_message(request, exc)
        return redirect(
            safe_next(request, reverse("project-fund", kwargs={"project_id": project.public_id}))
        )
    messages.success(request, gettext("Published: contributors can see the project now."))
    return redirect("project-dashboard", project_id=project.public_id)


# --- Exports -------------------------------------------------------------------------

EXPORT_BUTTONS = (
    ("jsonl", _("Export JSONL")),
    ("csv", _("Export CSV")),
    ("parquet", _("Export Parquet")),
)
EXPORT_STATUS_BADGES = {
    ExportJob.Status.QUEUED: "badge-warn",
    ExportJob.Status.RUNNING: "badge-warn",
    ExportJob.Status.DONE: "badge-good",
    ExportJob.Status.FAILED: "badge-bad",
}
# Seconds between the page's looks at an export under way.
EXPORT_POLL_SECONDS = 2


def _exports_context(project: Project) -> dict[str, Any]:
    jobs = export_jobs(project=project, limit=10)
    rows = [
        {
            "job": job,
            "badge": EXPORT_STATUS_BADGES[ExportJob.Status(job.status)],
            "status": ExportJob.Status(job.status).label,
            "percent": 100
            if job.status == ExportJob.Status.DONE
            else (job.items_done * 100 // job.items_total if job.items_total else 0),
            "download_url": reverse(
                "project-export-job-download",
                kwargs={"project_id": project.public_id, "job_id": job.public_id},
            )
            if job.status == ExportJob.Status.DONE
            else None,
            "manifest_url": reverse(
                "project-export-job-manifest",
                kwargs={"project_id": project.public_id, "job_id": job.public_id},
            )
            if job.status == ExportJob.Status.DONE and job.manifest
            else None,
        }
        for job in jobs
    ]
    return {
        "project": project,
        "formats": EXPORT_BUTTONS,
        "jobs": rows,
        "polling": any(
            job.status in (ExportJob.Status.QUEUED, ExportJob.Status.RUNNING) for job in jobs
        ),
        "poll_seconds": EXPORT_POLL_SECONDS,
    }


@login_required
@require_http_methods(["GET", "POST"])
def project_exports(request: HtmxHttpRequest, project_id: uuid.UUID) -> HttpResponse:
    """The project's exports: a button per format that starts one in the background
    (export_job_start), and the last ones with their progress and download links. The
    project page loads this fragment (htmx) and it polls itself while one runs; without
    JavaScript it is a page of its own, whose buttons post and come back here."""
    project = owned_project(request, project_id)
    refused: ApplicationError | None = None
    if request.method == "POST":
        try:
            export_job_start(
                project=project,
                user=signed_in_user(request),
                format=str(request.POST.get("format", ""))[:20],
            )
        except ApplicationError as exc:
            refused = exc
            if not request.htmx:
                error_message(request, exc)
        if not request.htmx:
            return redirect("project-exports", project_id=project.public_id)
    context = {**_exports_context(project), "error": refused}
    if request.htmx:
        # A refusal is shown in the fragment (htmx swaps only 2xx answers).
        return render(request, "marketplace/_exports.html", context)
    return render(request, "marketplace/project_exports.html", context)

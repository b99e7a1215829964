"""The owner's dataset page: publish a completed project as a new version, and follow
each version's build (files, signed manifest) until it is on sale.

It calls the service the API calls (dataset_publish); a refusal is shown with its code
and stores nothing.
"""

import uuid
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods

from config.errors import ApplicationError
from labeling.models import Project
from labeling.views.access import owned_project, signed_in_user
from marketplace.models import Dataset, DatasetVersion, Licence
from marketplace.services.datasets import (
    ROYALTY_BPS_MAX,
    SNAPSHOT_FORMATS,
    SUMMARY_MAX,
    TEXT_MAX,
    TITLE_MAX,
    dataset_publish,
)
from payouts.money import AmountError, near_to_yocto, yocto_to_near

# Seconds between the page's looks at a version being built.
BUILD_POLL_SECONDS = 2


class PublishForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=TITLE_MAX)
    summary = forms.CharField(
        label=_("Summary"),
        max_length=SUMMARY_MAX,
        required=False,
        help_text=_("One or two sentences for the catalogue."),
    )
    licence = forms.ChoiceField(label=_("Licence"), choices=Licence.choices)
    price = forms.CharField(
        label=_("Price (NEAR)"),
        max_length=40,
        help_text=_("Buyers pay the platform fee on top."),
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )
    royalty_percent = forms.DecimalField(
        label=_("Contributors' royalty (% of the price)"),
        min_value=Decimal(0),
        max_value=Decimal(ROYALTY_BPS_MAX) / 100,
        decimal_places=2,
        max_digits=5,
        initial=Decimal(20),
        help_text=_(
            "Paid to the contributors whose accepted answers the dataset holds, in "
            "proportion to them, on every sale."
        ),
    )
    motivation = forms.CharField(
        label=_("Motivation"),
        max_length=TEXT_MAX,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Why was the dataset made, and for what tasks?"),
    )
    composition = forms.CharField(
        label=_("Composition"),
        max_length=TEXT_MAX,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("What do the items represent? Where do they come from?"),
    )
    collection_process = forms.CharField(
        label=_("Collection process"),
        max_length=TEXT_MAX,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("How were the labels collected and checked? Figures are added for you."),
    )

    def clean_price(self) -> int:
        try:
            price = near_to_yocto(self.cleaned_data["price"].strip())
        except AmountError as exc:
            raise forms.ValidationError(str(exc), code="invalid") from exc
        if price <= 0:
            raise forms.ValidationError(gettext("The price must be more than zero."))
        return price


def _initial(project: Project, dataset: Dataset | None) -> dict[str, Any]:
    last = dataset.versions.order_by("-number").first() if dataset else None
    if last is not None:
        return {
            "title": dataset.title if dataset else project.title,
            "summary": dataset.summary if dataset else "",
            "licence": last.licence,
            "price": yocto_to_near(last.price),
            "royalty_percent": Decimal(last.royalty_bps) / 100,
            "motivation": last.motivation,
            "composition": last.composition,
            "collection_process": last.collection_process,
        }
    return {
        "title": project.title,
        "licence": Licence.CC_BY_4_0,
        "price": "1",
        "royalty_percent": Decimal(20),
        "collection_process": gettext(
            "Labelled on Nearlabel by paid contributors; each answer was scored against "
            "gold items, the other answers (Dawid-Skene) and a sentence-encoder model."
        ),
    }


def _versions(dataset: Dataset | None) -> list[dict[str, Any]]:
    if dataset is None:
        return []
    rows = []
    for version in dataset.versions.order_by("-number"):
        total = version.items_count * len(SNAPSHOT_FORMATS)
        rows.append(
            {
                "version": version,
                "price_near": yocto_to_near(version.price),
                "total_near": yocto_to_near(version.total_price),
                "royalty_percent": Decimal(version.royalty_bps) / 100,
                "progress": 100
                if version.status == DatasetVersion.Status.READY
                else (min(99, version.items_done * 100 // total) if total else 0),
                "buyers": version.purchases.filter(status="completed").count(),
            }
        )
    return rows


def _context(project: Project) -> dict[str, Any]:
    dataset = Dataset.objects.filter(project=project).first()
    versions = _versions(dataset)
    return {
        "project": project,
        "dataset": dataset,
        "versions": versions,
        "building": any(row["version"].status == "building" for row in versions),
        "poll_seconds": BUILD_POLL_SECONDS,
    }


@login_required
@require_http_methods(["GET", "POST"])
def project_dataset(request: HttpRequest, project_id: uuid.UUID) -> HttpResponse:
    """Publish the project's data as a new dataset version; the versions and their state."""
    project = owned_project(request, project_id)
    context = _context(project)
    if request.method == "POST":
        form = PublishForm(request.POST)
        if form.is_valid() and project.status == Project.Status.COMPLETED:
            data = form.cleaned_data
            try:
                version = dataset_publish(
                    user=signed_in_user(request),
                    project=project,
                    title=data["title"],
                    summary=data["summary"],
                    licence=data["licence"],
                    price=data["price"],
                    royalty_bps=int(data["royalty_percent"] * 100),
                    motivation=data["motivation"],
                    composition=data["composition"],
                    collection_process=data["collection_process"],
                )
            except ApplicationError as exc:
                form.add_error(None, f"{exc.message} [{exc.code}]")
            else:
                messages.success(
                    request,
                    gettext(
                        "Version %(number)s is being built: its files and signed manifest are "
                        "written now, and it goes on sale once ready."
                    )
                    % {"number": version.number},
                )
                return redirect("project-dataset", project_id=project.public_id)
    else:
        form = PublishForm(initial=_initial(project, context["dataset"]))
    return render(request, "marketplace/project_dataset.html", {**context, "form": form})


@login_required
@require_GET
def project_dataset_versions(request: HttpRequest, project_id: uuid.UUID) -> HttpResponse:
    """The versions' table, which the page polls while one is being built."""
    project = owned_project(request, project_id)
    return render(request, "marketplace/_dataset_versions.html", _context(project))

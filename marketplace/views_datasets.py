"""The dataset pages. The owner's: publish a completed project as a new version, and
follow each version's build (files, signed manifest) until it is on sale. Everyone's:
the catalogue (search, filters, ordering), a dataset's page (datasheet, figures,
samples, versions), buying a version from the balance or with a NEAR transfer, and
"My datasets" with the downloads.

They call the services and selectors the API calls (dataset_publish, catalogue_versions,
purchase_create, purchase_settle) and check values with the API's serializers, so the
pages and the API refuse the same things with the same codes; a refusal is shown with
its code and stores nothing. Downloads are the API's own endpoints (session auth).
"""

import json
import uuid
from decimal import Decimal
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import EmptyPage, Page, Paginator
from django.db.models import Count, Prefetch, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.text import slugify
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRefresh

from config.errors import ApplicationError
from config.pages import login_required_page
from config.users import User
from labeling.models import Project
from labeling.task_types import task_type_choices
from labeling.views.access import owned_project, signed_in_user
from marketplace import selectors as marketplace_selectors
from marketplace.api.serializers import CatalogueQuerySerializer, PurchaseCreateSerializer
from marketplace.errors import (
    DatasetNotFoundError,
    DatasetVersionNotFoundError,
    PurchaseNotFoundError,
)
from marketplace.models import Dataset, DatasetFile, DatasetVersion, Licence, Purchase
from marketplace.services.datasets import (
    ROYALTY_BPS_MAX,
    SUMMARY_MAX,
    TEXT_MAX,
    TITLE_MAX,
    dataset_publish,
    version_progress,
)
from marketplace.services.purchases import purchase_create, purchase_settle
from marketplace.views import DepositForm, HtmxHttpRequest
from payouts.errors import ChainUnavailableError
from payouts.money import AmountError, near_to_yocto, yocto_to_near
from payouts.selectors import earnings_summary, near_account_of
from payouts.services.deposits import deposit_recheck

TASK_TYPE_NAMES = dict(task_type_choices())

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
    versions = dataset.versions.annotate(
        buyers=Count("purchases", filter=Q(purchases__status=Purchase.Status.COMPLETED))
    ).order_by("-number")
    return [
        {
            "version": version,
            "price_near": yocto_to_near(version.price),
            "total_near": yocto_to_near(version.total_price),
            "royalty_percent": Decimal(version.royalty_bps) / 100,
            "progress": version_progress(version),
            "buyers": version.buyers,
        }
        for version in versions
    ]


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


# --- The catalogue, a dataset's page, buying, my datasets --------------------------------

# Datasets per catalogue page, and purchases per "My datasets" page.
CATALOGUE_PER_PAGE = 20
PURCHASES_PER_PAGE = 20
# Seconds between the dataset page's looks at a purchase waiting for its deposit.
PURCHASE_POLL_SECONDS = 3
# The largest page number a list answers (more is refused, as the API does).
PAGE_MAX = 10**9

PURCHASE_STATUS_BADGES = {
    Purchase.Status.AWAITING_PAYMENT: "badge-warn",
    Purchase.Status.COMPLETED: "badge-good",
    Purchase.Status.FAILED: "badge-bad",
}
ORDERING_NAMES = {
    "newest": _("Newest first"),
    "price": _("Cheapest first"),
    "-price": _("Dearest first"),
    "size": _("Largest first"),
    "-size": _("Smallest first"),
}


class PageRefusedError(ApplicationError):
    """A page number that is not one."""

    code = "page_invalid"


class PageNotFoundError(PageRefusedError):
    """A page past the end of the list."""

    code = "page_not_found"
    http_status = 404


def _page(request: HttpRequest, items: Any, per_page: int) -> Page:
    """The page `?page=` names, strictly: a whole number from 1 (no more than PAGE_MAX),
    and no page past the last (the first page of an empty list is there)."""
    value = request.GET.get("page", "1")
    if not (value.isascii() and value.isdigit() and 1 <= int(value[:10]) <= PAGE_MAX):
        raise PageRefusedError(
            gettext("The page is a whole number from 1 to %(most)s.") % {"most": PAGE_MAX}
        )
    paginator = Paginator(items, per_page)
    try:
        return paginator.page(int(value))
    except EmptyPage as exc:
        raise PageNotFoundError(gettext("There is no page %(page)s.") % {"page": value}) from exc


def _percent(figure: Any) -> str | None:
    """A datasheet ratio ("0.8333") as a percentage ("83.3%"); None stays None."""
    if figure in (None, ""):
        return None
    try:
        return f"{(Decimal(str(figure)) * 100).quantize(Decimal('0.1'))}%"
    except (ArithmeticError, ValueError):
        return None


def _viewer(request: HttpRequest) -> User | None:
    return request.user if isinstance(request.user, User) else None


def _query_refusal(errors: dict[str, Any]) -> str:
    """The first refusal of the catalogue's query serializer, with its field and code."""
    for name, field_errors in errors.items():
        for error in field_errors:
            code = getattr(error, "code", "invalid")
            return f"{name}: {error} [{code}]"
    return f"{gettext('The filters are not valid.')} [invalid]"


class CatalogueFilterForm(forms.Form):
    """The catalogue's filters, as a GET form that works without JavaScript. It only
    draws the fields: the values are checked by the API's CatalogueQuerySerializer, so
    the page and the API refuse the same things with the same codes."""

    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": _("Title or summary")}),
    )
    task_type = forms.ChoiceField(
        label=_("Task type"),
        required=False,
        choices=lambda: [("", _("Any")), *task_type_choices()],
    )
    licence = forms.ChoiceField(
        label=_("Licence"), required=False, choices=[("", _("Any")), *Licence.choices]
    )
    min_items = forms.CharField(
        label=_("At least (items)"),
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    max_items = forms.CharField(
        label=_("At most (items)"),
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    max_price = forms.CharField(
        label=_("Price at most (NEAR, fee included)"),
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )
    ordering = forms.ChoiceField(
        label=_("Order"), required=False, choices=list(ORDERING_NAMES.items())
    )


def _catalogue_row(version: DatasetVersion) -> dict[str, Any]:
    statistics = version.statistics or {}
    agreement = statistics.get("agreement") or {}
    return {
        "version": version,
        "dataset": version.dataset,
        "task_type_name": TASK_TYPE_NAMES.get(version.dataset.task_type, version.dataset.task_type),
        "agreement": _percent(agreement.get("overall") if isinstance(agreement, dict) else None),
        "mean_score": statistics.get("mean_score"),
        "price_near": yocto_to_near(version.price),
        "total_near": yocto_to_near(version.total_price),
    }


@require_GET
def dataset_catalogue(request: HttpRequest) -> HttpResponse:
    """The datasets on sale, searched, filtered and ordered; open to anyone."""
    params = {name: request.GET.get(name, "") for name in CatalogueFilterForm.base_fields}
    form = CatalogueFilterForm(initial={k: v for k, v in params.items() if "\x00" not in v})
    query = CatalogueQuerySerializer(data={k: v for k, v in params.items() if v != ""})
    context: dict[str, Any] = {"form": form, "rows": [], "page": None, "refusal": ""}
    status = 200
    if not query.is_valid():
        context["refusal"] = _query_refusal(query.errors)
        status = 400
    else:
        try:
            page = _page(
                request,
                marketplace_selectors.catalogue_versions(**query.validated_data),
                CATALOGUE_PER_PAGE,
            )
        except PageRefusedError as exc:
            context["refusal"] = f"{exc.message} [{exc.code}]"
            status = exc.http_status
        else:
            context["page"] = page
            context["rows"] = [_catalogue_row(version) for version in page.object_list]
            filters = request.GET.copy()
            filters.pop("page", None)
            context["filters_query"] = filters.urlencode()
            context["filtered"] = any(
                params.get(name) for name in CatalogueFilterForm.base_fields if name != "ordering"
            )
    return render(request, "marketplace/datasets.html", context, status=status)


# --- A dataset's page -------------------------------------------------------------------


class BuyForm(DepositForm):
    """A purchase of one version: from the balance (method only), or a NEAR transfer
    (its hash). The key makes a second submit of the same rendered form (a double click,
    a retried request) answer the first purchase, charged once. Values are checked by the
    API's serializer and the purchase service, each refusal with its code."""

    method = forms.CharField(max_length=20, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["tx_hash"].required = False  # the balance form has none


def _buy_form(method: str, data: Any = None) -> BuyForm:
    """A buy form with ids of its own (the page has two), a fresh key when new."""
    if data is not None:
        return BuyForm(data, auto_id=f"{method}-%s")
    return BuyForm(
        initial={"method": method, "idempotency_key": uuid.uuid4().hex}, auto_id=f"{method}-%s"
    )


def _select_version(
    request: HttpRequest, versions: list[DatasetVersion], number: Any
) -> DatasetVersion:
    """The version `?version=n` names among the visible ones, else the newest ready one
    (the newest of all for an owner whose versions are all building)."""
    if number is not None:
        text = str(number)
        chosen = next(
            (
                v
                for v in versions
                if text.isascii() and text.isdigit() and len(text) <= 10 and v.number == int(text)
            ),
            None,
        )
        if chosen is None:
            raise Http404(gettext("No such version of this dataset."))
        return chosen
    ready = [v for v in versions if v.status == DatasetVersion.Status.READY]
    if not (ready or versions):
        raise Http404(gettext("No such version of this dataset."))
    return (ready or versions)[0]


def _sample_rows(version: DatasetVersion) -> list[dict[str, Any]]:
    """The sample records, their JSON as text (the template escapes it)."""
    rows = []
    for sample in version.samples if isinstance(version.samples, list) else []:
        if not isinstance(sample, dict):
            continue
        rows.append(
            {
                "data": json.dumps(sample.get("data"), ensure_ascii=False, sort_keys=True),
                "final_answer": json.dumps(sample.get("final_answer"), ensure_ascii=False),
                "confidence": _percent(sample.get("confidence")),
                "answers": sample.get("answers"),
            }
        )
    return rows


def _figures(version: DatasetVersion) -> dict[str, Any]:
    statistics = version.statistics if isinstance(version.statistics, dict) else {}
    agreement = statistics.get("agreement")
    agreement = agreement if isinstance(agreement, dict) else {}
    distribution = statistics.get("label_distribution")
    per_label = agreement.get("per_label")
    model = statistics.get("model")
    return {
        "distribution": [
            {**row, "share_percent": _percent(row.get("share"))}
            for row in (distribution if isinstance(distribution, list) else [])
            if isinstance(row, dict)
        ],
        "agreement": _percent(agreement.get("overall")),
        "agreement_per_label": [
            {**row, "agreeing_percent": _percent(row.get("agreeing"))}
            for row in (per_label if isinstance(per_label, list) else [])
            if isinstance(row, dict)
        ],
        "acceptance_rate": _percent(statistics.get("acceptance_rate")),
        "mean_score": statistics.get("mean_score"),
        "mean_confidence": _percent(statistics.get("mean_confidence")),
        "contributors": statistics.get("contributors", version.contributors_count),
        "answers": statistics.get("answers", version.answers_count),
        "model": model if isinstance(model, dict) else None,
    }


def _download_name(version: DatasetVersion, suffix: str) -> str:
    """The name the download is saved under (the API's Content-Disposition)."""
    return f"{slugify(version.dataset.title)[:60] or 'dataset'}-v{version.number}.{suffix}"


def _downloads(version: DatasetVersion) -> list[dict[str, Any]]:
    kwargs = {"dataset_id": version.dataset.public_id, "number": version.number}
    return [
        {
            "file": dataset_file,
            "name": _download_name(version, dataset_file.format),
            "url": reverse(
                "dataset-version-file", kwargs={**kwargs, "file_format": dataset_file.format}
            ),
        }
        for dataset_file in version.files.all()
    ]


def _purchase_row(purchase: Purchase) -> dict[str, Any]:
    return {
        "purchase": purchase,
        "status_badge": PURCHASE_STATUS_BADGES.get(Purchase.Status(purchase.status), ""),
        "total_near": yocto_to_near(purchase.price + purchase.fee),
        "deposit_near": yocto_to_near(purchase.deposit.amount) if purchase.deposit else None,
    }


def _detail_context(
    request: HttpRequest,
    dataset: Dataset,
    number: Any,
    forms_given: dict[str, BuyForm] | None = None,
) -> dict[str, Any]:
    user = _viewer(request)
    versions = marketplace_selectors.dataset_versions_visible(user=user, dataset=dataset)
    for version in versions:
        version.dataset = dataset
    version = _select_version(request, versions, number)
    owner = user is not None and dataset.owner_id == user.pk
    bought = marketplace_selectors.versions_bought(user=user, versions=[version])
    may_download = version.status == DatasetVersion.Status.READY and (owner or version.pk in bought)
    context: dict[str, Any] = {
        "dataset": dataset,
        "version": version,
        "versions": [
            {
                "version": v,
                "total_near": yocto_to_near(v.total_price),
                "selected": v.pk == version.pk,
            }
            for v in versions
        ],
        "task_type_name": TASK_TYPE_NAMES.get(dataset.task_type, dataset.task_type),
        "is_owner": owner,
        "bought": version.pk in bought,
        "may_download": may_download,
        "price_near": yocto_to_near(version.price),
        "fee_near": yocto_to_near(version.fee),
        "total_near": yocto_to_near(version.total_price),
        "royalty_percent": Decimal(version.royalty_bps) / 100,
        "figures": _figures(version),
        "samples": _sample_rows(version),
        "platform_account": settings.NEAR_ACCOUNT_ID,
        "poll_seconds": PURCHASE_POLL_SECONDS,
    }
    if may_download:
        context["downloads"] = _downloads(version)
        context["manifest_url"] = reverse(
            "dataset-version-manifest",
            kwargs={"dataset_id": dataset.public_id, "number": version.number},
        )
        context["manifest_name"] = _download_name(version, "manifest.json")
        context["verify_url"] = request.build_absolute_uri(reverse("dataset-verify"))
    elif user is not None and not owner:
        forms_given = forms_given or {}
        awaiting = (
            Purchase.objects.filter(
                buyer=user, version=version, status=Purchase.Status.AWAITING_PAYMENT
            )
            .select_related("deposit")
            .first()
        )
        balance = earnings_summary(user=user).balance
        context.update(
            {
                "awaiting": _purchase_row(awaiting) if awaiting else None,
                "on_sale": version.status == DatasetVersion.Status.READY
                and version.is_on_sale
                and dataset.is_listed,
                "balance_near": yocto_to_near(balance),
                "balance_covers": balance >= version.total_price,
                "balance_form": forms_given.get("balance") or _buy_form("balance"),
                "deposit_form": forms_given.get("deposit") or _buy_form("deposit"),
                "near_account": near_account_of(user=user),
            }
        )
    return context


@require_GET
def dataset_detail(request: HttpRequest, dataset_id: uuid.UUID) -> HttpResponse:
    """A dataset's page: its datasheet and figures, samples, versions, and, as the
    viewer may, the downloads or the purchase."""
    try:
        dataset = marketplace_selectors.dataset_get_visible(
            user=_viewer(request), public_id=dataset_id
        )
    except DatasetNotFoundError as exc:
        raise Http404(exc.message) from exc
    context = _detail_context(request, dataset, request.GET.get("version"))
    return render(request, "marketplace/dataset_detail.html", context)


def _detail_url(dataset: Dataset, number: int) -> str:
    return f"{reverse('dataset-detail', kwargs={'dataset_id': dataset.public_id})}?version={number}"


def _purchase_message(purchase: Purchase, *, created: bool) -> tuple[int, str]:
    values = {
        "title": purchase.version.dataset.title,
        "number": purchase.version.number,
        "total": yocto_to_near(purchase.price + purchase.fee),
    }
    if purchase.status == Purchase.Status.FAILED:
        return messages.ERROR, f"{purchase.failure_reason} [{purchase.failure_code or 'failed'}]"
    prefix = gettext("This purchase was recorded already.") + " " if not created else ""
    if purchase.status == Purchase.Status.COMPLETED:
        return messages.SUCCESS, prefix + gettext(
            "You bought “%(title)s” v%(number)s for %(total)s NEAR: the files are yours to "
            "download."
        ) % values
    return messages.INFO, prefix + gettext(
        "Your transfer is on chain; the purchase completes once the chain finalises it."
    )


@login_required_page
@require_POST
def dataset_buy(request: HttpRequest, dataset_id: uuid.UUID, number: int) -> HttpResponse:
    """Buy a version with the form's method (purchase_create, what the API calls); a
    refusal is shown on the dataset's page with its code, and nothing is charged."""
    user = signed_in_user(request)
    try:
        dataset = marketplace_selectors.dataset_get_visible(user=user, public_id=dataset_id)
        if not 0 < number <= 2**31 - 1:
            raise DatasetVersionNotFoundError(gettext("No such version of this dataset."))
        version = marketplace_selectors.dataset_version_get_visible(
            user=user, dataset=dataset, number=number
        )
    except (DatasetNotFoundError, DatasetVersionNotFoundError) as exc:
        raise Http404(exc.message) from exc
    method = request.POST.get("method", "")
    method = method if method in Purchase.Method.values else Purchase.Method.BALANCE
    form = _buy_form(method, request.POST)
    purchase = _purchase_from_form(request, user, version, form)
    if purchase is not None:
        return redirect(_detail_url(dataset, version.number))
    if "idempotency_key" in form.errors:  # altered or lost: the next submit gets a new one
        data = request.POST.copy()
        data["idempotency_key"] = uuid.uuid4().hex
        form.data = data
    context = _detail_context(request, dataset, number, {method: form})
    if "balance_form" not in context:
        # The owner, or a buyer already: the page has no buy form to show it in.
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, str(error))
        return redirect(_detail_url(dataset, version.number))
    context["refused"] = method
    return render(request, "marketplace/dataset_detail.html", context)


def _purchase_from_form(
    request: HttpRequest, user: User, version: DatasetVersion, form: BuyForm
) -> Purchase | None:
    """The purchase the form asks for, with its message; None with the refusals added."""
    if not form.is_valid():
        return None
    body = {"method": form.cleaned_data["method"]}
    for name in ("tx_hash", "sender_account_id"):
        if form.cleaned_data[name].strip():
            body[name] = form.cleaned_data[name].strip()
    serializer = PurchaseCreateSerializer(data=body)
    if not serializer.is_valid():
        for name, errors in serializer.errors.items():
            for error in errors:
                code = getattr(error, "code", "invalid")
                form.add_error(name if name in form.fields else None, f"{error} [{code}]")
        return None
    try:
        purchase, created = purchase_create(
            user=user,
            version=version,
            method=serializer.validated_data["method"],
            tx_hash=serializer.validated_data.get("tx_hash"),
            sender_account_id=serializer.validated_data.get("sender_account_id"),
            idempotency_key=form.cleaned_data["idempotency_key"],
        )
    except ApplicationError as exc:
        form.add_error(None, f"{exc.message} [{exc.code}]")
        return None
    purchase = marketplace_selectors.purchase_get_of_buyer(user=user, public_id=purchase.public_id)
    level, text = _purchase_message(purchase, created=created)
    messages.add_message(request, level, text)
    return purchase


@login_required_page
@require_POST
def purchase_check(request: HtmxHttpRequest, purchase_id: uuid.UUID) -> HttpResponse:
    """Ask the chain again about the deposit of the user's purchase that awaits it
    (deposit_recheck, then purchase_settle: what the periodic sweep runs). The dataset
    page polls this while the purchase waits; without JavaScript its button posts here.
    Someone else's purchase is as unknown as none."""
    user = signed_in_user(request)
    try:
        purchase = marketplace_selectors.purchase_get_of_buyer(user=user, public_id=purchase_id)
    except PurchaseNotFoundError as exc:
        raise Http404(exc.message) from exc
    unreachable = False
    if purchase.status == Purchase.Status.AWAITING_PAYMENT:
        try:
            if purchase.deposit_id is not None:
                deposit_recheck(deposit_id=purchase.deposit_id)
            purchase_settle(purchase_id=purchase.pk)
        except ChainUnavailableError:
            unreachable = True  # still waiting; the next look asks again
        purchase = marketplace_selectors.purchase_get_of_buyer(user=user, public_id=purchase_id)
        if purchase.status != Purchase.Status.AWAITING_PAYMENT:
            messages.add_message(request, *_purchase_message(purchase, created=True))
    decided = purchase.status != Purchase.Status.AWAITING_PAYMENT
    if request.htmx:
        if decided:
            return HttpResponseClientRefresh()  # downloads or the buy panel: the whole page
        context = {
            "awaiting": _purchase_row(purchase),
            "poll_seconds": PURCHASE_POLL_SECONDS,
            "unreachable": unreachable,
        }
        return render(request, "marketplace/_purchase_state.html", context)
    if unreachable:
        messages.warning(request, gettext("The NEAR RPC did not answer; try again shortly."))
    return redirect(_detail_url(purchase.version.dataset, purchase.version.number))


# --- My datasets --------------------------------------------------------------------------


@login_required_page
@require_GET
def my_datasets(request: HttpRequest) -> HttpResponse:
    """The user's purchases, newest first, with their state and, once completed, the
    downloads."""
    user = signed_in_user(request)
    purchases = marketplace_selectors.purchases_of_buyer(user=user).prefetch_related(
        Prefetch("version__files", queryset=DatasetFile.objects.order_by("format"))
    )
    try:
        page = _page(request, purchases, PURCHASES_PER_PAGE)
    except PageRefusedError as exc:
        context: dict[str, Any] = {
            "rows": [],
            "page": None,
            "refusal": f"{exc.message} [{exc.code}]",
        }
        return render(request, "marketplace/my_datasets.html", context, status=exc.http_status)
    rows = []
    for purchase in page.object_list:
        row = _purchase_row(purchase)
        if purchase.status == Purchase.Status.COMPLETED:
            row["downloads"] = _downloads(purchase.version)
            row["manifest_url"] = reverse(
                "dataset-version-manifest",
                kwargs={
                    "dataset_id": purchase.version.dataset.public_id,
                    "number": purchase.version.number,
                },
            )
        rows.append(row)
    return render(
        request, "marketplace/my_datasets.html", {"rows": rows, "page": page, "refusal": ""}
    )

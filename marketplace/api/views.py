import hashlib
import io
import json
import logging
from typing import Any, BinaryIO

from django.conf import settings
from django.db.models import QuerySet
from django.http import FileResponse, HttpResponse
from django.utils.text import slugify
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.generics import ListAPIView
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.idempotency import (
    IDEMPOTENCY_KEY_PARAMETER,
    idempotency_key_from_request,
    mark_replayed,
)
from config.parsers import StrictJSONParser, StrictMultiPartParser, size_text
from config.throttling import ClientIpThrottle, ScopedThrottle
from config.users import User, request_user
from labeling import selectors
from labeling.models import Project
from marketplace import selectors as marketplace_selectors
from marketplace.api.serializers import (
    CatalogueEntrySerializer,
    CatalogueQuerySerializer,
    DatasetDetailSerializer,
    DatasetPublishSerializer,
    DatasetVersionSerializer,
    DatasetVersionStateSerializer,
    DepositCreateSerializer,
    DepositSerializer,
    ExportJobCreateSerializer,
    ExportJobSerializer,
    ImportResultSerializer,
    PurchaseCreateSerializer,
    PurchaseSerializer,
    VerifyReportSerializer,
)
from marketplace.errors import (
    DatasetFileNotFoundError,
    DatasetNotPurchasedError,
    DatasetVersionNotFoundError,
    ExportFailedError,
    ExportFileGoneError,
    ExportNotReadyError,
    ImportTooLargeError,
    ManifestInvalidError,
    VerifyFilesTooManyError,
)
from marketplace.models import Dataset, DatasetVersion, ExportFormat, ExportJob, Licence, Purchase
from marketplace.selectors import CATALOGUE_ORDERINGS
from marketplace.services.datasets import dataset_publish
from marketplace.services.exports import CONTENT_TYPES as EXPORT_CONTENT_TYPES
from marketplace.services.exports import export_format_check, project_export_file
from marketplace.services.exports.jobs import export_download_name, export_job_start
from marketplace.services.funding import project_deposit
from marketplace.services.imports import (
    MAX_ITEMS_PER_IMPORT,
    items_import,
    rows_from_json,
    rows_from_upload,
)
from marketplace.services.manifests import MANIFEST_MAX_BYTES, manifest_verify
from marketplace.services.purchases import purchase_create
from marketplace.storage import store_open
from payouts.errors import (
    ChainUnavailableError,
    DepositError,
    InsufficientFundsError,
    NearAccountInvalidError,
)
from payouts.money import NEAR_AMOUNT_PATTERN
from payouts.near.keys import account_id_is_valid

log = logging.getLogger(__name__)

# Room for the multipart framing around the file (boundaries, part headers).
MULTIPART_OVERHEAD_BYTES = 64 * 1024


class ItemImportView(APIView):
    parser_classes = [StrictJSONParser, StrictMultiPartParser]

    def body_limit(self, kind: str) -> int:
        """A JSON body up to IMPORT_MAX_JSON_BYTES, a file up to IMPORT_MAX_FILE_BYTES."""
        if kind == "multipart":
            return settings.IMPORT_MAX_FILE_BYTES + MULTIPART_OVERHEAD_BYTES
        return settings.IMPORT_MAX_JSON_BYTES

    def body_too_large_message(self, kind: str, limit: int) -> str:
        if kind == "multipart":
            return self._file_too_large_message()
        return gettext(
            "A JSON body is at most %(json_limit)s here. Upload a bigger import as a file "
            "instead: multipart/form-data with the file in the `file` field (.jsonl, one "
            "item per line, or .csv), at most %(file_limit)s and %(items)s items."
        ) % {
            "json_limit": size_text(settings.IMPORT_MAX_JSON_BYTES),
            "file_limit": size_text(settings.IMPORT_MAX_FILE_BYTES),
            "items": f"{MAX_ITEMS_PER_IMPORT:,}",
        }

    @staticmethod
    def _file_too_large_message() -> str:
        return gettext("The file is larger than %(limit)s; split it into several imports.") % {
            "limit": size_text(settings.IMPORT_MAX_FILE_BYTES)
        }

    @extend_schema(
        request={
            "application/json": {
                "type": "array",
                "minItems": 1,
                "maxItems": MAX_ITEMS_PER_IMPORT,
                "items": {
                    "type": "object",
                    "minProperties": 1,
                    "description": 'An item: {"data": {...}, "external_id": "..."}, or its '
                    "data's fields themselves (with an optional external_id).",
                    "properties": {
                        "external_id": {
                            "oneOf": [
                                {"type": "string", "maxLength": 200},
                                {"type": "integer"},
                            ],
                            "nullable": True,
                            "description": "Your id for the item, unique in the project.",
                        },
                        "data": {"type": "object", "minProperties": 1},
                    },
                },
                "example": [{"external_id": "review-1", "data": {"text": "Works well."}}],
            },
            "multipart/form-data": {
                "type": "object",
                "properties": {"file": {"type": "string", "format": "binary"}},
                "required": ["file"],
            },
        },
        responses={201: ImportResultSerializer},
        description="A JSON list of items (a body of at most IMPORT_MAX_JSON_BYTES, 16 MiB "
        "by default), or a `file` upload (.json, .jsonl, .csv; at most IMPORT_MAX_FILE_BYTES, "
        "64 MiB by default); at most 100,000 items either way. All or nothing: bad rows "
        "answer 400 `import_invalid` with the first one's line number and reason, and "
        "up to 50 of them in `details.errors` ({line, reason}); too big, 413 "
        "(`request_too_large`, `import_too_large`).",
    )
    def post(self, request: Request, project_id: str) -> Response:
        project = selectors.project_get_owned(user=request_user(request), public_id=project_id)
        upload = request.FILES.get("file")
        if upload is not None:
            if upload.size > settings.IMPORT_MAX_FILE_BYTES:
                raise ImportTooLargeError(
                    self._file_too_large_message(),
                    extra={"limit_bytes": settings.IMPORT_MAX_FILE_BYTES},
                )
            rows = rows_from_upload(name=upload.name, content=upload.read())
        else:
            rows = rows_from_json(request.data)
        created = items_import(project=project, rows=rows)
        return Response({"created": created}, status=status.HTTP_201_CREATED)


class DepositCreateView(APIView):
    error_statuses = (409, 503)  # a completed project; the chain is asked during the request
    # Each deposit is looked up on chain during the request: limited per user.
    throttle_classes = [ScopedThrottle]
    throttle_scope = "deposit"

    @extend_schema(
        request=DepositCreateSerializer,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses={
            201: DepositSerializer,
            202: DepositSerializer,
            422: OpenApiResponse(
                description=_(
                    "`idempotency_key_reused`: the key was used for another deposit request."
                )
            ),
        },
        description=_(
            "Credit a NEAR transfer to the project's escrow, by transaction hash: 201 once "
            "credited, 202 while the chain has not finalised it. With an `Idempotency-Key`, "
            "a repeat answers the same deposit in its current state."
        ),
    )
    def post(self, request: Request, project_id: str) -> Response:
        user = request_user(request)
        project = selectors.project_get_owned(user=user, public_id=project_id)
        idempotency_key = idempotency_key_from_request(request)
        serializer = DepositCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        deposit, created = project_deposit(
            project=project,
            user=user,
            tx_hash=serializer.validated_data["tx_hash"],
            sender_account_id=serializer.validated_data.get("sender_account_id"),
            idempotency_key=idempotency_key,
        )
        # 201 once credited; 202 while the chain has not finalised it yet.
        code = status.HTTP_201_CREATED if deposit.status == "credited" else status.HTTP_202_ACCEPTED
        return mark_replayed(
            Response(DepositSerializer(deposit).data, status=code), created=created
        )


class ProjectExportView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("format", str, enum=list(EXPORT_CONTENT_TYPES), default="jsonl")
        ],
        responses={
            (200, "application/x-ndjson"): OpenApiTypes.STR,
            (200, "text/csv"): OpenApiTypes.STR,
            (200, "application/vnd.apache.parquet"): OpenApiTypes.BINARY,
        },
        description="The whole export, answered only once complete (with Content-Length): "
        "an export that fails half-way answers an error, never a truncated 200. For a big "
        "project, start a background export instead (POST .../exports).",
    )
    def get(self, request: Request, project_id: str) -> FileResponse:
        project = selectors.project_get_owned(user=request_user(request), public_id=project_id)
        fmt = export_format_check(request.query_params.get("format", "jsonl"))
        export = project_export_file(project=project, format=fmt)
        response = FileResponse(
            export.file,
            content_type=EXPORT_CONTENT_TYPES[fmt],
            as_attachment=True,
            filename=f"{project.public_id}.{fmt}",
        )
        response["Content-Length"] = str(export.size)
        if export.stats is not None:
            response["X-Content-SHA256"] = export.stats.sha256
        return response


class DatasetPublishView(APIView):
    error_statuses = (404, 409)

    @extend_schema(
        request=DatasetPublishSerializer,
        responses={202: DatasetVersionStateSerializer},
        description=_(
            "Publish the completed project's data as the next version of its dataset: an "
            "immutable snapshot with the given terms. Answers 202 with the version while "
            "its files and signed manifest are written; it is on sale once `ready`."
        ),
    )
    def post(self, request: Request, project_id: str) -> Response:
        user = request_user(request)
        project = selectors.project_get_owned(user=user, public_id=project_id)
        serializer = DatasetPublishSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        version = dataset_publish(user=user, project=project, **serializer.validated_data)
        version.refresh_from_db()  # the build may have run already (eager Celery)
        return Response(
            DatasetVersionStateSerializer(version).data, status=status.HTTP_202_ACCEPTED
        )


class DatasetVerifyView(APIView):
    """Check a signed manifest, and files against it, without signing in."""

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]
    throttle_classes = [ClientIpThrottle]
    throttle_scope = "dataset_verify"
    parser_classes = [StrictMultiPartParser]
    error_statuses = (503,)  # the signer's key is looked up on chain

    def body_limit(self, kind: str) -> int:
        return settings.DATASET_VERIFY_MAX_BYTES + MULTIPART_OVERHEAD_BYTES

    def body_too_large_message(self, kind: str, limit: int) -> str:
        return gettext(
            "A verification takes at most %(limit)s of manifest and files; check big files "
            "with `manage.py dataset_verify` instead, which reads them from disk."
        ) % {"limit": size_text(settings.DATASET_VERIFY_MAX_BYTES)}

    @extend_schema(
        request={
            "multipart/form-data": {
                "type": "object",
                "properties": {
                    "manifest": {
                        "type": "string",
                        "format": "binary",
                        "description": "The signed manifest document (JSON), as downloaded.",
                    },
                    "files": {
                        "type": "array",
                        "items": {"type": "string", "format": "binary"},
                        "maxItems": 10,
                        "description": "Data files to check against it (any names).",
                    },
                    "account_id": {
                        "type": "string",
                        "maxLength": 64,
                        "description": "The NEAR account you expect to have signed it; "
                        "by default this platform's account.",
                    },
                },
                "required": ["manifest"],
            }
        },
        responses={200: VerifyReportSerializer},
        description=_(
            "Verify a dataset download: the manifest's sha256, its ed25519 signature, that "
            "the signing key is a full-access key of the expected account on chain, and "
            "that each uploaded file is one of the manifest's files (by sha256 and size). "
            "Answers 200 with `ok` and every check, passed or not; 400 `manifest_*` for a "
            "document that is not a manifest, 413 (`request_too_large`, "
            "`manifest_too_large`) past the size limit, 503 `chain_unavailable` (with the "
            "checks in `details`) when the NEAR RPC cannot say. To trust no server at all, "
            "run `manage.py dataset_verify` against a NEAR RPC of your choice."
        ),
    )
    def post(self, request: Request) -> Response:
        document = _upload_bytes(request, "manifest")
        uploads = _uploads(request, "files")
        if len(uploads) > settings.DATASET_VERIFY_MAX_FILES:
            raise VerifyFilesTooManyError(
                gettext("At most %(count)s files per verification.")
                % {"count": settings.DATASET_VERIFY_MAX_FILES}
            )
        account_id = request.data.get("account_id") or settings.NEAR_ACCOUNT_ID
        if not isinstance(account_id, str):  # a file part (request.data holds those too)
            raise NearAccountInvalidError(gettext("Send the NEAR account id as text."))
        if not account_id_is_valid(account_id):
            raise NearAccountInvalidError(
                gettext("Not a valid NEAR account id: %(account)s.")
                % {"account": json.dumps(account_id)}
            )
        report = manifest_verify(
            document=document, files=uploads, expected_account_id=account_id, client=None
        )
        body = VerifyReportSerializer(report.to_dict()).data
        if report.chain_unavailable:
            raise ChainUnavailableError(
                gettext("The NEAR RPC did not answer; the key could not be checked. Try again."),
                extra=body,
            )
        return Response(body)


def _upload_bytes(request: Request, field: str) -> bytes:
    """A field's content, sent as a file part or as a text part; manifest_missing if absent."""
    upload = request.FILES.get(field)
    if upload is not None:
        data: bytes = upload.read(MANIFEST_MAX_BYTES + 1)
        return data
    value = request.data.get(field)
    if isinstance(value, str) and value:
        return value.encode("utf-8")
    raise ManifestInvalidError(
        gettext("Send the signed manifest in the `manifest` field."), code="manifest_missing"
    )


def _uploads(request: Request, field: str) -> dict[str, BinaryIO]:
    """The field's parts by name (a repeated name gets "#2", "#3"...), files or text."""
    found: dict[str, BinaryIO] = {}

    def add(name: str, file: Any) -> None:
        unique, number = name, 1
        while unique in found:
            number += 1
            unique = f"{name}#{number}"
        found[unique] = file

    for upload in request.FILES.getlist(field):
        add(upload.name or field, upload)
    for index, value in enumerate(
        request.data.getlist(field) if hasattr(request.data, "getlist") else []
    ):
        if isinstance(value, str):
            add(f"{field}[{index}]", io.BytesIO(value.encode("utf-8")))
    return found


# --- Datasets: catalogue, purchases, downloads ------------------------------------------

MAX_VERSION_NUMBER = 2**31 - 1  # a PositiveIntegerField: larger numbers name nothing

CONTENT_TYPES: dict[str, str] = {
    ExportFormat.JSONL: "application/x-ndjson",
    ExportFormat.CSV: "text/csv; charset=utf-8",
    ExportFormat.PARQUET: "application/vnd.apache.parquet",
}


class CataloguePagination(PageNumberPagination):
    """`?page=` (from 1) and `?page_size=` (1 to 100, default 20), strictly: a value that
    is not one is 400 `invalid` (DRF would silently use the default); a page past the
    end is 404 `not_found`."""

    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100

    def paginate_queryset(self, queryset: Any, request: Request, view: Any = None) -> Any:
        for name, most in (("page", 10**9), ("page_size", self.max_page_size)):
            value = request.query_params.get(name)
            if value is not None and not (
                value.isascii() and value.isdigit() and 1 <= int(value[:10]) <= most
            ):
                raise ValidationError(
                    {name: [gettext("A whole number from 1 to %(most)s.") % {"most": most}]}
                )
        return super().paginate_queryset(queryset, request, view)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            most = 10**9 if parameter["name"] == "page" else self.max_page_size
            parameter["schema"] = {"type": "integer", "minimum": 1, "maximum": most}
        return parameters


def _viewer(request: Request) -> User | None:
    """The signed-in user, or None for an anonymous reader of the catalogue."""
    return request_user(request) if request.user.is_authenticated else None


def _version_of(request: Request, dataset_id: str, number: int) -> tuple[Dataset, DatasetVersion]:
    user = _viewer(request)
    dataset = marketplace_selectors.dataset_get_visible(user=user, public_id=dataset_id)
    if not 0 < number <= MAX_VERSION_NUMBER:
        raise DatasetVersionNotFoundError(gettext("No such version of this dataset."))
    version = marketplace_selectors.dataset_version_get_visible(
        user=user, dataset=dataset, number=number
    )
    return dataset, version


_CATALOGUE_PARAMETERS = [
    OpenApiParameter(
        "q",
        {"type": "string", "maxLength": 200},
        description=_("Words in the title or summary (any case)."),
    ),
    OpenApiParameter(
        "task_type", {"type": "string", "maxLength": 30}, description=_("Only this task type.")
    ),
    OpenApiParameter("licence", str, enum=Licence.values, description=_("Only this licence.")),
    OpenApiParameter(
        "min_items",
        {"type": "integer", "minimum": 0, "maximum": MAX_VERSION_NUMBER},
        description=_("At least this many items."),
    ),
    OpenApiParameter(
        "max_items",
        {"type": "integer", "minimum": 0, "maximum": MAX_VERSION_NUMBER},
        description=_("At most this many items."),
    ),
    OpenApiParameter(
        "max_price",
        str,
        pattern=NEAR_AMOUNT_PATTERN,
        description=_("At most this total price (price + fee), NEAR as a decimal string."),
    ),
    OpenApiParameter(
        "ordering",
        str,
        enum=sorted(CATALOGUE_ORDERINGS),
        default="newest",
        description=_("newest; price (cheapest first) or -price; size (largest first) or -size."),
    ),
]


class DatasetCatalogueView(ListAPIView):
    """The catalogue: listed datasets with a version on sale, with that latest version's
    terms and figures. Open to anyone."""

    error_statuses = (404,)  # a page past the end
    permission_classes = [AllowAny]
    serializer_class = CatalogueEntrySerializer
    pagination_class = CataloguePagination

    def get_queryset(self) -> QuerySet[DatasetVersion]:
        query = CatalogueQuerySerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        return marketplace_selectors.catalogue_versions(**query.validated_data)

    @extend_schema(parameters=_CATALOGUE_PARAMETERS)
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class DatasetDetailView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(responses=DatasetDetailSerializer)
    def get(self, request: Request, dataset_id: str) -> Response:
        """A dataset with its versions (the owner sees them all, others the ready ones):
        terms, datasheet, figures, samples, files, and what the viewer may do."""
        user = _viewer(request)
        dataset = marketplace_selectors.dataset_get_visible(user=user, public_id=dataset_id)
        versions = marketplace_selectors.dataset_versions_visible(user=user, dataset=dataset)
        for version in versions:
            version.dataset = dataset
        owner = user is not None and dataset.owner_id == user.pk
        context = {
            "owner": owner,
            "bought": marketplace_selectors.versions_bought(user=user, versions=versions),
        }
        data = {
            "public_id": dataset.public_id,
            "title": dataset.title,
            "summary": dataset.summary,
            "task_type": dataset.task_type,
            "is_listed": dataset.is_listed,
            "is_owner": owner,
            "created_at": dataset.created_at,
            "versions": versions,
        }
        return Response(DatasetDetailSerializer(data, context=context).data)


class DatasetVersionView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(responses=DatasetVersionSerializer)
    def get(self, request: Request, dataset_id: str, number: int) -> Response:
        """One version: terms, datasheet, figures, samples, files (sizes and sha256)."""
        user = _viewer(request)
        dataset, version = _version_of(request, dataset_id, number)
        context = {
            "owner": user is not None and dataset.owner_id == user.pk,
            "bought": marketplace_selectors.versions_bought(user=user, versions=[version]),
        }
        return Response(DatasetVersionSerializer(version, context=context).data)


class PurchaseCreateView(APIView):
    error_statuses = (409, 503)  # not for sale, owned, funds; a deposit is looked up on chain
    throttle_classes = [ScopedThrottle]
    throttle_scope = "deposit"

    @extend_schema(
        request=PurchaseCreateSerializer,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses={
            200: OpenApiResponse(PurchaseSerializer, description=_("A replay (same key).")),
            201: PurchaseSerializer,
            202: PurchaseSerializer,
            422: OpenApiResponse(
                description=_("`idempotency_key_reused`: the key was used for another purchase.")
            ),
        },
        description=_(
            "Buy this version: price + fee from your balance (`method` balance), or from a "
            "NEAR transfer to the platform account (`method` deposit, `tx_hash`). 201 once "
            "paid; 202 while the deposit is not final (the purchase completes by itself "
            "once it is: poll GET /api/purchases/{id}/). A deposit short of the total "
            "fails the purchase and goes to your balance. With an `Idempotency-Key`, a "
            "repeat answers the same purchase (200, `Idempotent-Replayed: true`), charged "
            "once. Codes: dataset_not_for_sale, dataset_own_purchase, "
            "dataset_already_owned, insufficient_funds, purchase_method_invalid, deposit_*."
        ),
    )
    def post(self, request: Request, dataset_id: str, number: int) -> Response:
        user = request_user(request)
        idempotency_key = idempotency_key_from_request(request)
        serializer = PurchaseCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        _dataset, version = _version_of(request, dataset_id, number)
        purchase, created = purchase_create(
            user=user,
            version=version,
            method=serializer.validated_data["method"],
            tx_hash=serializer.validated_data.get("tx_hash"),
            sender_account_id=serializer.validated_data.get("sender_account_id"),
            idempotency_key=idempotency_key,
        )
        purchase = marketplace_selectors.purchase_get_of_buyer(
            user=user, public_id=purchase.public_id
        )
        if purchase.status == Purchase.Status.FAILED:
            # The deposit was credited (to the buyer's balance): the purchase stays, failed.
            error = (
                InsufficientFundsError
                if purchase.failure_code == InsufficientFundsError.code
                else DepositError
            )
            raise error(
                purchase.failure_reason or gettext("The purchase failed."),
                code=purchase.failure_code or None,
                extra={"purchase": str(purchase.public_id)},
            )
        code: int
        if not created:
            code = status.HTTP_200_OK
        elif purchase.status == Purchase.Status.COMPLETED:
            code = status.HTTP_201_CREATED
        else:
            code = status.HTTP_202_ACCEPTED
        return mark_replayed(
            Response(PurchaseSerializer(purchase).data, status=code), created=created
        )


class PurchaseListView(ListAPIView):
    """Your purchases, newest first."""

    error_statuses = (404,)  # a page past the end
    serializer_class = PurchaseSerializer
    pagination_class = CataloguePagination

    def get_queryset(self) -> QuerySet[Purchase]:
        return marketplace_selectors.purchases_of_buyer(user=request_user(self.request))


class PurchaseDetailView(APIView):
    @extend_schema(responses=PurchaseSerializer)
    def get(self, request: Request, purchase_id: str) -> Response:
        """One of your purchases, as it is now (a deposit's completes it by itself)."""
        purchase = marketplace_selectors.purchase_get_of_buyer(
            user=request_user(request), public_id=purchase_id
        )
        return Response(PurchaseSerializer(purchase).data)


def _download_checked(request: Request, dataset_id: str, number: int) -> DatasetVersion:
    """The version, if the caller may download it: 404 if they may not even see it, 403
    `dataset_not_purchased` if they neither own the dataset nor bought this version."""
    _dataset, version = _version_of(request, dataset_id, number)
    if not marketplace_selectors.may_download(user=request_user(request), version=version):
        raise DatasetNotPurchasedError(gettext("Buy this version of the dataset to download it."))
    return version


def _file_name(version: DatasetVersion, suffix: str) -> str:
    slug = slugify(version.dataset.title)[:60] or "dataset"
    return f"{slug}-v{version.number}.{suffix}"


class DatasetFileDownloadView(APIView):
    @extend_schema(
        responses={
            (200, content_type): OpenApiTypes.BINARY for content_type in CONTENT_TYPES.values()
        },
        description=_(
            "A file of the snapshot (jsonl, csv or parquet), for the dataset's owner and "
            "buyers of this version only (others: 403 `dataset_not_purchased`). "
            "`X-Content-SHA256` is the file's sha256, as the signed manifest pins it."
        ),
    )
    def get(self, request: Request, dataset_id: str, number: int, file_format: str) -> Any:
        version = _download_checked(request, dataset_id, number)
        dataset_file = next((f for f in version.files.all() if f.format == file_format), None)
        if dataset_file is None:
            raise DatasetFileNotFoundError(gettext("This version has no file in that format."))
        try:
            handle = store_open(dataset_file.file_name)
        except (FileNotFoundError, ValueError) as exc:
            log.error(
                "dataset file %s of version %s is missing", dataset_file.file_name, version.pk
            )
            raise DatasetFileNotFoundError(gettext("This file is not available.")) from exc
        response = FileResponse(
            handle,
            content_type=CONTENT_TYPES.get(dataset_file.format, "application/octet-stream"),
            as_attachment=True,
            filename=_file_name(version, dataset_file.format),
        )
        response["Content-Length"] = str(dataset_file.size)
        response["X-Content-SHA256"] = dataset_file.sha256
        return response


class DatasetManifestDownloadView(APIView):
    @extend_schema(
        responses={(200, "application/json"): OpenApiTypes.OBJECT},
        description=_(
            "The snapshot's signed manifest (check it with `manage.py dataset_verify` or "
            "POST /api/datasets/verify), for the owner and buyers only."
        ),
    )
    def get(self, request: Request, dataset_id: str, number: int) -> HttpResponse:
        version = _download_checked(request, dataset_id, number)
        if not version.manifest:
            raise DatasetFileNotFoundError(gettext("This version has no manifest."))
        body = version.manifest.encode()
        response = HttpResponse(body, content_type="application/json")
        response["Content-Disposition"] = (
            f'attachment; filename="{_file_name(version, "manifest.json")}"'
        )
        response["Content-Length"] = str(len(body))
        response["X-Content-SHA256"] = hashlib.sha256(body).hexdigest()
        return response


class ExportJobListView(APIView):
    error_statuses = (409, 429)
    throttle_classes = [ScopedThrottle]
    throttle_scope = "export"

    def get_throttles(self) -> list[Any]:
        # Starting exports is limited; reading their state (polled) is not.
        return super().get_throttles() if self.request.method == "POST" else []

    @extend_schema(responses={200: ExportJobSerializer(many=True)})
    def get(self, request: Request, project_id: str) -> Response:
        project = selectors.project_get_owned(user=request_user(request), public_id=project_id)
        jobs = marketplace_selectors.export_jobs(project=project)
        return Response(ExportJobSerializer(jobs, many=True).data)

    @extend_schema(
        request=ExportJobCreateSerializer,
        responses={202: ExportJobSerializer},
        description=_(
            "Start a background export of the project in one format (jsonl, csv, parquet): "
            "202 with the job, whose `progress` and `status` tell when its `download_url` "
            "is ready. An export of the same format already under way is answered instead "
            "of a second."
        ),
    )
    def post(self, request: Request, project_id: str) -> Response:
        user = request_user(request)
        project = selectors.project_get_owned(user=user, public_id=project_id)
        serializer = ExportJobCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        job = export_job_start(
            project=project, user=user, format=serializer.validated_data["format"]
        )
        return Response(ExportJobSerializer(job).data, status=status.HTTP_202_ACCEPTED)


class ExportJobDetailView(APIView):
    @extend_schema(responses={200: ExportJobSerializer})
    def get(self, request: Request, project_id: str, job_id: str) -> Response:
        project = selectors.project_get_owned(user=request_user(request), public_id=project_id)
        job = marketplace_selectors.export_job_get(project=project, public_id=job_id)
        return Response(ExportJobSerializer(job).data)


class ExportJobDownloadView(APIView):
    error_statuses = (409, 410)

    @extend_schema(
        responses={(200, "application/octet-stream"): OpenApiTypes.BINARY},
        description=_(
            "The export's file, once done (409 export_not_ready or export_failed before), "
            "with its sha256 in X-Content-SHA256."
        ),
    )
    def get(self, request: Request, project_id: str, job_id: str) -> FileResponse:
        project = selectors.project_get_owned(user=request_user(request), public_id=project_id)
        job = marketplace_selectors.export_job_get(project=project, public_id=job_id)
        return export_job_file_response(job=job, project=project)


class ExportJobManifestView(APIView):
    error_statuses = (409,)

    @extend_schema(
        responses={(200, "application/json"): OpenApiTypes.OBJECT},
        description=_(
            "The export's signed manifest (JSON), once done: the project, the scoring model "
            "and the file pinned by sha256 and size, signed with the platform's NEAR key. "
            "Check a download with `manage.py dataset_verify FILE --manifest MANIFEST`."
        ),
    )
    def get(self, request: Request, project_id: str, job_id: str) -> HttpResponse:
        project = selectors.project_get_owned(user=request_user(request), public_id=project_id)
        job = marketplace_selectors.export_job_get(project=project, public_id=job_id)
        return export_job_manifest_response(job=job)


def export_job_manifest_response(*, job: ExportJob) -> HttpResponse:
    """The done export's signed manifest as an attachment."""
    if job.status == ExportJob.Status.FAILED:
        raise ExportFailedError(gettext("This export failed; start another."))
    if job.status != ExportJob.Status.DONE or not job.manifest:
        raise ExportNotReadyError(gettext("This export is not ready yet."))
    response = HttpResponse(job.manifest.encode(), content_type="application/json")
    response["Content-Disposition"] = (
        f'attachment; filename="{export_download_name(job)}.manifest.json"'
    )
    return response


def export_job_file_response(*, job: ExportJob, project: Project) -> FileResponse:
    """The done export's file as an attachment (shared with the page's download link)."""
    if job.status == ExportJob.Status.FAILED:
        raise ExportFailedError(gettext("This export failed; start another."))
    if job.status != ExportJob.Status.DONE:
        raise ExportNotReadyError(gettext("This export is not ready yet."))
    try:
        file = store_open(job.file_name)
    except (OSError, ValueError) as exc:
        raise ExportFileGoneError(gettext("This export's file is gone; start another.")) from exc
    response = FileResponse(
        file,
        content_type=EXPORT_CONTENT_TYPES.get(job.format, "application/octet-stream"),
        as_attachment=True,
        filename=export_download_name(job),
    )
    response["Content-Length"] = str(job.file_bytes)
    response["X-Content-SHA256"] = job.file_sha256
    return response

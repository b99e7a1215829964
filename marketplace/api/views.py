import io
import json
from typing import Any, BinaryIO

from django.conf import settings
from django.http import FileResponse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.errors import ApplicationError
from config.idempotency import (
    IDEMPOTENCY_KEY_PARAMETER,
    idempotency_key_from_request,
    mark_replayed,
)
from config.parsers import StrictJSONParser, StrictMultiPartParser, size_text
from config.throttling import ClientIpThrottle, ScopedThrottle
from config.users import request_user
from labeling import selectors
from marketplace.api.serializers import (
    DatasetPublishSerializer,
    DatasetVersionStateSerializer,
    DepositCreateSerializer,
    DepositSerializer,
    ImportResultSerializer,
    VerifyReportSerializer,
)
from marketplace.errors import ImportTooLargeError, ManifestInvalidError, VerifyFilesTooManyError
from marketplace.services.datasets import dataset_publish
from marketplace.services.exports import project_export_file
from marketplace.services.funding import project_deposit
from marketplace.services.imports import (
    MAX_ITEMS_PER_IMPORT,
    items_import,
    rows_from_json,
    rows_from_upload,
)
from marketplace.services.manifests import MANIFEST_MAX_BYTES, manifest_verify
from payouts.errors import ChainUnavailableError, NearAccountInvalidError
from payouts.near.keys import account_id_is_valid

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
        parameters=[OpenApiParameter("format", str, enum=["jsonl"], default="jsonl")],
        responses={(200, "application/x-ndjson"): OpenApiTypes.STR},
        description="The whole export, answered only once complete (with Content-Length): "
        "an export that fails half-way answers an error, never a truncated 200.",
    )
    def get(self, request: Request, project_id: str) -> FileResponse:
        project = selectors.project_get_owned(user=request_user(request), public_id=project_id)
        fmt = request.query_params.get("format", "jsonl")
        if fmt != "jsonl":
            raise ApplicationError(
                f"Unknown export format {json.dumps(fmt)}; use jsonl.", code="export_format_unknown"
            )
        export = project_export_file(project=project)
        response = FileResponse(
            export.file,
            content_type="application/x-ndjson",
            as_attachment=True,
            filename=f"{project.public_id}.jsonl",
        )
        response["Content-Length"] = str(export.size)
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

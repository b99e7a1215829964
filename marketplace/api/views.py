import json

from django.conf import settings
from django.http import FileResponse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
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
from config.throttling import ScopedThrottle
from config.users import request_user
from labeling import selectors
from marketplace.api.serializers import (
    DatasetPublishSerializer,
    DatasetVersionStateSerializer,
    DepositCreateSerializer,
    DepositSerializer,
    ImportResultSerializer,
)
from marketplace.errors import ImportTooLargeError
from marketplace.services.datasets import dataset_publish
from marketplace.services.exports import project_export_file
from marketplace.services.funding import project_deposit
from marketplace.services.imports import (
    MAX_ITEMS_PER_IMPORT,
    items_import,
    rows_from_json,
    rows_from_upload,
)

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

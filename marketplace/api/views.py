from typing import Any

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

from config.idempotency import (
    IDEMPOTENCY_KEY_PARAMETER,
    idempotency_key_from_request,
    mark_replayed,
)
from config.parsers import StrictJSONParser, StrictMultiPartParser, size_text
from config.throttling import ScopedThrottle
from config.users import request_user
from labeling import selectors
from labeling.models import Project
from marketplace import selectors as marketplace_selectors
from marketplace.api.serializers import (
    DepositCreateSerializer,
    DepositSerializer,
    ExportJobCreateSerializer,
    ExportJobSerializer,
    ImportResultSerializer,
)
from marketplace.errors import (
    ExportFailedError,
    ExportFileGoneError,
    ExportNotReadyError,
    ImportTooLargeError,
)
from marketplace.models import ExportJob
from marketplace.services.exports import CONTENT_TYPES as EXPORT_CONTENT_TYPES
from marketplace.services.exports import export_format_check, project_export_file
from marketplace.services.exports.jobs import export_job_start
from marketplace.services.funding import project_deposit
from marketplace.services.imports import (
    MAX_ITEMS_PER_IMPORT,
    items_import,
    rows_from_json,
    rows_from_upload,
)
from marketplace.storage import store_open

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
        filename=f"{project.public_id}.{job.format}",
    )
    response["Content-Length"] = str(job.file_bytes)
    response["X-Content-SHA256"] = job.file_sha256
    return response

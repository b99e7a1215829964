import json

from django.http import StreamingHttpResponse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.errors import ApplicationError
from config.idempotency import (
    IDEMPOTENCY_KEY_PARAMETER,
    idempotency_key_from_request,
    mark_replayed,
)
from config.throttling import ScopedThrottle
from labeling import selectors
from marketplace.api.serializers import DepositCreateSerializer, DepositSerializer
from marketplace.services.exports import project_export_jsonl
from marketplace.services.funding import project_deposit
from marketplace.services.imports import items_import, rows_from_json, rows_from_upload

MAX_UPLOAD_BYTES = 64 * 1024 * 1024


class ItemImportView(APIView):
    parser_classes = [JSONParser, MultiPartParser]

    @extend_schema(
        request={
            "application/json": OpenApiTypes.OBJECT,
            "multipart/form-data": OpenApiTypes.BINARY,
        },
        responses={201: OpenApiTypes.OBJECT},
        description="A JSON list of items, or a `file` upload (.json, .jsonl, .csv). All or "
        "nothing: a bad row answers 400 with its line number and reason.",
    )
    def post(self, request: Request, project_id: str) -> Response:
        project = selectors.project_get_owned(user=request.user, public_id=project_id)
        upload = request.FILES.get("file")
        if upload is not None:
            if upload.size > MAX_UPLOAD_BYTES:
                raise ApplicationError("The file is larger than 64 MiB.", code="import_too_large")
            rows = rows_from_upload(name=upload.name, content=upload.read())
        else:
            rows = rows_from_json(request.data)
        created = items_import(project=project, rows=rows)
        return Response({"created": created}, status=status.HTTP_201_CREATED)


class DepositCreateView(APIView):
    error_statuses = (503,)  # the chain is asked during the request
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
        project = selectors.project_get_owned(user=request.user, public_id=project_id)
        idempotency_key = idempotency_key_from_request(request)
        serializer = DepositCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        deposit, created = project_deposit(
            project=project,
            user=request.user,
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
    )
    def get(self, request: Request, project_id: str) -> StreamingHttpResponse:
        project = selectors.project_get_owned(user=request.user, public_id=project_id)
        fmt = request.query_params.get("format", "jsonl")
        if fmt != "jsonl":
            raise ApplicationError(
                f"Unknown export format {json.dumps(fmt)}; use jsonl.", code="export_format_unknown"
            )
        response = StreamingHttpResponse(
            project_export_jsonl(project=project), content_type="application/x-ndjson"
        )
        response["Content-Disposition"] = f'attachment; filename="{project.public_id}.jsonl"'
        return response

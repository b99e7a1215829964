from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from labeling.api.serializers import AssignmentSerializer, SubmissionSerializer, SubmitSerializer
from labeling.services.queue import assignment_claim_next, assignment_skip, assignment_submit
from marketplace.selectors import project_get_visible


class NextItemView(APIView):
    @extend_schema(responses={200: AssignmentSerializer, 204: None})
    def get(self, request: Request, project_id: str) -> Response:
        """Reserve the next item for the caller; 204 when there is none left for them."""
        project = project_get_visible(user=request.user, public_id=project_id)
        assignment = assignment_claim_next(project=project, contributor=request.user)
        if assignment is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(AssignmentSerializer(assignment).data)


class SubmitView(APIView):
    @extend_schema(request=SubmitSerializer, responses={201: SubmissionSerializer})
    def post(self, request: Request, assignment_id: str) -> Response:
        serializer = SubmitSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        submission = assignment_submit(
            public_id=assignment_id,
            contributor=request.user,
            answer=serializer.validated_data["answer"],
            time_on_task_ms=serializer.validated_data.get("time_on_task_ms"),
        )
        return Response(SubmissionSerializer(submission).data, status=status.HTTP_201_CREATED)


class SkipView(APIView):
    @extend_schema(request=None, responses=AssignmentSerializer)
    def post(self, request: Request, assignment_id: str) -> Response:
        assignment = assignment_skip(public_id=assignment_id, contributor=request.user)
        return Response(AssignmentSerializer(assignment).data)

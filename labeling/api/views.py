from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.users import request_user
from labeling import selectors
from labeling.api.serializers import (
    AssignmentSerializer,
    ProjectCreateSerializer,
    ProjectSerializer,
    SubmissionSerializer,
    SubmitSerializer,
)
from labeling.models import Project
from labeling.services.projects import project_create, project_publish
from labeling.services.queue import assignment_claim_next, assignment_skip, assignment_submit


class ProjectListView(APIView):
    @extend_schema(responses=ProjectSerializer(many=True))
    def get(self, request: Request) -> Response:
        projects = Project.objects.filter(owner=request_user(request)).order_by("-created_at")[:200]
        return Response(ProjectSerializer(projects, many=True, context={"owner": True}).data)

    @extend_schema(request=ProjectCreateSerializer, responses={201: ProjectSerializer})
    def post(self, request: Request) -> Response:
        serializer = ProjectCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        project = project_create(owner=request_user(request), **serializer.validated_data)
        data = ProjectSerializer(project, context={"owner": True, "detail": True}).data
        return Response(data, status=status.HTTP_201_CREATED)


class ProjectDetailView(APIView):
    @extend_schema(responses=ProjectSerializer)
    def get(self, request: Request, project_id: str) -> Response:
        user = request_user(request)
        project = selectors.project_get_visible(user=user, public_id=project_id)
        owner = project.owner_id == user.pk
        context = {"owner": owner, "detail": owner}
        return Response(ProjectSerializer(project, context=context).data)


class ProjectPublishView(APIView):
    @extend_schema(request=None, responses=ProjectSerializer)
    def post(self, request: Request, project_id: str) -> Response:
        project = selectors.project_get_owned(user=request_user(request), public_id=project_id)
        project = project_publish(project=project)
        return Response(ProjectSerializer(project, context={"owner": True, "detail": True}).data)


class NextItemView(APIView):
    error_statuses = (409,)  # project_not_active

    @extend_schema(responses={200: AssignmentSerializer, 204: None})
    def get(self, request: Request, project_id: str) -> Response:
        """Reserve the next item for the caller; 204 when there is none left for them."""
        user = request_user(request)
        project = selectors.project_get_visible(user=user, public_id=project_id)
        assignment = assignment_claim_next(project=project, contributor=user)
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
            contributor=request_user(request),
            answer=serializer.validated_data["answer"],
            time_on_task_ms=serializer.validated_data.get("time_on_task_ms"),
        )
        return Response(SubmissionSerializer(submission).data, status=status.HTTP_201_CREATED)


class SkipView(APIView):
    @extend_schema(request=None, responses=AssignmentSerializer)
    def post(self, request: Request, assignment_id: str) -> Response:
        assignment = assignment_skip(public_id=assignment_id, contributor=request_user(request))
        return Response(AssignmentSerializer(assignment).data)

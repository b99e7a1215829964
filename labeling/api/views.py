import uuid

from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.users import request_user
from labeling import selectors
from labeling.api.serializers import (
    AssignmentSerializer,
    GoldSetSerializer,
    LabelsAddSerializer,
    MeWithQualitySerializer,
    MySubmissionSerializer,
    ProjectCreateSerializer,
    ProjectQualitySerializer,
    ProjectSerializer,
    ReviewRejectSerializer,
    ReviewSubmissionSerializer,
    SubmissionSerializer,
    SubmitSerializer,
)
from labeling.models import Project
from labeling.services.projects import (
    item_gold_set,
    project_create,
    project_labels_add,
    project_publish,
)
from labeling.services.quality import submission_review_decide
from labeling.services.queue import assignment_claim_next, assignment_skip, assignment_submit
from payouts.api.views import me_data


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
        submission.feedback = selectors.submission_feedback(submission=submission)  # type: ignore[attr-defined]
        return Response(SubmissionSerializer(submission).data, status=status.HTTP_201_CREATED)


class SkipView(APIView):
    @extend_schema(request=None, responses=AssignmentSerializer)
    def post(self, request: Request, assignment_id: str) -> Response:
        assignment = assignment_skip(public_id=assignment_id, contributor=request_user(request))
        return Response(AssignmentSerializer(assignment).data)


class ProjectLabelsView(APIView):
    @extend_schema(request=LabelsAddSerializer, responses=ProjectSerializer)
    def post(self, request: Request, project_id: str) -> Response:
        """Add labels to the project, running or not (existing labels stay)."""
        serializer = LabelsAddSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        project = selectors.project_get_owned(user=request_user(request), public_id=project_id)
        project = project_labels_add(project=project, labels=serializer.validated_data["labels"])
        return Response(ProjectSerializer(project, context={"owner": True, "detail": True}).data)


class ItemGoldView(APIView):
    error_statuses = (409,)  # item_answered

    @extend_schema(request=GoldSetSerializer, responses={204: None})
    def put(self, request: Request, project_id: str, item_id: str) -> Response:
        """Make the item gold with this answer (null: ordinary again), before it is handed out."""
        serializer = GoldSetSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        project = selectors.project_get_owned(user=request_user(request), public_id=project_id)
        item_gold_set(
            project=project, item_public_id=item_id, answer=serializer.validated_data["answer"]
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class ProjectQualityView(APIView):
    @extend_schema(responses=ProjectQualitySerializer)
    def get(self, request: Request, project_id: str) -> Response:
        """The project's quality: the fit, the model prior (used or not, and why), flagged
        gold, and the contributors' standing (the owner only)."""
        project = selectors.project_get_owned(user=request_user(request), public_id=project_id)
        return Response(ProjectQualitySerializer(selectors.project_quality(project=project)).data)


class ReviewListView(APIView):
    @extend_schema(responses=ReviewSubmissionSerializer(many=True))
    def get(self, request: Request, project_id: str) -> Response:
        """Answers whose score fell between the project's thresholds, oldest first."""
        project = selectors.project_get_owned(user=request_user(request), public_id=project_id)
        submissions = selectors.submissions_in_review(project=project)
        return Response(ReviewSubmissionSerializer(submissions, many=True).data)


class ReviewAcceptView(APIView):
    error_statuses = (409,)  # submission_not_in_review

    @extend_schema(request=None, responses=ReviewSubmissionSerializer)
    def post(self, request: Request, project_id: str, submission_id: str) -> Response:
        """Accept an answer in review: it is paid at once."""
        return _review_decide(request, project_id, submission_id, accept=True, reason="")


class ReviewRejectView(APIView):
    error_statuses = (409,)  # submission_not_in_review

    @extend_schema(request=ReviewRejectSerializer, responses=ReviewSubmissionSerializer)
    def post(self, request: Request, project_id: str, submission_id: str) -> Response:
        """Reject an answer in review, saying why (the contributor sees the reason)."""
        serializer = ReviewRejectSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        reason = serializer.validated_data["reason"]
        return _review_decide(request, project_id, submission_id, accept=False, reason=reason)


def _review_decide(
    request: Request, project_id: str, submission_id: str, *, accept: bool, reason: str
) -> Response:
    user = request_user(request)
    project = selectors.project_get_owned(user=user, public_id=project_id)
    submission = submission_review_decide(
        project=project,
        submission_public_id=submission_id,
        accept=accept,
        reason=reason,
        by=user,
    )
    return Response(ReviewSubmissionSerializer(submission).data)


class MeView(APIView):
    @extend_schema(responses=MeWithQualitySerializer)
    def get(self, request: Request) -> Response:
        """The caller: NEAR account, balance and earnings, and their quality (overall and
        per project, with the evidence and any pause with its reason)."""
        user = request_user(request)
        data = {**me_data(user=user), "quality": selectors.contributor_quality(user=user)}
        return Response(MeWithQualitySerializer(data).data)


class MySubmissionsView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter(
                "project", OpenApiTypes.UUID, description=_("Only this project's answers.")
            )
        ],
        responses=MySubmissionSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        """The caller's answers, newest first (200 at most): the decision and its reason,
        and the score with the parts it was made of."""
        given = request.query_params.get("project")
        project = None
        if given is not None:
            try:
                project = uuid.UUID(given)
            except ValueError as exc:
                raise ValidationError({"project": [_("Must be a project id (a UUID).")]}) from exc
        rows = selectors.submissions_of_contributor(
            user=request_user(request), project_public_id=project
        )
        return Response(MySubmissionSerializer(rows, many=True).data)

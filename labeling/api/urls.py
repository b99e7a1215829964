from django.urls import path

from labeling.api import views

urlpatterns = [
    path("me/", views.MeView.as_view(), name="me"),
    path("me/submissions", views.MySubmissionsView.as_view(), name="me-submissions"),
    path("projects/", views.ProjectListView.as_view(), name="projects"),
    path("projects/<uuid:project_id>/", views.ProjectDetailView.as_view(), name="project"),
    path(
        "projects/<uuid:project_id>/publish",
        views.ProjectPublishView.as_view(),
        name="project-publish",
    ),
    path("projects/<uuid:project_id>/next", views.NextItemView.as_view(), name="project-next"),
    path(
        "assignments/<uuid:assignment_id>/submit",
        views.SubmitView.as_view(),
        name="assignment-submit",
    ),
    path(
        "projects/<uuid:project_id>/labels",
        views.ProjectLabelsView.as_view(),
        name="project-labels",
    ),
    path(
        "projects/<uuid:project_id>/items/<uuid:item_id>/gold",
        views.ItemGoldView.as_view(),
        name="item-gold",
    ),
    path(
        "projects/<uuid:project_id>/quality",
        views.ProjectQualityView.as_view(),
        name="project-quality",
    ),
    path("projects/<uuid:project_id>/review", views.ReviewListView.as_view(), name="review"),
    path(
        "projects/<uuid:project_id>/review/<uuid:submission_id>/accept",
        views.ReviewAcceptView.as_view(),
        name="review-accept",
    ),
    path(
        "projects/<uuid:project_id>/review/<uuid:submission_id>/reject",
        views.ReviewRejectView.as_view(),
        name="review-reject",
    ),
    path("assignments/<uuid:assignment_id>/skip", views.SkipView.as_view(), name="assignment-skip"),
]

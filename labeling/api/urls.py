from django.urls import path

from labeling.api import views

urlpatterns = [
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
    path("assignments/<uuid:assignment_id>/skip", views.SkipView.as_view(), name="assignment-skip"),
]

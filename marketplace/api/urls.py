from django.urls import path

from marketplace.api import views

urlpatterns = [
    path("projects/", views.ProjectListView.as_view(), name="projects"),
    path("projects/<uuid:project_id>/", views.ProjectDetailView.as_view(), name="project"),
    path("projects/<uuid:project_id>/items/", views.ItemImportView.as_view(), name="project-items"),
    path(
        "projects/<uuid:project_id>/deposits/",
        views.DepositCreateView.as_view(),
        name="project-deposits",
    ),
    path(
        "projects/<uuid:project_id>/publish",
        views.ProjectPublishView.as_view(),
        name="project-publish",
    ),
    path(
        "projects/<uuid:project_id>/export",
        views.ProjectExportView.as_view(),
        name="project-export",
    ),
]

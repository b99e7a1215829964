from django.urls import path

from marketplace.api import views

urlpatterns = [
    path("datasets/verify", views.DatasetVerifyView.as_view(), name="dataset-verify"),
    path("projects/<uuid:project_id>/items/", views.ItemImportView.as_view(), name="project-items"),
    path(
        "projects/<uuid:project_id>/deposits/",
        views.DepositCreateView.as_view(),
        name="project-deposits",
    ),
    path(
        "projects/<uuid:project_id>/export",
        views.ProjectExportView.as_view(),
        name="project-export",
    ),
    path(
        "projects/<uuid:project_id>/datasets",
        views.DatasetPublishView.as_view(),
        name="project-dataset-publish",
    ),
]

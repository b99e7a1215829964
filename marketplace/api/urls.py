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
        "projects/<uuid:project_id>/exports",
        views.ExportJobListView.as_view(),
        name="project-exports",
    ),
    path(
        "projects/<uuid:project_id>/exports/<uuid:job_id>",
        views.ExportJobDetailView.as_view(),
        name="project-export-job",
    ),
    path(
        "projects/<uuid:project_id>/exports/<uuid:job_id>/download",
        views.ExportJobDownloadView.as_view(),
        name="project-export-job-download",
    ),
    path(
        "projects/<uuid:project_id>/exports/<uuid:job_id>/manifest",
        views.ExportJobManifestView.as_view(),
        name="project-export-job-manifest",
    ),
    path(
        "projects/<uuid:project_id>/datasets",
        views.DatasetPublishView.as_view(),
        name="project-dataset-publish",
    ),
]

urlpatterns += [
    path("datasets/", views.DatasetCatalogueView.as_view(), name="datasets"),
    path("datasets/<uuid:dataset_id>/", views.DatasetDetailView.as_view(), name="dataset"),
    path(
        "datasets/<uuid:dataset_id>/versions/<int:number>/",
        views.DatasetVersionView.as_view(),
        name="dataset-version",
    ),
    path(
        "datasets/<uuid:dataset_id>/versions/<int:number>/purchases",
        views.PurchaseCreateView.as_view(),
        name="dataset-version-purchases",
    ),
    path(
        "datasets/<uuid:dataset_id>/versions/<int:number>/files/<str:file_format>",
        views.DatasetFileDownloadView.as_view(),
        name="dataset-version-file",
    ),
    path(
        "datasets/<uuid:dataset_id>/versions/<int:number>/manifest",
        views.DatasetManifestDownloadView.as_view(),
        name="dataset-version-manifest",
    ),
    path("purchases/", views.PurchaseListView.as_view(), name="purchases"),
    path("purchases/<uuid:purchase_id>/", views.PurchaseDetailView.as_view(), name="purchase"),
]

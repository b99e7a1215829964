"""The requester's set-up pages (a project's items, its funding, publishing) and the
wizard's preview. labeling/urls.py holds the page map every helper shares; the routes
of these steps live here, beside their views."""

from django.urls import path

from labeling.views import requester
from marketplace import views, views_datasets

urlpatterns = [
    path(
        "projects/preview-instructions/",
        requester.instructions_preview,
        name="project-instructions-preview",
    ),
    path("projects/<uuid:project_id>/items/", views.project_upload, name="project-upload"),
    path("projects/<uuid:project_id>/fund/", views.project_fund, name="project-fund"),
    path(
        "projects/<uuid:project_id>/fund/deposits/",
        views.project_deposits_check,
        name="project-deposits-check",
    ),
    path("projects/<uuid:project_id>/publish/", views.project_publish, name="project-publish"),
    path("projects/<uuid:project_id>/exports/", views.project_exports, name="project-exports"),
    path(
        "projects/<uuid:project_id>/dataset/",
        views_datasets.project_dataset,
        name="project-dataset",
    ),
    path(
        "projects/<uuid:project_id>/dataset/versions/",
        views_datasets.project_dataset_versions,
        name="project-dataset-versions",
    ),
    path("datasets/", views_datasets.dataset_catalogue, name="dataset-catalogue"),
    path("datasets/purchases/", views_datasets.my_datasets, name="my-datasets"),
    path(
        "datasets/purchases/<uuid:purchase_id>/check/",
        views_datasets.purchase_check,
        name="purchase-check",
    ),
    path("datasets/<uuid:dataset_id>/", views_datasets.dataset_detail, name="dataset-detail"),
    path(
        "datasets/<uuid:dataset_id>/versions/<int:number>/buy/",
        views_datasets.dataset_buy,
        name="dataset-buy",
    ),
]

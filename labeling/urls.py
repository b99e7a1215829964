from django.urls import path

from labeling.views import contribute, dashboard, requester

urlpatterns = [
    path("", contribute.home, name="home"),
    path("work/<uuid:project_id>/", contribute.workbench, name="workbench"),
    path("me/", contribute.me, name="me"),
    path("me/payouts/", contribute.me_payouts, name="me-payouts"),
    path("me/withdraw/", contribute.withdraw, name="me-withdraw"),
    path("projects/", requester.projects, name="requester-projects"),
    path("projects/new/", requester.project_new, name="project-new"),
    path("projects/<uuid:project_id>/", dashboard.project_dashboard, name="project-dashboard"),
    path(
        "projects/<uuid:project_id>/figures/",
        dashboard.project_figures,
        name="project-dashboard-figures",
    ),
    path(
        "projects/<uuid:project_id>/status/",
        dashboard.project_status_change,
        name="project-status",
    ),
    path("projects/<uuid:project_id>/review/", dashboard.project_review, name="project-review"),
    path(
        "projects/<uuid:project_id>/review/<uuid:submission_id>/accept/",
        dashboard.review_accept,
        name="project-review-accept",
    ),
    path(
        "projects/<uuid:project_id>/review/<uuid:submission_id>/reject/",
        dashboard.review_reject,
        name="project-review-reject",
    ),
]

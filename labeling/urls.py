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
]

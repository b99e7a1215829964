"""A project's page for its requester: progress, quality, review queue and export."""

from django.http import Http404, HttpRequest, HttpResponse


def project_dashboard(request: HttpRequest, project_id: str) -> HttpResponse:
    raise Http404  # placeholder until the dashboard lands

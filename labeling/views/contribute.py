"""Contributors' pages: open projects, the workbench, history and earnings."""

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from labeling.models import Project


def home(request: HttpRequest) -> HttpResponse:
    """The landing page: open projects and where to go next."""
    projects = Project.objects.filter(status=Project.Status.ACTIVE).order_by("-published_at")[:50]
    return render(request, "home.html", {"projects": projects})


def workbench(request: HttpRequest, project_id: str) -> HttpResponse:
    raise Http404  # placeholder until the workbench lands


def me(request: HttpRequest) -> HttpResponse:
    raise Http404  # placeholder until history and earnings land

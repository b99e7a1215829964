from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from labeling.models import Project


def home(request: HttpRequest) -> HttpResponse:
    """The landing page: open projects and where to go next."""
    projects = Project.objects.filter(status=Project.Status.ACTIVE).order_by("-published_at")[:50]
    return render(request, "home.html", {"projects": projects})

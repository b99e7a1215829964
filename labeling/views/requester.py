"""Requesters' pages: their projects, and the wizard that creates, fills and funds one."""

from django.http import Http404, HttpRequest, HttpResponse


def projects(request: HttpRequest) -> HttpResponse:
    raise Http404  # placeholder until the requester pages land


def project_new(request: HttpRequest) -> HttpResponse:
    raise Http404  # placeholder until the wizard lands

"""Signing in and out, signing up, the account page and its API tokens."""

from django.http import Http404, HttpRequest, HttpResponse


def signin(request: HttpRequest) -> HttpResponse:
    raise Http404  # placeholder until sign-in lands


def signup(request: HttpRequest) -> HttpResponse:
    raise Http404  # placeholder until sign-up lands


def signout(request: HttpRequest) -> HttpResponse:
    raise Http404  # placeholder until sign-out lands


def account(request: HttpRequest) -> HttpResponse:
    raise Http404  # placeholder until the account page lands

"""Who may open a page: the signed-in user, and their own projects (404 otherwise)."""

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest

from config.errors import NotFoundError
from config.users import User
from labeling import selectors
from labeling.models import Project


def signed_in_user(request: HttpRequest) -> User:
    """The user of a request that login_required let through."""
    user = request.user
    if not isinstance(user, User):
        raise PermissionDenied
    return user


def owned_project(request: HttpRequest, project_id: Any) -> Project:
    """The signed-in user's project, or 404: someone else's is as unknown as none."""
    try:
        return selectors.project_get_owned(user=signed_in_user(request), public_id=project_id)
    except NotFoundError as exc:
        raise Http404(exc.message) from exc

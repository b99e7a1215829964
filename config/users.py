"""The users' type, and the user of an authenticated API request.

settings.AUTH_USER_MODEL is Django's own `User` (the default): services and selectors
take `User`, the type django-stubs gives every foreign key to the user model. Views
pass them `request_user(request)`, not `request.user`, whose type also allows the
anonymous user that the API's default permission (IsAuthenticated) keeps out.
"""

from django.contrib.auth.models import AnonymousUser, User
from rest_framework.exceptions import NotAuthenticated
from rest_framework.request import Request

__all__ = ["User", "request_user"]


def request_user(request: Request) -> User:
    """The signed-in user of a request to a view that requires one.

    Raises NotAuthenticated (401) for an anonymous request, which such a view's
    permission check has already refused before the view runs.
    """
    user = request.user
    if isinstance(user, AnonymousUser):
        raise NotAuthenticated()
    return user

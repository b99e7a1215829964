"""Token authentication with one precompiled query.

DRF's TokenAuthentication builds a select_related ORM query on every request; on the
queue's hot path that compile cost was a fifth of a round trip. Same semantics: the
token must exist and its user be active.
"""

from typing import Any

from django.contrib.auth import get_user_model
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token


class FastTokenAuthentication(TokenAuthentication):
    def authenticate_credentials(self, key: str) -> tuple[Any, Any]:
        user_model = get_user_model()
        sql = (
            f"SELECT u.* FROM {user_model._meta.db_table} u "  # noqa: S608  (table names only)
            f"JOIN {Token._meta.db_table} t ON t.user_id = u.{user_model._meta.pk.column} "
            "WHERE t.key = %s"
        )
        users = list(user_model.objects.raw(sql, [key]))
        if not users:
            raise exceptions.AuthenticationFailed("Invalid token.")
        user = users[0]
        if not user.is_active:
            raise exceptions.AuthenticationFailed("User inactive or deleted.")
        return user, key

"""The per-username limits read the username as the sign-in does: every spelling that
signs in as one user counts as that user, and no spelling breaks the limit's key."""

import pytest
from rest_framework.test import APIClient

from config.throttling import _username

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "spelling",
    ["ada@example.org", " ADA@example.org\t", "\uff41da@example.org", "\uff21DA@example.org"],
)
def test_every_spelling_of_a_username_is_one_key(spelling) -> None:
    assert _username(spelling) == "ada@example.org"


def test_a_lone_surrogate_username_is_refused_not_a_500(settings) -> None:
    """JSON can carry a lone surrogate ("\\ud800"), which UTF-8 cannot encode."""
    response = APIClient().post(
        "/api/auth/token",
        b'{"username": "\\ud800", "password": "x"}',
        content_type="application/json",
    )
    assert 400 <= response.status_code < 500

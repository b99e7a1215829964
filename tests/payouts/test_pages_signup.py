"""Signing up with an email address and a password: Django's password rules, one account
per address, a rate limit, and on to a safe `next` signed in."""

import pytest
from django.contrib.auth import SESSION_KEY, get_user_model

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "a long and unusual passphrase 7"


def signup(client, email="ada@example.org", password=PASSWORD, again=None, **data):
    return client.post(
        "/signup/",
        {"email": email, "password1": password, "password2": again or password, **data},
    )


def test_the_page_renders(client) -> None:
    response = client.get("/signup/")
    assert response.status_code == 200
    assert 'name="email"' in response.content.decode()


def test_a_sign_up_makes_a_user_named_by_the_email_and_signs_in(client) -> None:
    response = signup(client, email="Ada@Example.ORG", next="/projects/new/")
    assert response.status_code == 302
    assert response["Location"] == "/projects/new/"
    user = get_user_model().objects.get()
    assert user.username == "Ada@example.org"  # the domain lowercased
    assert user.email == "Ada@example.org"
    assert user.check_password(PASSWORD)
    assert client.session[SESSION_KEY] == str(user.pk)


def test_an_unsafe_next_goes_home(client) -> None:
    response = signup(client, next="https://evil.example/")
    assert response["Location"] == "/"


@pytest.mark.parametrize(
    ("fields", "code", "status"),
    [
        ({"password": "password"}, "signup_password_invalid", 400),
        ({"password": "short1"}, "signup_password_invalid", 400),
        ({"email": "not-an-email"}, "signup_email_invalid", 400),
    ],
)
def test_a_refused_sign_up_says_why_and_writes_nothing(client, fields, code, status) -> None:
    response = signup(client, **fields)
    assert response.status_code == status
    assert f"[{code}]" in response.content.decode()
    assert get_user_model().objects.count() == 0
    assert SESSION_KEY not in client.session


def test_two_different_passwords_are_refused(client) -> None:
    response = signup(client, again=PASSWORD + "!")
    assert response.status_code == 400
    assert "The two passwords differ." in response.content.decode()
    assert get_user_model().objects.count() == 0


def test_an_address_taken_in_any_letter_case_is_refused(client) -> None:
    UserFactory(username="ada@example.org")
    response = signup(client, email="ADA@example.org")
    assert response.status_code == 409
    assert "[signup_email_taken]" in response.content.decode()
    assert get_user_model().objects.count() == 1


def test_signing_up_is_rate_limited(client, settings) -> None:
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "signup": "1/hour"}
    assert signup(client, email="one@example.org").status_code == 302
    client.post("/signout/")
    response = signup(client, email="two@example.org")
    assert response.status_code == 429
    assert "[throttled]" in response.content.decode()
    # What was refused is a sign-up, not a sign-in.
    assert "Too many sign-ups from here. Try again in" in response.content.decode()
    assert "sign-in attempts" not in response.content.decode()
    assert not get_user_model().objects.filter(username="two@example.org").exists()


def test_a_signed_in_visitor_is_sent_on(client) -> None:
    client.force_login(UserFactory())
    response = client.get("/signup/?next=/me/")
    assert response.status_code == 302
    assert response["Location"] == "/me/"

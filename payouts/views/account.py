"""Signing in and out, signing up, the account page and its API tokens.

NEAR sign-in happens in the page (static/js/near-signin.js): the browser account or a
wallet signs the API's challenge and posts it to /api/auth/near/verify (session mode);
these views render it and handle email and password.
"""

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from config.errors import ApplicationError
from config.throttling import page_attempt_wait, throttle_seconds, throttled_message
from config.users import User
from payouts import selectors
from payouts.errors import AuthError, SignupEmailTakenError, SignupError
from payouts.forms import PasswordSigninForm, SignupForm, TokenActionForm
from payouts.money import yocto_to_near
from payouts.services.accounts import user_signup
from payouts.services.auth import auth_token_regenerate, auth_token_revoke
from payouts.services.devchain import DEV_ACCOUNT_AMOUNT, DEV_FAUCET_AMOUNT

# The session key holding a new API token until the account page shows it, once.
NEW_TOKEN_SESSION_KEY = "payouts.new_api_token"  # noqa: S105  (a field name, not a secret)
# Wallets (NEAR Wallet Selector) reach these networks only, never the local chain.
WALLET_NETWORKS = ("mainnet", "testnet")
# Django's auth backend, named for login() where the user did not come from authenticate().
MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


# The longest `next` kept (characters): a path and query of this site, not a payload.
NEXT_MAX_LENGTH = 2000


def safe_next(request: HttpRequest, default: str) -> str:
    """The `next` of the POST or query if it is a path of this site, else `default`: a
    sign-in never sends anyone elsewhere.

    Only a printable absolute path is kept ("/projects/?page=2"): not a URL with a host
    (even this one), nor "//host", "/\\host" or "javascript:", nor a bare word, which
    `redirect()` would take for a view name, nor control characters a browser drops.
    """
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if (
        candidate.startswith("/")
        and len(candidate) <= NEXT_MAX_LENGTH
        and candidate.isprintable()
        and url_has_allowed_host_and_scheme(
            candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
    ):
        return candidate
    return default


def wallets_available() -> bool:
    return settings.NEAR_NETWORK_ID in WALLET_NETWORKS


def _near_messages() -> dict[str, str]:
    """The texts static/js/near-signin.js shows, translated here (no English in JS)."""
    return {
        "signing": _("Signing the sign-in message…"),
        "signedIn": _("Signed in. Taking you on…"),
        "linked": _("Linked. Reloading…"),
        "noAccount": _("This browser holds no NEAR account yet: create one or paste a key."),
        "invalidKey": _(
            "That is not a NEAR secret key. It starts with “ed25519:” followed by letters "
            "and digits."
        ),
        "failed": _("Something went wrong."),
        "offline": _("Nearlabel did not answer: check your connection and try again."),
        "walletLoading": _("Loading the wallet selector…"),
        "walletWaiting": _("Choose a wallet and approve the sign-in message there."),
        "walletClosed": _("The wallet selector was closed before a wallet signed."),
        "walletDescription": _(
            "Connect a NEAR wallet, then approve one message: it proves the account is "
            "yours. It moves no NEAR."
        ),
    }


def _near_context(request: HttpRequest) -> dict[str, Any]:
    return {
        "near_messages": _near_messages(),
        "wallets_available": wallets_available(),
        "dev_account_near": yocto_to_near(DEV_ACCOUNT_AMOUNT),
        "dev_faucet_near": yocto_to_near(DEV_FAUCET_AMOUNT),
    }


def _with_wallet_popups(response: HttpResponse) -> HttpResponse:
    """Let a wallet's pop-up answer this page (window.opener) where wallets are offered.

    The site sends Cross-Origin-Opener-Policy: same-origin (settings), which cuts a
    cross-origin pop-up off from its opener, so a wallet could never report back.
    SecurityMiddleware keeps a value the view set.
    """
    if wallets_available():
        response["Cross-Origin-Opener-Policy"] = "same-origin-allow-popups"
    return response


@sensitive_post_parameters("password")
@never_cache
@require_http_methods(["GET", "POST"])
def signin(request: HttpRequest) -> HttpResponse:
    """NEAR (three ways) or email and password; then on to a safe `next`."""
    next_url = safe_next(request, settings.LOGIN_REDIRECT_URL)
    if request.method == "GET" and request.user.is_authenticated:
        return redirect(next_url)
    form = PasswordSigninForm(request, data=request.POST if request.method == "POST" else None)
    error: ApplicationError | None = None
    status = 200
    wait = None
    if request.method == "POST":
        wait = page_attempt_wait(request, scope="signin", username_scope="signin_username")
        if wait is not None:
            error, status = AuthError(throttled_message(wait), code="throttled"), 429
        elif form.is_valid():
            login(request, form.get_user())
            return redirect(next_url)
        else:
            codes = [e.code for e in form.non_field_errors().as_data()]
            text = " ".join(str(message) for message in form.non_field_errors())
            if "invalid_login" in codes:
                error = AuthError(text, code="auth_credentials_invalid")
            elif "inactive" in codes:
                error = AuthError(text, code="auth_user_inactive")
    response = render(
        request,
        "payouts/signin.html",
        {"form": form, "error": error, "next": next_url, **_near_context(request)},
        status=status,
    )
    if wait is not None:
        response["Retry-After"] = str(throttle_seconds(wait))
    return _with_wallet_popups(response)


_SIGNUP_FIELDS = {
    "signup_email_invalid": "email",
    "signup_email_taken": "email",
    "signup_password_invalid": "password1",
}


@sensitive_post_parameters("password1", "password2")
@never_cache
@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    """An account with an email address and a password (for requesters; contributors
    usually sign in with NEAR)."""
    next_url = safe_next(request, settings.LOGIN_REDIRECT_URL)
    if request.method == "GET" and request.user.is_authenticated:
        return redirect(next_url)
    form = SignupForm(request.POST if request.method == "POST" else None)
    error: ApplicationError | None = None
    status = 200
    wait = None
    if request.method == "POST":
        wait = page_attempt_wait(request, scope="signup")
        if wait is not None:
            text = _("Too many sign-ups from here. Try again in %(seconds)d seconds.") % {
                "seconds": throttle_seconds(wait)
            }
            error, status = AuthError(text, code="throttled"), 429
        elif form.is_valid():
            try:
                user = user_signup(
                    email=form.cleaned_data["email"], password=form.cleaned_data["password1"]
                )
            except (SignupError, SignupEmailTakenError) as exc:
                form.add_error(_SIGNUP_FIELDS.get(exc.code), f"{exc.message} [{exc.code}]")
                status = exc.http_status
            else:
                login(request, user, backend=MODEL_BACKEND)
                messages.success(request, _("Welcome! Your account is ready."))
                return redirect(next_url)
        else:
            status = 400
    response = render(
        request,
        "payouts/signup.html",
        {"form": form, "error": error, "next": next_url},
        status=status,
    )
    if wait is not None:
        response["Retry-After"] = str(throttle_seconds(wait))
    return response


@require_POST
def signout(request: HttpRequest) -> HttpResponseRedirect:
    """Sign out (POST only: a link or an image cannot sign anyone out)."""
    logout(request)
    messages.info(request, _("You are signed out."))
    return redirect(safe_next(request, reverse("home")))


def signed_in_user(request: HttpRequest) -> User:
    """The signed-in user of a view behind login_required (which keeps others out)."""
    user = request.user
    if not isinstance(user, User):
        raise PermissionDenied
    return user


@never_cache
@login_required
@require_http_methods(["GET"])
def account(request: HttpRequest) -> HttpResponse:
    """The user's name, linked NEAR account (and linking one), and API token."""
    user = signed_in_user(request)
    context = {
        "near_account": selectors.near_account_of(user=user),
        "token_created_at": selectors.auth_token_created_at(user=user),
        # Shown once: the token made by the POST that redirected here.
        "new_token": request.session.pop(NEW_TOKEN_SESSION_KEY, None),
        **_near_context(request),
    }
    return _with_wallet_popups(render(request, "payouts/account.html", context))


@login_required
@require_POST
def account_token(request: HttpRequest) -> HttpResponseRedirect:
    """Make (or replace) or revoke the user's API token; the new key is shown once."""
    user = signed_in_user(request)
    form = TokenActionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Unknown token action. [invalid]"))
    elif form.cleaned_data["action"] == "create":
        request.session[NEW_TOKEN_SESSION_KEY] = auth_token_regenerate(user=user)
        messages.success(request, _("Your new API token is below. Copy it now: it is shown once."))
    elif auth_token_revoke(user=user):
        messages.success(request, _("Your API token is revoked: it no longer works."))
    else:
        messages.info(request, _("You had no API token."))
    return redirect(reverse("account") + "#api-token")

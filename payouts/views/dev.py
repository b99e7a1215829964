"""The local chain's development helpers as pages: a one-click NEAR sign-in and a
faucet. Both exist only on the local chain (settings.NEAR_IS_LOCALNET); elsewhere they
are 404, signed in or not."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_htmx.middleware import HtmxDetails

from config.errors import ApplicationError
from config.pages import error_fragment, error_message
from payouts.money import yocto_to_near
from payouts.services.devchain import DEV_FAUCET_AMOUNT, dev_faucet_fund, dev_signin
from payouts.views.account import MODEL_BACKEND, safe_next, signed_in_user


class HtmxHttpRequest(HttpRequest):
    """A request as django-htmx's middleware leaves it (settings.MIDDLEWARE)."""

    htmx: HtmxDetails


def _localnet_only() -> None:
    if not settings.NEAR_IS_LOCALNET:
        raise Http404


@require_POST
def signin_dev(request: HttpRequest) -> HttpResponse:
    """Sign in as a new NEAR account made on the local chain for the occasion."""
    _localnet_only()
    next_url = safe_next(request, settings.LOGIN_REDIRECT_URL)
    try:
        signin = dev_signin()
    except ApplicationError as exc:
        error_message(request, exc)
        return redirect(f"{reverse('signin')}?{urlencode({'next': next_url})}")
    login(request, signin.user, backend=MODEL_BACKEND)
    messages.success(
        request,
        _("Signed in as %(account)s, a new account on the local chain.")
        % {"account": signin.account.account_id},
    )
    return redirect(next_url)


@require_POST
def dev_faucet(request: HtmxHttpRequest) -> HttpResponse:
    """Fund the signed-in user's linked NEAR account with local-chain NEAR; back to `next`.

    An htmx request gets the message as a fragment instead of a redirect.
    """
    _localnet_only()
    if not request.user.is_authenticated:
        return redirect_to_login(safe_next(request, reverse("account")))
    user = signed_in_user(request)
    next_url = safe_next(request, reverse("account"))
    try:
        tx_hash = dev_faucet_fund(user=user)
    except ApplicationError as exc:
        if request.htmx:
            return error_fragment(request, exc)
        error_message(request, exc)
        return redirect(next_url)
    text = _("Sent %(amount)s NEAR of the local chain to your account (transaction %(tx)s).") % {
        "amount": yocto_to_near(DEV_FAUCET_AMOUNT),
        "tx": tx_hash,
    }
    if request.htmx:
        return HttpResponse(
            format_html('<p class="message message-success" role="status">{}</p>', text)
        )
    messages.success(request, text)
    return redirect(next_url)

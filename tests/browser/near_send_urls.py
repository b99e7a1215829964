"""A URL map for tests/browser/test_signin_browser.py: the site's, plus a page with a
`data-near-send` button (as the project funding page has one) and the form it submits."""

from django.http import HttpRequest, HttpResponse
from django.template import engines
from django.urls import include, path
from django.utils.html import format_html

# A template tag cannot span lines, hence the long one.
SEND_PAGE = """{% extends "base.html" %}
{% block scripts %}{% include "payouts/partials/near_wallet_scripts.html" %}{% endblock %}
{% block content %}
<h1>Deposit</h1>
<form id="deposit-form" method="post" action="/test/deposit/">{% csrf_token %}
  <p><label for="id_tx_hash">Transaction hash</label>
    <input id="id_tx_hash" name="tx_hash" type="text"></p>
  {% include "payouts/partials/near_send_button.html" with receiver=receiver amount=amount tx_field="#id_tx_hash" form="#deposit-form" %}
</form>
{% endblock %}"""  # noqa: E501


def send_page(request: HttpRequest) -> HttpResponse:
    template = engines["django"].from_string(SEND_PAGE)
    context = {"receiver": request.GET["receiver"], "amount": request.GET["amount"]}
    return HttpResponse(template.render(context, request))


def deposit(request: HttpRequest) -> HttpResponse:
    return HttpResponse(
        format_html(
            '<!doctype html><html lang="en"><title>Got it</title><main><p id="got">{}</p></main>',
            request.POST.get("tx_hash", ""),
        )
    )


urlpatterns = [
    path("test/near-send/", send_page),
    path("test/deposit/", deposit),
    path("", include("config.urls")),
]

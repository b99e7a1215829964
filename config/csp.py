"""The Content-Security-Policy, with the NEAR RPC the pages' wallet talks to.

django-csp builds the header from settings.CONTENT_SECURITY_POLICY. The in-browser
wallet fetches the NEAR RPC itself (NEAR_RPC_URL), and off the local chain a wallet may
fetch its relay (NEAR_WALLET_CONNECT_SRC), so connect-src must name those origins: added
per answer here, from the settings of the moment, rather than frozen into the policy
when the settings module loads.
"""

from csp.middleware import CSPMiddleware as BaseCSPMiddleware
from csp.middleware import PolicyParts
from django.conf import settings
from django.http import HttpRequest
from django.http.response import HttpResponseBase


class CSPMiddleware(BaseCSPMiddleware):
    def get_policy_parts(
        self, request: HttpRequest, response: HttpResponseBase, report_only: bool = False
    ) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        origins = [settings.NEAR_RPC_URL] if settings.NEAR_RPC_URL else []
        if not settings.NEAR_IS_LOCALNET:  # wallets are offered: their relays too
            origins += settings.NEAR_WALLET_CONNECT_SRC
        if origins:
            update = dict(parts.update or {})
            update["connect-src"] = [*update.get("connect-src", []), *origins]
            parts.update = update
        return parts

from typing import Any

from django.contrib.auth import login
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.authentication import SessionAuthentication
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.idempotency import (
    IDEMPOTENCY_KEY_PARAMETER,
    idempotency_key_from_request,
    mark_replayed,
)
from config.parsers import StrictFormParser, StrictJSONParser, StrictMultiPartParser
from config.throttling import ClientIpThrottle, UsernameThrottle
from config.users import request_user
from payouts import selectors
from payouts.api.serializers import (
    AuthChallengeSerializer,
    NearAccountLinkSerializer,
    NearProofSerializer,
    NearSigninResultSerializer,
    NearSigninSerializer,
    PayoutRequestSerializer,
    PayoutSerializer,
)
from payouts.errors import AuthError
from payouts.services.accounts import near_account_link_verified
from payouts.services.auth import (
    NearProof,
    auth_challenge_create,
    auth_token_get,
    near_signin,
    nonce_to_wire,
)
from payouts.services.payouts import payout_request_once


def _proof(data: dict[str, Any]) -> NearProof:
    return NearProof(
        account_id=data["account_id"],
        public_key=data["public_key"],
        signature=data["signature"],
        message=data["message"],
        nonce=data["nonce"],
        recipient=data["recipient"],
        callback_url=data.get("callback_url"),
    )


class AuthTokenView(ObtainAuthToken):
    """An API token for a username and password, limited per client IP and per username."""

    throttle_classes = [ClientIpThrottle, UsernameThrottle]
    throttle_scope = "auth_token"
    throttle_username_scope = "auth_token_username"
    # DRF's view names its own parsers; the API's strict ones instead (config.parsers).
    parser_classes = [StrictFormParser, StrictMultiPartParser, StrictJSONParser]

    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """A token for valid credentials; wrong ones are 400 `auth_credentials_invalid`."""
        serializer = self.get_serializer(data=request.data)
        if not serializer.is_valid():
            refusals = serializer.errors.get("non_field_errors", [])
            if any(getattr(refusal, "code", None) == "authorization" for refusal in refusals):
                raise AuthError(
                    gettext("No active user has this username and password."),
                    code="auth_credentials_invalid",
                )
            serializer.is_valid(raise_exception=True)
        token, _created = Token.objects.get_or_create(user=serializer.validated_data["user"])
        return Response({"token": token.key})


class AuthChallengeView(APIView):
    """A nonce to sign with NEP-413, for signing in or proving an account to link."""

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]
    throttle_classes = [ClientIpThrottle]
    throttle_scope = "auth_near_challenge"

    @extend_schema(request=None, responses={201: AuthChallengeSerializer})
    def post(self, request: Request) -> Response:
        challenge = auth_challenge_create()
        data = {
            "nonce": nonce_to_wire(challenge.nonce),
            "recipient": challenge.recipient,
            "message": challenge.message,
            "expires_at": challenge.expires_at,
        }
        return Response(AuthChallengeSerializer(data).data, status=status.HTTP_201_CREATED)


class NearSigninView(APIView):
    """Sign in with a NEP-413 signature: an API token, or a session cookie."""

    error_statuses = (403, 503)  # session mode checks CSRF; the key is checked on chain

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]
    throttle_classes = [ClientIpThrottle]
    throttle_scope = "auth_near_verify"
    # JSON only: a cross-site HTML form cannot post here and log a browser in.
    parser_classes = [StrictJSONParser]

    @extend_schema(request=NearSigninSerializer, responses=NearSigninResultSerializer)
    def post(self, request: Request) -> Response:
        serializer = NearSigninSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        mode = serializer.validated_data["mode"]
        if mode == "session":
            # Logging a browser in changes its session: the same CSRF rule as any
            # session-authenticated write (the test client opts out, as elsewhere).
            SessionAuthentication().enforce_csrf(request)
        signin = near_signin(proof=_proof(serializer.validated_data))
        data = {
            "username": signin.user.get_username(),
            "account_id": signin.account.account_id,
            "created": signin.created,
        }
        if mode == "session":
            login(request, signin.user, backend="django.contrib.auth.backends.ModelBackend")
        else:
            data["token"] = auth_token_get(user=signin.user)
        return Response(NearSigninResultSerializer(data).data)


def me_data(*, user: Any) -> dict[str, Any]:
    """The caller's account and money, for /api/me/ (labeling adds their quality)."""
    summary = selectors.earnings_summary(user=user)
    royalties = selectors.royalties_summary(user=user)
    near = selectors.near_account_of(user=user)
    return {
        "username": user.get_username(),
        "near_account_id": near.account_id if near else None,
        "near_account_verified": bool(near and near.verified_at),
        "balance": summary.balance,
        "earned": summary.earned,
        "in_flight": summary.in_flight,
        "paid": summary.paid,
        "royalties": {
            "total": royalties.total,
            "count": royalties.count,
            "recent": [
                {"amount": line.amount, "credited_at": line.credited_at, "dataset": line.source}
                for line in royalties.recent
            ],
        },
    }


class NearAccountLinkView(APIView):
    """Link the NEAR account that signed a fresh challenge (see /api/auth/near/challenge)."""

    error_statuses = (503,)  # the key is checked on chain

    @extend_schema(request=NearProofSerializer, responses=NearAccountLinkSerializer)
    def post(self, request: Request) -> Response:
        serializer = NearProofSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        link = near_account_link_verified(
            user=request_user(request), proof=_proof(serializer.validated_data)
        )
        return Response(NearAccountLinkSerializer(link).data)


class MyPayoutsView(APIView):
    @extend_schema(responses=PayoutSerializer(many=True))
    def get(self, request: Request) -> Response:
        payouts = selectors.payouts_of_user(user=request_user(request))[:200]
        return Response(PayoutSerializer(payouts, many=True).data)

    @extend_schema(
        request=PayoutRequestSerializer,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses={
            201: PayoutSerializer,
            422: OpenApiResponse(
                description=_("`idempotency_key_reused`: the key was used for another amount.")
            ),
        },
        description=_(
            "Withdraw earnings to your proven NEAR account. Send an `Idempotency-Key` to "
            "retry safely: a repeat answers the same payout, never a second one."
        ),
    )
    def post(self, request: Request) -> Response:
        idempotency_key = idempotency_key_from_request(request)
        serializer = PayoutRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        payout, created = payout_request_once(
            user=request_user(request),
            amount=serializer.validated_data["amount"],
            idempotency_key=idempotency_key,
        )
        payout.refresh_from_db()  # in embedded mode the send already ran on commit
        response = Response(PayoutSerializer(payout).data, status=status.HTTP_201_CREATED)
        return mark_replayed(response, created=created)

from typing import Any

from django.contrib.auth import login
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.parsers import StrictJSONParser
from payouts import selectors
from payouts.api.serializers import (
    AuthChallengeSerializer,
    MeSerializer,
    NearAccountLinkSerializer,
    NearProofSerializer,
    NearSigninResultSerializer,
    NearSigninSerializer,
    PayoutRequestSerializer,
    PayoutSerializer,
)
from payouts.services.accounts import near_account_link_verified
from payouts.services.auth import (
    NearProof,
    auth_challenge_create,
    auth_token_get,
    near_signin,
    nonce_to_wire,
)
from payouts.services.payouts import payout_request


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


class AuthChallengeView(APIView):
    """A nonce to sign with NEP-413, for signing in or proving an account to link."""

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]

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

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]
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


class MeView(APIView):
    @extend_schema(responses=MeSerializer)
    def get(self, request: Request) -> Response:
        summary = selectors.earnings_summary(user=request.user)
        near = selectors.near_account_of(user=request.user)
        data = {
            "username": request.user.get_username(),
            "near_account_id": near.account_id if near else None,
            "near_account_verified": bool(near and near.verified_at),
            "balance": summary.balance,
            "earned": summary.earned,
            "in_flight": summary.in_flight,
            "paid": summary.paid,
        }
        return Response(MeSerializer(data).data)


class NearAccountLinkView(APIView):
    """Link the NEAR account that signed a fresh challenge (see /api/auth/near/challenge)."""

    @extend_schema(request=NearProofSerializer, responses=NearAccountLinkSerializer)
    def post(self, request: Request) -> Response:
        serializer = NearProofSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        link = near_account_link_verified(
            user=request.user, proof=_proof(serializer.validated_data)
        )
        return Response(NearAccountLinkSerializer(link).data)


class MyPayoutsView(APIView):
    @extend_schema(responses=PayoutSerializer(many=True))
    def get(self, request: Request) -> Response:
        payouts = selectors.payouts_of_user(user=request.user)[:200]
        return Response(PayoutSerializer(payouts, many=True).data)

    @extend_schema(request=PayoutRequestSerializer, responses={201: PayoutSerializer})
    def post(self, request: Request) -> Response:
        serializer = PayoutRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        payout = payout_request(user=request.user, amount=serializer.validated_data["amount"])
        payout.refresh_from_db()  # in embedded mode the send already ran on commit
        return Response(PayoutSerializer(payout).data, status=status.HTTP_201_CREATED)

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from payouts import selectors
from payouts.api.serializers import (
    MeSerializer,
    NearAccountLinkSerializer,
    PayoutRequestSerializer,
    PayoutSerializer,
)
from payouts.services.accounts import near_account_link
from payouts.services.payouts import payout_request


class MeView(APIView):
    @extend_schema(responses=MeSerializer)
    def get(self, request: Request) -> Response:
        summary = selectors.earnings_summary(user=request.user)
        near = selectors.near_account_of(user=request.user)
        data = {
            "username": request.user.get_username(),
            "near_account_id": near.account_id if near else None,
            "balance": summary.balance,
            "earned": summary.earned,
            "in_flight": summary.in_flight,
            "paid": summary.paid,
        }
        return Response(MeSerializer(data).data)


class NearAccountLinkView(APIView):
    @extend_schema(request=NearAccountLinkSerializer, responses=NearAccountLinkSerializer)
    def post(self, request: Request) -> Response:
        serializer = NearAccountLinkSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        link = near_account_link(
            user=request.user, account_id=serializer.validated_data["account_id"]
        )
        return Response({"account_id": link.account_id})


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

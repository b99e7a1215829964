from django.urls import path
from rest_framework.authtoken.views import ObtainAuthToken

from config.parsers import StrictFormParser, StrictJSONParser, StrictMultiPartParser
from payouts.api import views

# DRF's view names its own parsers; the API's strict ones instead (config.parsers).
obtain_auth_token = ObtainAuthToken.as_view(
    parser_classes=[StrictFormParser, StrictMultiPartParser, StrictJSONParser]
)

urlpatterns = [
    path("auth/token", obtain_auth_token, name="auth-token"),
    path("auth/near/challenge", views.AuthChallengeView.as_view(), name="auth-near-challenge"),
    path("auth/near/verify", views.NearSigninView.as_view(), name="auth-near-verify"),
    path("me/", views.MeView.as_view(), name="me"),
    path("me/near-account", views.NearAccountLinkView.as_view(), name="me-near-account"),
    path("me/payouts", views.MyPayoutsView.as_view(), name="me-payouts"),
]

from django.urls import path

from payouts.api import views

urlpatterns = [
    path("auth/token", views.AuthTokenView.as_view(), name="auth-token"),
    path("auth/near/challenge", views.AuthChallengeView.as_view(), name="auth-near-challenge"),
    path("auth/near/verify", views.NearSigninView.as_view(), name="auth-near-verify"),
    path("me/near-account", views.NearAccountLinkView.as_view(), name="me-near-account"),
    path("me/payouts", views.MyPayoutsView.as_view(), name="me-payouts"),
]

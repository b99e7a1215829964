from django.urls import path
from rest_framework.authtoken.views import obtain_auth_token

from payouts.api import views

urlpatterns = [
    path("auth/token", obtain_auth_token, name="auth-token"),
    path("me/", views.MeView.as_view(), name="me"),
    path("me/near-account", views.NearAccountLinkView.as_view(), name="me-near-account"),
    path("me/payouts", views.MyPayoutsView.as_view(), name="me-payouts"),
]

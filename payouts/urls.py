from django.urls import path

from payouts.views import account

urlpatterns = [
    path("signin/", account.signin, name="signin"),
    path("signup/", account.signup, name="signup"),
    path("signout/", account.signout, name="signout"),
    path("account/", account.account, name="account"),
]

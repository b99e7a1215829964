from django.urls import path

from payouts.views import account, dev

urlpatterns = [
    path("signin/", account.signin, name="signin"),
    path("signup/", account.signup, name="signup"),
    path("signout/", account.signout, name="signout"),
    path("account/", account.account, name="account"),
    path("account/token/", account.account_token, name="account-token"),
    # The local chain only (404 elsewhere): payouts/views/dev.py.
    path("signin/dev/", dev.signin_dev, name="signin-dev"),
    path("dev/faucet/", dev.dev_faucet, name="dev-faucet"),
]

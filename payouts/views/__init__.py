"""The HTML pages of payouts: signing in (NEAR, or email and password), the account
and its API tokens, and the local chain's development helpers."""

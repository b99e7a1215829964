"""Every write of the payouts app. Other apps call these, never the models directly."""

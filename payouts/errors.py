"""Refusals of the payouts app, each with a stable code."""

from config.errors import ApplicationError, ConflictError


class InsufficientFundsError(ConflictError):
    code = "insufficient_funds"


class NearAccountInvalidError(ApplicationError):
    code = "near_account_invalid"


class NearAccountMissingError(ConflictError):
    code = "near_account_missing"


class PayoutTooSmallError(ApplicationError):
    code = "payout_below_minimum"


class DepositError(ApplicationError):
    """A deposit refused after looking at the chain. `code` tells which check failed."""

    code = "deposit_invalid"


class ChainUnavailableError(ApplicationError):
    code = "chain_unavailable"
    http_status = 503

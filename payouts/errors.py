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


class NearAccountUnverifiedError(ConflictError):
    """The linked account was never proven by a signature: no money moves for it."""

    code = "near_account_unverified"


class NearAccountTakenError(ConflictError):
    """Another user has already proven this account."""

    code = "near_account_taken"


class AuthError(ApplicationError):
    """A NEP-413 signature refused. `code` names the failed check (auth_*).

    400, not 401: the proof in the body is bad, not the caller's credentials (a
    signed-in user proving a new account must not read it as "your token expired").
    """

    code = "auth_invalid"


class SignupError(ApplicationError):
    """An email-and-password sign-up refused: `code` says why (signup_email_invalid,
    signup_password_invalid)."""

    code = "signup_invalid"


class SignupEmailTakenError(ConflictError):
    code = "signup_email_taken"


class DevFaucetError(ConflictError):
    """The local chain's faucet transfer failed (a linked account that cannot receive)."""

    code = "dev_faucet_failed"


class AttestationError(ApplicationError):
    """A platform attestation (payouts.services.attestation) that does not verify. `code`
    names the failed check: signature_invalid, signer_unexpected, key_not_on_chain,
    key_not_full_access (or chain_unavailable, AttestationChainUnavailableError)."""

    code = "signature_invalid"


class AttestationChainUnavailableError(AttestationError, ChainUnavailableError):
    """The chain could not be asked whether the key is the account's: nothing is known."""

    code = "chain_unavailable"
    http_status = 503

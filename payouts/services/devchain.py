"""Development helpers of the local chain (settings.NEAR_IS_LOCALNET only): a one-click
sign-in with a fresh NEAR account, and a faucet for the signed-in user's account.

Both move only local-chain NEAR, minted by the local chain's faucet
(``sandbox_create_account``); real nodes do not have that method, and these services
refuse to run unless the app is configured for the local chain (the views answer 404).
Keys made here sign once and are dropped: nothing stores them.
"""

import logging
import secrets

from django.conf import settings
from django.utils.translation import gettext

from config.errors import NotFoundError
from config.users import User
from payouts.errors import ChainUnavailableError, DevFaucetError, NearAccountMissingError
from payouts.money import near_to_yocto
from payouts.near.client import NearError, outcome_summary
from payouts.near.keys import NearKey, key_generate, transfer_sign
from payouts.near.nep413 import nep413_signed_body
from payouts.selectors import near_account_of
from payouts.services.auth import (
    NearProof,
    NearSignin,
    auth_challenge_create,
    near_signin,
    nonce_to_wire,
)
from payouts.services.chain import near_client

log = logging.getLogger(__name__)

# What a development account starts with (yoctoNEAR): enough to pay gas for a while.
DEV_ACCOUNT_AMOUNT = near_to_yocto("10")
# What one press of the development faucet sends (yoctoNEAR).
DEV_FAUCET_AMOUNT = near_to_yocto("50")
# Added to a faucet account's grant so it can pay the transfer's gas (yoctoNEAR; a
# transfer burns about 0.0000446 NEAR).
_GAS_MARGIN = near_to_yocto("0.01")


def _localnet_only() -> None:
    if not settings.NEAR_IS_LOCALNET:
        raise NotFoundError(gettext("Only on the local chain."), code="localnet_only")


def _account_create(*, prefix: str, amount: int) -> NearKey:
    """A new named account `<prefix>-<random>.<platform account>` on the local chain,
    holding `amount` yoctoNEAR minted by its faucet, with a fresh full-access key."""
    key = key_generate(account_id=f"{prefix}-{secrets.token_hex(4)}.{settings.NEAR_ACCOUNT_ID}")
    try:
        near_client().sandbox(
            "sandbox_create_account",
            {"account_id": key.account_id, "public_key": key.public_key, "amount": str(amount)},
        )
    except NearError as exc:
        raise ChainUnavailableError(gettext("The local chain did not create the account.")) from exc
    return key


def dev_signin() -> NearSignin:
    """Sign in as a new NEAR account on the local chain, in one step.

    Creates `dev-<random>.<platform account>` with DEV_ACCOUNT_AMOUNT, signs a fresh
    challenge with its key (NEP-413, as a wallet would) and runs the same `near_signin`
    as every NEAR sign-in, so the named account's key is looked up on the chain. The key
    is used for that one signature and dropped: the account can receive payouts, and
    nobody can spend from it. Every call makes a new account and a new user.

    Raises NotFoundError (localnet_only) off the local chain, ChainUnavailableError when
    the chain does not answer; near_signin's refusals otherwise.
    """
    _localnet_only()
    key = _account_create(prefix="dev", amount=DEV_ACCOUNT_AMOUNT)
    challenge = auth_challenge_create()
    body = nep413_signed_body(
        key=key,
        challenge={
            "nonce": nonce_to_wire(challenge.nonce),
            "message": challenge.message,
            "recipient": challenge.recipient,
        },
    )
    signin = near_signin(proof=NearProof(**body))
    log.info("development sign-in as %s (user %s)", key.account_id, signin.user.pk)
    return signin


def dev_faucet_fund(*, user: User, amount: int = DEV_FAUCET_AMOUNT) -> str:
    """Send `amount` yoctoNEAR of local-chain NEAR to the user's linked NEAR account.

    A one-off account is minted by the faucet with `amount` plus gas and transfers it, so
    an account that already exists is funded as on NEAR (a transfer; to an implicit
    account that does not exist yet, the transfer creates it). Returns the transfer's
    hash once it is final. A repeat sends again. Verified or not, the linked account is
    funded: this is not money the platform owes anyone.

    Raises NotFoundError (localnet_only) off the local chain, NearAccountMissingError when
    the user has linked no account, DevFaucetError when the transfer fails on chain (the
    linked account cannot receive, e.g. a named account that does not exist there),
    ChainUnavailableError when the chain refuses it or does not answer.
    """
    _localnet_only()
    link = near_account_of(user=user)
    if link is None:
        raise NearAccountMissingError(gettext("Link a NEAR account first."))
    faucet = _account_create(prefix="faucet", amount=amount + _GAS_MARGIN)
    client = near_client()
    try:
        access_key = client.view_access_key(
            account_id=faucet.account_id, public_key=faucet.public_key
        )
        block = client.latest_block(finality="final")
        signed = transfer_sign(
            key=faucet,
            receiver_id=link.account_id,
            amount=amount,
            nonce=int(access_key["nonce"]) + 1,
            block_hash=block["header"]["hash"],
        )
        result = client.send_tx(signed_tx=signed.signed_bytes, wait_until="FINAL")
    except NearError as exc:
        raise ChainUnavailableError(gettext("The local chain did not take the transfer.")) from exc
    outcome = outcome_summary(result)
    if not outcome.succeeded:
        # A named account that does not exist on the local chain (an unproven link): the
        # transfer fails and its NEAR goes back to the faucet account.
        raise DevFaucetError(
            gettext("The local chain could not pay %(account)s: %(why)s")
            % {"account": link.account_id, "why": outcome.failure}
        )
    log.info("development faucet sent %s yocto to %s (user %s)", amount, link.account_id, user.pk)
    return signed.tx_hash

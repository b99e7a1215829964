"""Access to the chain and to the platform's signing keys, configured from settings."""

import functools
import logging

from django.conf import settings

from payouts.models import SigningKey
from payouts.near.client import NearClient
from payouts.near.keys import NearKey, key_load

log = logging.getLogger(__name__)


def near_client() -> NearClient:
    return _near_client(settings.NEAR_RPC_URL, settings.NEAR_RPC_TIMEOUT)


@functools.cache
def _near_client(url: str, timeout: float) -> NearClient:
    return NearClient(url, timeout=timeout)


def platform_account_id() -> str:
    return settings.NEAR_ACCOUNT_ID


@functools.cache
def _key_from_file(path: str) -> NearKey:
    return key_load(path)


def platform_keys() -> dict[str, NearKey]:
    """The platform account's full-access keys this process can sign with, by public key.

    Read from NEAR_PRIVATE_KEY_FILE (NEAR CLI's JSON format); never from the database.
    """
    key = _key_from_file(settings.NEAR_PRIVATE_KEY_FILE)
    if key.account_id != settings.NEAR_ACCOUNT_ID:
        raise RuntimeError("NEAR_PRIVATE_KEY_FILE belongs to another account than NEAR_ACCOUNT_ID")
    return {key.public_key: key}


def signing_key_for(*, public_key: str) -> NearKey:
    return platform_keys()[public_key]


def signing_keys_sync() -> list[SigningKey]:
    """Make sure every configured key has its nonce-allocator row. Safe to repeat."""
    rows = []
    for public_key, key in platform_keys().items():
        row, _ = SigningKey.objects.get_or_create(
            public_key=public_key, defaults={"account_id": key.account_id}
        )
        rows.append(row)
    return rows


def localnet_platform_bootstrap(*, capital: int) -> NearKey:
    """On the local chain only: make the platform key file and account if missing.

    Idempotent. Refuses to run against a real network: there the operator creates
    the account and key (docs/OPERATIONS.md).
    """
    from pathlib import Path

    from payouts.near.client import NearRpcError
    from payouts.near.keys import key_generate, key_save

    if not settings.NEAR_IS_LOCALNET:
        raise RuntimeError("bootstrap is for the local chain only")
    path = Path(settings.NEAR_PRIVATE_KEY_FILE)
    if not path.exists():
        key_save(key_generate(account_id=settings.NEAR_ACCOUNT_ID), path)
        log.info("generated the local platform key at %s", path)
    _key_from_file.cache_clear()
    key = _key_from_file(str(path))
    client = near_client()
    try:
        client.view_account(account_id=key.account_id)
    except NearRpcError as exc:
        if not exc.is_unknown_account:
            raise
    else:
        try:
            client.view_access_key(account_id=key.account_id, public_key=key.public_key)
        except NearRpcError as key_exc:
            if not key_exc.is_unknown_access_key:
                raise
            client.sandbox(
                "sandbox_add_key",
                {
                    "account_id": key.account_id,
                    "public_key": key.public_key,
                    "permission": "FullAccess",
                },
            )
        return key
    client.sandbox(
        "sandbox_create_account",
        {"account_id": key.account_id, "public_key": key.public_key, "amount": str(capital)},
    )
    log.info("created the local platform account %s", key.account_id)
    return key

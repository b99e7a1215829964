"""Access to the chain and to the platform's signing keys, configured from settings."""

import functools
import logging
import os
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils.translation import gettext

from payouts.errors import ChainUnavailableError
from payouts.models import SigningKey
from payouts.near.client import NearClient, NearRpcError, NearTransportError
from payouts.near.keys import KeyFileError, NearKey, key_load

log = logging.getLogger(__name__)


def near_client() -> NearClient:
    return _near_client(settings.NEAR_RPC_URL, settings.NEAR_RPC_TIMEOUT)


@functools.cache
def _near_client(url: str, timeout: float) -> NearClient:
    return NearClient(url, timeout=timeout)


def platform_account_id() -> str:
    return settings.NEAR_ACCOUNT_ID


def access_key_permission(
    *, account_id: str, public_key: str, client: NearClient | None = None
) -> Any:
    """The permission of ``public_key`` on ``account_id`` on chain: ``"FullAccess"``, or
    ``{"FunctionCall": {...}}``; None when the account or the key does not exist there.

    Read-only (``view_access_key`` at final). Raises ChainUnavailableError when the RPC
    does not answer or refuses the lookup for another reason. ``client`` defaults to the
    configured one (NEAR_RPC_URL). Shared by sign-in (payouts.services.auth) and the
    verification of attestations (payouts.services.attestation).
    """
    client = client if client is not None else near_client()
    try:
        access_key = client.view_access_key(account_id=account_id, public_key=public_key)
    except NearRpcError as exc:
        if exc.is_unknown_access_key or exc.is_unknown_account:
            return None
        raise ChainUnavailableError(
            gettext("The NEAR RPC refused the lookup: %(name)s") % {"name": exc.name}
        ) from exc
    except NearTransportError as exc:
        raise ChainUnavailableError(gettext("The NEAR RPC did not answer; try again.")) from exc
    return access_key.get("permission")


class PlatformKeyError(RuntimeError):
    """A configured key file cannot sign for the platform. Names the file, never the secret."""


@functools.cache
def _key_from_file(path: str) -> NearKey:
    return key_load(path)


_PoolListing = tuple[tuple[str, int, int], ...]  # (path, mtime_ns, size), sorted by path


def _pool_listing(directory: str) -> _PoolListing:
    """Every ``*.json`` file (not hidden) in the pool directory; () for none or no directory.

    Read-only. Raises PlatformKeyError if the directory exists but cannot be listed.
    """
    if not directory:
        return ()
    try:
        entries = list(os.scandir(directory))
    except FileNotFoundError:
        return ()
    except OSError as exc:
        raise PlatformKeyError(
            f"NEAR_KEYS_DIR {directory} cannot be listed: {type(exc).__name__}"
        ) from None
    listing = []
    for entry in entries:
        if entry.name.startswith(".") or not entry.name.endswith(".json"):
            continue
        try:
            if not entry.is_file():
                continue
            stat = entry.stat()
        except FileNotFoundError:
            continue  # removed while we looked
        listing.append((entry.path, stat.st_mtime_ns, stat.st_size))
    return tuple(sorted(listing))


@functools.lru_cache(maxsize=32)
def _pool_keys(account_id: str, listing: _PoolListing) -> tuple[tuple[str, NearKey], ...]:
    """(path, key) of each pool file; cached until a file appears, goes or changes.

    Raises KeyFileError for an unreadable or malformed file and PlatformKeyError for a key
    of another account; both name the file, neither the secret. Errors are not cached.
    """
    keys = []
    for path, _mtime_ns, _size in listing:
        try:
            key = key_load(path)
        except KeyFileError:
            if not Path(path).exists():
                continue  # removed since it was listed
            raise
        if key.account_id != account_id:
            raise PlatformKeyError(
                f"key file {path} in NEAR_KEYS_DIR is a key of {key.account_id!r}, not of "
                f"NEAR_ACCOUNT_ID {account_id!r}: move it out of the pool"
            )
        keys.append((path, key))
    return tuple(keys)


def platform_primary_key() -> NearKey:
    """The platform's primary key (NEAR_PRIVATE_KEY_FILE): the one that signs attestations.

    Raises KeyFileError for an unreadable or malformed file and PlatformKeyError for a key
    of another account than NEAR_ACCOUNT_ID; the message names the file, never the secret.
    """
    account_id = settings.NEAR_ACCOUNT_ID
    primary_path = settings.NEAR_PRIVATE_KEY_FILE
    primary = _key_from_file(primary_path)
    if primary.account_id != account_id:
        raise PlatformKeyError(
            f"NEAR_PRIVATE_KEY_FILE {primary_path} is a key of {primary.account_id!r}, not of "
            f"NEAR_ACCOUNT_ID {account_id!r}"
        )
    return primary


def _platform_key_files() -> dict[str, tuple[str, NearKey]]:
    account_id = settings.NEAR_ACCOUNT_ID
    primary = platform_primary_key()
    found = {primary.public_key: (settings.NEAR_PRIVATE_KEY_FILE, primary)}
    for path, key in _pool_keys(account_id, _pool_listing(settings.NEAR_KEYS_DIR)):
        found.setdefault(key.public_key, (path, key))
    return found


def platform_keys() -> dict[str, NearKey]:
    """The platform account's full-access keys this process can sign with, by public key.

    NEAR_PRIVATE_KEY_FILE first, then every ``*.json`` key file in NEAR_KEYS_DIR (the pool),
    all in NEAR CLI's JSON format; never from the database. The files are re-read only when
    the directory listing (names, sizes, times) changes, so a repeat is a directory scan.
    Raises KeyFileError for an unreadable or malformed file and PlatformKeyError for a key
    of another account than NEAR_ACCOUNT_ID; the message names the file, never the secret.
    """
    return {public_key: key for public_key, (_path, key) in _platform_key_files().items()}


def platform_key_files() -> dict[str, str]:
    """The file each of platform_keys() was read from, by public key. Raises as it does."""
    return {public_key: path for public_key, (path, _key) in _platform_key_files().items()}


def signing_key_for(*, public_key: str) -> NearKey:
    """The private key of a configured public key; KeyError if its file is gone."""
    return platform_keys()[public_key]


def signing_keys_sync() -> list[SigningKey]:
    """Give every configured key an active nonce-allocator row; deactivate the others.

    A key whose file was removed gets is_active False (payouts skip it) and True again if
    the file comes back. Safe to repeat and to run concurrently: when nothing changed it is
    one SELECT. Returns the active rows in platform_keys() order. Raises as
    platform_keys() does, writing nothing.
    """
    keys = platform_keys()
    rows = {row.public_key: row for row in SigningKey.objects.all()}
    missing = [
        SigningKey(public_key=public_key, account_id=key.account_id)
        for public_key, key in keys.items()
        if public_key not in rows
    ]
    revive = [pk for pk in keys if pk in rows and not rows[pk].is_active]
    retire = [pk for pk, row in rows.items() if row.is_active and pk not in keys]
    if missing:
        SigningKey.objects.bulk_create(missing, ignore_conflicts=True)
        log.info("signing keys added: %s", ", ".join(k.public_key for k in missing))
    if revive:
        SigningKey.objects.filter(public_key__in=revive).update(is_active=True)
        log.info("signing keys active again: %s", ", ".join(revive))
    if retire:
        SigningKey.objects.filter(public_key__in=retire).update(is_active=False)
        log.warning("signing keys without a key file, now inactive: %s", ", ".join(retire))
    if missing or revive or retire:
        rows = {row.public_key: row for row in SigningKey.objects.filter(public_key__in=keys)}
    return [rows[public_key] for public_key in keys]


def localnet_key_register(*, key: NearKey) -> bool:
    """On the local chain only: add ``key`` as a full-access key of its account.

    Returns True if added, False if the chain already had it (a repeat changes nothing).
    Raises RuntimeError off the local chain, NearRpcError if the account does not exist.
    """

    if not settings.NEAR_IS_LOCALNET:
        raise RuntimeError("sandbox_add_key is for the local chain only")
    try:
        near_client().sandbox(
            "sandbox_add_key",
            {
                "account_id": key.account_id,
                "public_key": key.public_key,
                "permission": "FullAccess",
            },
        )
    except NearRpcError as exc:
        if exc.cause_name == "ACCESS_KEY_ALREADY_EXISTS":
            return False
        raise
    log.info("registered signing key %s of %s on the local chain", key.public_key, key.account_id)
    return True


def localnet_platform_bootstrap(*, capital: int) -> NearKey:
    """On the local chain only: make the platform key file and account if missing.

    Also registers the pool's keys (NEAR_KEYS_DIR) that the chain lacks, e.g. after its
    state was reset. Idempotent. Refuses to run against a real network: there the
    operator creates the account and keys (docs/OPERATIONS.md).
    """
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
        client.sandbox(
            "sandbox_create_account",
            {"account_id": key.account_id, "public_key": key.public_key, "amount": str(capital)},
        )
        log.info("created the local platform account %s", key.account_id)
    else:
        localnet_key_register(key=key)
    for _pool_path, pool_key in _pool_keys(
        settings.NEAR_ACCOUNT_ID, _pool_listing(settings.NEAR_KEYS_DIR)
    ):
        localnet_key_register(key=pool_key)
    return key

"""``manage.py near_keys``: the pool of the platform account's full-access signing keys.

    near_keys add [--count N]   new keys, written as NEAR CLI key files into NEAR_KEYS_DIR
    near_keys list [--chain]    every key with its allocator nonce and open payouts

Private keys only ever go into the key files (mode 0600); nothing here prints them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Count, Q

from payouts.models import Payout, SigningKey
from payouts.near.client import NearError, NearRpcError
from payouts.near.keys import ED25519_PREFIX, NearKey, NearKeyError, key_generate, key_save
from payouts.services.chain import (
    PlatformKeyError,
    localnet_key_register,
    near_client,
    platform_key_files,
    signing_keys_sync,
)

MAX_COUNT = 100


class Command(BaseCommand):
    help = (
        "Manage the pool of full-access keys of NEAR_ACCOUNT_ID in NEAR_KEYS_DIR, which lets "
        "payouts be signed and sent in parallel."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        add = actions.add_parser(
            "add",
            help="generate keys into NEAR_KEYS_DIR (registered at once on the local chain)",
        )
        add.add_argument("--count", type=int, default=1, help=f"keys to add, 1-{MAX_COUNT}")
        listing = actions.add_parser("list", help="the keys, allocator nonces and open payouts")
        listing.add_argument(
            "--chain", action="store_true", help="also ask the chain for each key's nonce"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            if options["action"] == "add":
                self._add(count=options["count"])
            else:
                self._list(chain=options["chain"])
        except (PlatformKeyError, NearKeyError) as exc:  # messages name files, never secrets
            raise CommandError(str(exc)) from None

    # --- add ------------------------------------------------------------------------------

    def _add(self, *, count: int) -> None:
        """Add `count` new keys. A repeat adds that many more; nothing is ever overwritten.

        On the local chain each key is registered first and then written, so a failure
        leaves no unregistered file behind; elsewhere the file is written and the operator
        registers the printed public key (payouts skip a key until the chain knows it).
        On an error the keys already added stay, each complete.
        """
        if not 1 <= count <= MAX_COUNT:
            raise CommandError(f"--count must be between 1 and {MAX_COUNT}")
        directory = settings.NEAR_KEYS_DIR
        account_id = settings.NEAR_ACCOUNT_ID
        if not directory:
            raise CommandError("NEAR_KEYS_DIR is not set: name the directory of the key pool.")
        if not account_id:
            raise CommandError("NEAR_ACCOUNT_ID is not set.")
        localnet = bool(settings.NEAR_IS_LOCALNET)
        added: list[NearKey] = []
        for _ in range(count):
            key = key_generate(account_id=account_id)
            path = Path(directory) / f"ed25519_{key.public_key.removeprefix(ED25519_PREFIX)}.json"
            if path.exists():
                raise CommandError(f"{path} exists already; not overwriting it")
            if localnet:
                self._register(key)
            key_save(key, path)
            added.append(key)
            state = "registered on the local chain" if localnet else "NOT registered yet"
            self.stdout.write(f"{key.public_key}  {state}  {path}")
        if localnet:
            self.stdout.write(f"{len(added)} key(s) added to {account_id}'s pool in {directory}.")
            return
        network = "testnet" if account_id.endswith(".testnet") else "mainnet"
        self.stdout.write(
            f"\n{len(added)} key file(s) written to {directory} (mode 0600). Register each "
            f"public key as a full-access key of {account_id}; payouts skip it until then:"
        )
        for key in added:
            self.stdout.write(
                f"  near account add-key {account_id} grant-full-access "
                f"use-manually-provided-public-key {key.public_key} "
                f"network-config {network} sign-with-keychain send"
            )

    def _register(self, key: NearKey) -> None:
        try:
            localnet_key_register(key=key)
        except NearRpcError as exc:
            if exc.is_unknown_account:
                raise CommandError(
                    f"the account {key.account_id} does not exist on the local chain: "
                    "create it first (`manage.py seed_demo` or `make run`)"
                ) from None
            raise CommandError(f"the local chain refused the key: {exc}") from None
        except NearError as exc:
            raise CommandError(f"the local chain at {settings.NEAR_RPC_URL}: {exc}") from None

    # --- list -----------------------------------------------------------------------------

    def _list(self, *, chain: bool) -> None:
        """Print every key of the account. Syncs the allocator rows first (safe to repeat):
        a key file seen for the first time gets its row, a key whose file is gone is shown
        inactive. Raises CommandError for a bad key file, naming it."""
        signing_keys_sync()
        files = platform_key_files()
        rows = (
            SigningKey.objects.filter(
                Q(account_id=settings.NEAR_ACCOUNT_ID) | Q(public_key__in=files)
            )
            .annotate(
                open_payouts=Count("payouts", filter=Q(payouts__status__in=Payout.OPEN_STATUSES))
            )
            .order_by("pk")
        )
        headers = ["public key", "active", "nonce", "open payouts", "file"]
        if chain:
            headers.insert(3, "chain nonce")
        lines = []
        for row in rows:
            cells = [
                row.public_key,
                "yes" if row.is_active else "no",
                "-" if row.nonce is None else str(row.nonce),
                str(row.open_payouts),
                files.get(row.public_key, "(file gone)"),
            ]
            if chain:
                cells.insert(3, self._chain_nonce(row))
            lines.append(cells)
        self.stdout.write(_table(headers, lines))
        active = sum(1 for row in rows if row.is_active)
        self.stdout.write(f"{active} active key(s) of {settings.NEAR_ACCOUNT_ID}")

    @staticmethod
    def _chain_nonce(row: SigningKey) -> str:
        try:
            access_key = near_client().view_access_key(
                account_id=row.account_id, public_key=row.public_key
            )
        except NearRpcError as exc:
            if exc.is_unknown_access_key or exc.is_unknown_account:
                return "not registered"
            return "?"
        except NearError:
            return "?"
        return str(access_key["nonce"])


def _table(headers: list[str], rows: list[list[str]]) -> str:
    cells = [headers, *rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)

"""``manage.py localnet``: run the project's local NEAR-like chain in the foreground."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from payouts.near.localnet import CHAIN_ID, DEFAULT_VALIDITY_PERIOD, localnet_run


class Command(BaseCommand):
    help = (
        "Serve nearlabel's localnet JSON-RPC (a local test chain, NOT NEAR) until Ctrl-C. "
        "State persists in NEAR_LOCALNET_STATE; restarting resumes the same chain."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--state", default=None, help="state file (NEAR_LOCALNET_STATE)")
        parser.add_argument("--host", default=None, help="bind address (NEAR_LOCALNET_HOST)")
        parser.add_argument("--port", type=int, default=None, help="port (NEAR_LOCALNET_PORT)")
        parser.add_argument(
            "--validity-period",
            type=int,
            default=DEFAULT_VALIDITY_PERIOD,
            help="blocks a transaction's block_hash stays valid",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        state = options["state"] or getattr(
            settings, "NEAR_LOCALNET_STATE", "var/localnet/state.json"
        )
        host = options["host"] or getattr(settings, "NEAR_LOCALNET_HOST", "127.0.0.1")
        port = options["port"] or int(getattr(settings, "NEAR_LOCALNET_PORT", 3030))
        self.stdout.write(
            f"localnet {CHAIN_ID} (a local test chain, not NEAR) on http://{host}:{port}, "
            f"state {state}; Ctrl-C to stop"
        )
        localnet_run(
            state_path=state,
            host=host,
            port=port,
            transaction_validity_period=options["validity_period"],
        )

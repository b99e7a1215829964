"""``manage.py localnet``: run the project's local NEAR-like chain in the foreground."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from payouts.near.localnet import (
    CHAIN_ID,
    DEFAULT_BLOCK_INTERVAL,
    DEFAULT_POLLING_TIMEOUT,
    DEFAULT_VALIDITY_PERIOD,
    localnet_run,
)


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
            default=None,
            help="blocks a transaction's block_hash stays valid",
        )
        parser.add_argument(
            "--polling-timeout",
            type=float,
            default=DEFAULT_POLLING_TIMEOUT,
            help="seconds a call waiting for a transaction polls before TIMEOUT_ERROR "
            "(nearcore's default: 10)",
        )
        parser.add_argument(
            "--block-interval",
            type=float,
            default=DEFAULT_BLOCK_INTERVAL,
            help="seconds between the empty blocks produced while a call waits for finality",
        )
        parser.add_argument(
            "--wait",
            action="store_true",
            help="do not serve: wait (up to 30 s) until the configured RPC answers, then exit",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["wait"]:
            self._wait()
            return
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
            transaction_validity_period=options["validity_period"]
            or getattr(settings, "NEAR_TX_VALIDITY_BLOCKS", DEFAULT_VALIDITY_PERIOD),
            polling_timeout=options["polling_timeout"],
            block_interval=options["block_interval"],
        )

    def _wait(self) -> None:
        from payouts.near.client import NearClient, NearError

        client = NearClient(settings.NEAR_RPC_URL, timeout=2)
        deadline = time.monotonic() + 30
        while True:
            try:
                client.status()
            except NearError:
                if time.monotonic() > deadline:
                    raise CommandError(
                        f"no NEAR RPC answering at {settings.NEAR_RPC_URL}"
                    ) from None
                time.sleep(0.2)
            else:
                return

"""`manage.py demo`: the whole marketplace loop, headless, on an in-process local chain.

It runs in a database and a chain of its own, made for the run and removed after it, so
it never adds users, projects or payouts to the app's database (whose chain it could not
fund) and works while `make run` serves: run it as often as you like.
"""

import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.test import override_settings

from config.celery import app as celery_app
from labeling.models import Submission
from marketplace.demo import (
    DemoError,
    contributor_make,
    contributors_label,
    project_funded_create,
    user_make,
    withdraw_all,
)
from payouts.models import Payout
from payouts.money import near_to_yocto, yocto_to_near
from payouts.near.localnet import localnet_serve
from payouts.selectors import ledger_trial_balance
from payouts.services import chain as chain_services
from payouts.services.ledger import IN_FLIGHT_KEY, PLATFORM_FEES_KEY

PLATFORM_CAPITAL = near_to_yocto("1000")
_SANDBOXED = "NEARLABEL_DEMO_SANDBOXED"  # set in the throwaway run
# The app's own database, broker and chain: the throwaway run must not see them.
_APP_ONLY_SETTINGS = (
    "DATABASE_URL",
    "REDIS_URL",
    "NEAR_RPC_URL",
    "NEAR_ACCOUNT_ID",
    "NEAR_PRIVATE_KEY_FILE",
    "NEAR_KEYS_DIR",
    "NEAR_LOCALNET_STATE",
)


class Command(BaseCommand):
    help = "Run the whole loop headless on a local chain and print a summary."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--contributors", type=int, default=5)

    def handle(self, *args: Any, **options: Any) -> None:
        if os.environ.get(_SANDBOXED) != "1":
            self._run_sandboxed(options["contributors"])
            return
        call_command("migrate", verbosity=0, interactive=False)
        celery_app.conf.task_always_eager = True  # the embedded default, whatever REDIS_URL says
        with tempfile.TemporaryDirectory(prefix="nearlabel-demo-") as directory:
            server = localnet_serve(state_path=Path(directory) / "state.json", port=0)
            try:
                with override_settings(
                    NEAR_RPC_URL=server.url,
                    NEAR_IS_LOCALNET=True,
                    NEAR_ACCOUNT_ID="nearlabel.localnet",
                    NEAR_PRIVATE_KEY_FILE=str(Path(directory) / "platform.json"),
                ):
                    chain_services.localnet_platform_bootstrap(capital=PLATFORM_CAPITAL)
                    self._run(server, options["contributors"])
            except DemoError as exc:
                raise CommandError(f"demo failed: {exc}") from exc
            finally:
                chain_services._key_from_file.cache_clear()
                server.shutdown()

    def _run_sandboxed(self, contributors: int) -> None:
        """Run this command again in a throwaway directory: its own SQLite database,
        local chain and keys, tasks in process; the directory is removed afterwards."""
        with tempfile.TemporaryDirectory(prefix="nearlabel-demo-") as directory:
            env = {k: v for k, v in os.environ.items() if k not in _APP_ONLY_SETTINGS}
            env.update({_SANDBOXED: "1", "NEARLABEL_VAR_DIR": directory, "DJANGO_DEBUG": "1"})
            env.setdefault("LOG_LEVEL", "WARNING")
            manage = Path(__file__).resolve().parents[3] / "manage.py"
            completed = subprocess.run(  # noqa: S603  (our own manage.py, no shell)
                [sys.executable, str(manage), "demo", "--contributors", str(contributors)],
                env=env,
                check=False,
            )
        if completed.returncode:
            raise CommandError(f"demo failed (exit {completed.returncode})")

    def _run(self, server: Any, contributors: int) -> None:
        out = self.stdout
        out.write(f"Demo in a throwaway database and local NEAR RPC (not NEAR) at {server.url}")
        requester = user_make("demo-requester")
        funded = project_funded_create(
            requester=requester,
            title="Review sentiment (demo)",
            reward_near="0.05",
            answers_per_item=3,
        )
        out.write(
            f"Project {funded.project_id} funded by {funded.requester_account}: "
            f"{yocto_to_near(funded.deposit)} NEAR (tx {funded.deposit_tx})"
        )
        workers = [contributor_make(f"demo-contributor-{n}") for n in range(1, contributors + 1)]
        accuracy = {w.username: 0.95 for w in workers}
        accuracy[workers[-1].username] = 0.4  # one careless contributor
        stats = contributors_label(
            project_id=funded.project_id, contributors=workers, accuracy=accuracy
        )
        # Accepted work is paid automatically (AUTO_PAYOUT_NEAR); withdraw what is left.
        for worker in workers:
            withdraw_all(worker)

        submissions = Submission.objects.filter(assignment__project__public_id=funded.project_id)
        accepted = submissions.filter(status=Submission.Status.ACCEPTED).count()
        rejected = submissions.filter(status=Submission.Status.REJECTED).count()
        pending = submissions.filter(status=Submission.Status.PENDING).count()
        rows = Payout.objects.filter(user__in=workers).order_by("pk")
        paid = sum(p.amount for p in rows if p.status == Payout.Status.CONFIRMED)

        out.write(f"Items: {submissions.values('assignment__item').distinct().count()}")
        out.write(f"Answers: {stats.answers}  accepted: {accepted}  rejected: {rejected}")
        out.write(f"NEAR paid: {yocto_to_near(paid)}")
        for payout in rows:
            out.write(
                f"  payout {yocto_to_near(payout.amount)} NEAR to {payout.receiver_id[:16]}… "
                f"tx {payout.tx_hash} {payout.status}"
            )

        problems = []
        if pending:
            problems.append(f"{pending} answers never judged")
        if any(p.status != Payout.Status.CONFIRMED for p in rows):
            problems.append("a payout did not confirm")
        paid_to: dict[str, int] = {}
        for payout in rows:
            paid_to[payout.receiver_id] = paid_to.get(payout.receiver_id, 0) + payout.amount
        for receiver_id, amount in paid_to.items():
            on_chain = chain_services.near_client().view_account(account_id=receiver_id)
            if int(on_chain["amount"]) != amount:
                problems.append(
                    f"{receiver_id} holds {on_chain['amount']} on chain, ledger paid {amount}"
                )
        balances = ledger_trial_balance()
        if sum(balances.values()) != 0:
            problems.append("the ledger does not balance")
        held = sum(
            v
            for k, v in balances.items()
            if k.startswith(("escrow:", "earnings:")) or k in (IN_FLIGHT_KEY, PLATFORM_FEES_KEY)
        )
        platform = int(
            chain_services.near_client().view_account(account_id="nearlabel.localnet")["amount"]
        )
        if platform != PLATFORM_CAPITAL + held:
            problems.append(
                f"platform wallet {platform} != capital + ledger {PLATFORM_CAPITAL + held}"
            )
        if problems:
            raise DemoError("; ".join(problems))
        out.write(self.style.SUCCESS("Chain balances match the ledger. Demo OK."))

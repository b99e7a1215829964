"""`manage.py seed_demo`: the data `make run` starts with. Safe to run again.

Prints the demo logins as one block on standard output (and nothing else there), so
`make run` can show it once everything is up; progress goes to the log.
"""

import logging
import secrets
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from labeling.models import Project
from marketplace.demo import (
    contributor_make,
    contributors_label,
    project_funded_create,
    user_make,
)
from marketplace.models import Dataset
from marketplace.services.datasets import dataset_publish
from payouts.models import NearAccount
from payouts.money import near_to_yocto
from payouts.services.chain import localnet_platform_bootstrap

log = logging.getLogger(__name__)

CONTRIBUTORS = 3


class Command(BaseCommand):
    help = "Create a demo requester, a funded classification project and contributor logins."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--url", default="http://127.0.0.1:8000", help="where the app is served, for the block"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        localnet_platform_bootstrap(capital=near_to_yocto("1000"))
        password = "demo-" + secrets.token_hex(4)
        requester = user_make("demo-requester", password)
        # A demo with work in it: a new funded project once the last one is completed
        # (the quality engine completes a project when every item is decided).
        if not Project.objects.filter(owner=requester).exclude(status="completed").exists():
            done = Project.objects.filter(owner=requester).count()
            funded = project_funded_create(
                requester=requester,
                title="Review sentiment" + (f" ({done + 1})" if done else ""),
                reward_near="0.05",
                answers_per_item=3,
            )
            log.info("funded demo project %s from %s", funded.project_id, funded.requester_account)
        admin = user_make("demo-admin", password)
        admin.is_staff = admin.is_superuser = True  # the local chain's admin, for the demo
        admin.save(update_fields=["is_staff", "is_superuser"])
        contributors = []
        for n in range(1, CONTRIBUTORS + 1):
            name = f"demo-contributor-{n}"
            if NearAccount.objects.filter(user__username=name).exists():
                user_make(name, password)
            else:
                contributor_make(name, password)
            contributors.append(name)
        if not Dataset.objects.filter(owner__username="demo-seller").exists():
            self._dataset_seed(password, contributors)
        else:
            user_make("demo-seller", password)
        url = options["url"].rstrip("/")
        rule = "=" * 72
        lines = [
            rule,
            f"Nearlabel is running at {url}/",
            f"  Sign in at {url}/signin/ : a NEAR account made in your browser (or, on the",
            "  local chain, a one-click development account), or a demo login below.",
            f"  Requesters: {url}/projects/    contributors: {url}/ and {url}/me/",
            f"  API and its docs: {url}/api/docs/    admin: {url}/admin/",
        ]
        if settings.NEAR_IS_LOCALNET:
            lines.append(
                f"  Chain: the project's LOCAL test chain at {settings.NEAR_RPC_URL} (not NEAR;"
                " no real NEAR moves)"
            )
        lines += [
            "",
            "Demo logins, username / password (passwords change at every start):",
            f"  requester    demo-requester / {password}",
            f"  seller       demo-seller / {password}   (a dataset on sale at {url}/datasets/)",
            f"  admin        demo-admin / {password}",
            *(f"  contributor  {name} / {password}" for name in contributors),
            "",
            f"  API token:  curl -d username=demo-requester -d password={password} "
            f"{url}/api/auth/token",
            f"  Ctrl-C stops everything; logs are in {settings.VAR_DIR / 'log'}/.",
            rule,
        ]
        self.stdout.write("\n".join(lines))

    def _dataset_seed(self, password: str, contributors: list[str]) -> None:
        """A second requester whose project the demo contributors label to the end, sold
        as a dataset: the catalogue has something to buy, with royalties to pay."""
        seller = user_make("demo-seller", password)
        funded = project_funded_create(
            requester=seller,
            title="Product reviews, labelled",
            reward_near="0.02",
            answers_per_item=3,
        )
        users = list(get_user_model().objects.filter(username__in=contributors))
        contributors_label(
            project_id=funded.project_id,
            contributors=users,
            accuracy={user.get_username(): 0.9 for user in users},
        )
        project = Project.objects.get(public_id=funded.project_id)
        if project.status != Project.Status.COMPLETED:
            log.warning("demo dataset project %s did not complete", project.public_id)
            return
        version = dataset_publish(
            user=seller,
            project=project,
            title="Product reviews: sentiment, three labels",
            summary="Short product reviews labelled positive, negative or neutral by three "
            "contributors each, with every answer's score and payout.",
            licence="CC-BY-4.0",
            price=near_to_yocto("1"),
            royalty_bps=2000,
            motivation="A small, fully traced sentiment set for testing classifiers.",
            composition="Twelve English product reviews, one sentence or two each.",
            collection_process="Labelled on Nearlabel's local demo chain by three paid "
            "contributors per review; each answer scored against the others (Dawid-Skene) "
            "and accepted or rejected on its score.",
        )
        log.info("demo dataset version %s published", version.public_id)

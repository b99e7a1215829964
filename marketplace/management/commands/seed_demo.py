"""`manage.py seed_demo`: the data `make run` starts with. Safe to run again."""

import secrets
from typing import Any

from django.core.management.base import BaseCommand

from labeling.models import Project
from marketplace.demo import contributor_make, project_funded_create, user_make
from payouts.models import NearAccount
from payouts.money import near_to_yocto
from payouts.services.chain import localnet_platform_bootstrap

CONTRIBUTORS = 3


class Command(BaseCommand):
    help = "Create a demo requester, a funded classification project and contributor logins."

    def handle(self, *args: Any, **options: Any) -> None:
        localnet_platform_bootstrap(capital=near_to_yocto("1000"))
        password = "demo-" + secrets.token_hex(4)
        requester = user_make("demo-requester", password)
        if not Project.objects.filter(owner=requester).exists():
            funded = project_funded_create(
                requester=requester,
                title="Review sentiment",
                reward_near="0.05",
                answers_per_item=3,
            )
            self.stdout.write(f"Funded project {funded.project_id} ({funded.requester_account}).")
        self.stdout.write("Logins (reset at every start):")
        self.stdout.write(f"  requester    demo-requester / {password}")
        for n in range(1, CONTRIBUTORS + 1):
            name = f"demo-contributor-{n}"
            if NearAccount.objects.filter(user__username=name).exists():
                user_make(name, password)
            else:
                contributor_make(name, password)
            self.stdout.write(f"  contributor  {name} / {password}")
        self.stdout.write("API tokens: POST /api/auth/token with username and password.")

"""`manage.py manifests_resign`: sign the stored manifests again with the current key.

Run it after making a new key the primary one (NEAR_PRIVATE_KEY_FILE) and before
deleting the old key from the account: a manifest whose key is no longer on the account
no longer verifies (docs/ARCHITECTURE.md, "Provenance").
"""

from typing import Any

from django.core.management.base import BaseCommand

from marketplace.services.manifests import manifests_resign


class Command(BaseCommand):
    help = "Re-sign every stored manifest that another key than the primary one signed."

    def handle(self, *args: Any, **options: Any) -> None:
        count = manifests_resign()
        self.stdout.write(f"re-signed {count} manifests")

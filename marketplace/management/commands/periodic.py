"""`manage.py periodic`: Celery beat's schedule for the embedded default (no broker).

With REDIS_URL set, run `celery -A config beat` instead.
"""

import logging
import time
from typing import Any

from django.core.management.base import BaseCommand

from labeling.services.quality import items_resolve_stale
from labeling.services.quality.refit import projects_refit_sweep
from labeling.services.queue import assignments_expire
from marketplace.services.datasets import dataset_versions_build_stale
from marketplace.services.exports.jobs import export_jobs_sweep
from marketplace.services.purchases import purchases_settle
from payouts.services.auth import auth_challenges_purge
from payouts.services.deposits import deposits_recheck
from payouts.services.earnings import payouts_auto_sweep
from payouts.services.payouts import payouts_reconcile

log = logging.getLogger(__name__)


class Command(BaseCommand):
    help = (
        "Run the periodic jobs: expire reservations, resolve stale items, refit projects' "
        "quality models, recheck pending deposits, settle dataset purchases waiting for "
        "theirs, reconcile payouts, make automatic payouts whose task was lost, purge "
        "expired sign-in challenges, send background exports whose task was lost, build "
        "dataset versions whose build was lost."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--interval", type=float, default=15.0, help="seconds between rounds")
        parser.add_argument("--once", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        while True:
            for job in (
                assignments_expire,
                items_resolve_stale,
                projects_refit_sweep,
                deposits_recheck,
                purchases_settle,
                payouts_reconcile,
                payouts_auto_sweep,
                auth_challenges_purge,
                export_jobs_sweep,
                dataset_versions_build_stale,
            ):
                try:
                    job()
                except Exception:  # one failing job must not stop the others
                    log.exception("periodic job %s failed", job.__name__)
            if options["once"]:
                return
            time.sleep(options["interval"])

"""Enqueueing Celery tasks after commit, without letting the broker fail a request.

Every service that hands work to a task does it through `enqueue_on_commit`: the task
is sent only once the transaction that made its work has committed, and a broker that
is down or does not answer cannot turn that committed work into an error. The work
is safe in the database; the periodic sweep that owns it does it later:

| task | sweep (beat and `manage.py periodic`) |
|---|---|
| `payout_send_task` | `payouts_reconcile`: open payouts older than 30 s |
| `item_resolve_task` | `items_resolve_stale`: items complete for 60 s |
| `payout_auto_task` | `payouts_auto_sweep`: earnings newer than the user's last payout |

How long a dead broker can hold a request is bounded by the broker settings
(`BROKER_TIMEOUT`, `CELERY_TASK_PUBLISH_RETRY_POLICY` in config/settings.py).
"""

import logging
from functools import partial
from typing import Any

from celery import Task
from django.db import transaction

log = logging.getLogger(__name__)


def enqueue_on_commit(task: Task[..., Any], *args: Any, using: str | None = None) -> None:
    """Send `task(*args)` once the current transaction commits (at once outside one).

    Nothing is sent if the transaction rolls back. A failure to send is logged and
    swallowed, never raised: see the module docstring for who does the work then.
    In the embedded default (eager Celery) the task runs here, in the caller's thread.
    """
    transaction.on_commit(partial(_send, task, args), using=using)


def _send(task: Task[..., Any], args: tuple[Any, ...]) -> None:
    try:
        task.apply_async(args=args)
    # Any error, not only kombu's OperationalError: this runs after the commit, so an
    # exception would answer 500 for work that was done, and invite the client to do
    # it again. The sweep is the recovery path whatever went wrong.
    except Exception:
        log.exception("could not enqueue %s%r; its periodic sweep will do it", task.name, args)

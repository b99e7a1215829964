"""The Celery application.

With REDIS_URL set, tasks go to Redis and run in separate worker processes. Without it
(the embedded default) they run eagerly, in process, after the transaction that
enqueued them commits.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("nearlabel")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

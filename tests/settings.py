"""Settings of the test suite: production's module, config.settings, with what tests need.

Tests run with debug off, as production does, whatever the shell says, over plain HTTP
(the test client and the live server; hence no redirect to HTTPS), with a fixed secret key
and "Sign in with NEAR" recipient. Processes the tests start (Celery workers) inherit this
environment and name this module too.
"""

import os
import tempfile

os.environ.update(
    DJANGO_DEBUG="0",
    SECRET_KEY="tests-only-secret-key-never-used-outside-the-test-suite-0123456789",
    NEAR_AUTH_RECIPIENT="nearlabel.localhost",
    ALLOWED_HOSTS="127.0.0.1,localhost,testserver",
    SECURE_SSL_REDIRECT="0",
)

from config.settings import *  # noqa: F403

# Production keeps hashed names from a manifest that `collectstatic` writes; tests render
# pages without running it.
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

# The sentence encoder takes seconds to load: tests that are about it turn it on
# (tests/labeling/test_encoder.py, tests/labeling/test_quality_model.py); the others
# score on agreement and gold, as a deployment with the model switched off does.
QUALITY_MODEL_ENABLED = os.environ.get("QUALITY_MODEL_ENABLED", "0") == "1"

# Exports and snapshots go to a directory of this run's own; tests that look at files
# point it at their tmp_path (settings fixture).
DATASET_STORAGE_DIR = tempfile.mkdtemp(prefix="nearlabel-test-datasets-")

# Under pytest-xdist (`make test` runs two workers) each worker has its own test database
# (pytest-django adds the suffix) and must have its own rate-limit counters too: the
# embedded cache's files, which every test clears, go to a directory of the worker's own.
# Processes a test starts inherit PYTEST_XDIST_WORKER, so they share that worker's cache.
XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
if XDIST_WORKER and not REDIS_URL:  # noqa: F405 (the files of config.settings' cache)
    CACHES["default"]["LOCATION"] = str(VAR_DIR / f"cache-{XDIST_WORKER}")  # noqa: F405

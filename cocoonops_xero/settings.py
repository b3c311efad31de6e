"""Settings for the CocoonOPS Xero add-on.

Everything comes from the environment (django-environ), optionally through a `.env` file; see
`.env.example`. Two run modes share this file:

* Embedded (no `DATABASE_URL`, no `REDIS_URL`): SQLite, a file-system Celery broker and a file
  cache under `VAR_DIR`. Nothing but Python is needed: this is what `make run` and `make test` use
  on a fresh machine.
* Production shape: `DATABASE_URL` points at PostgreSQL and `REDIS_URL` at Redis, which becomes the
  Celery broker and the Django cache. More web processes and workers can then run on more machines.
"""

import datetime
from pathlib import Path
from urllib.parse import urlsplit

import environ
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# `.env` is the development file (bin/make-dev-env: DEBUG on): read only when asked (`make run` and
# `make migrate` ask), so a copy left on a server never switches DEBUG or the sandbox on there.
ENV_FILE = Path(env.str("ENV_FILE", default=str(BASE_DIR / ".env")))
if env.bool("READ_ENV_FILE", default=False) and ENV_FILE.is_file():
    env.read_env(ENV_FILE)

DEBUG = env.bool("DEBUG", default=False)
# No default: a production deployment that forgot its secret must not start.
SECRET_KEY = env.str("SECRET_KEY") if not DEBUG else env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    SECRET_KEY = "insecure-debug-only-key"  # DEBUG is on, so this never serves production.
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# Runtime files of the embedded mode (SQLite database, broker folders, cache).
VAR_DIR = Path(env.str("VAR_DIR", default=str(BASE_DIR / "var")))

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "axes",
    "csp",
    "django_countries",
    "cocoonops_xero",
    "billing",
    "integrations",
    "integrations.xero",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "cocoonops_xero.middleware.RefuseNulInQueryMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "cocoonops_xero.middleware.SessionMiddleware",  # Django's, that leaves the signed webhook's answer alone
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Every page needs a signed-in user unless its view opts out (the login page, the webhook).
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "cocoonops_xero.middleware.StaffOnlyMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it turns a locked-out sign-in into its lockout page.
    "axes.middleware.AxesMiddleware",
]

# Sign-in throttling (django-axes): wrong passwords in a row pause the account, and separately the address.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = datetime.timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # either one reaching the limit pauses it
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False  # failed sign-ins are logged by cocoonops_xero.receivers, in one line each

ROOT_URLCONF = "cocoonops_xero.urls"
WSGI_APPLICATION = "cocoonops_xero.wsgi.application"

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
                "cocoonops_xero.context_processors.worker_status",
                "integrations.context_processors.xero_sync_exceptions",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
DATABASE_URL = env.str("DATABASE_URL", default="") or f"sqlite:///{VAR_DIR / 'db.sqlite3'}"
DATABASES = {"default": env.db_url_config(DATABASE_URL)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web server and the worker write at once: wait for the lock instead of failing, and take
    # the write lock at BEGIN so that a transaction never fails half-way on an upgrade.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL;",
    }
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: Celery broker and cache ----------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")

if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "cocoonops",
        }
    }
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # A task unacknowledged for this long is delivered again (tasks are acked late).
        "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600),
    }
else:
    # Cross-process cache on disk so that the worker and the web server see the same values.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }
    _broker_dir = VAR_DIR / "celery"
    for _folder in ("queue", "processed", "control"):
        (_broker_dir / _folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }

# --- Celery -----------------------------------------------------------------------------------
# Tasks always go through the broker: there is deliberately no "eager" fallback here.
CELERY_TASK_ALWAYS_EAGER = False
CELERY_TASK_IGNORE_RESULT = True
# A task is acknowledged only when it has finished, and re-queued if its worker dies mid-way:
# tasks are written to be idempotent, so running one twice is safe while losing one is not.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {
    "worker-heartbeat": {"task": "cocoonops_xero.tasks.worker_heartbeat", "schedule": 30.0},
    "xero-refresh-idle-links": {"task": "integrations.xero.tasks.refresh_idle_connections", "schedule": 6 * 3600.0},
    "xero-sweep-waiting-documents": {"task": "integrations.xero.tasks.sweep", "schedule": 60.0},
}

# --- Auth, sessions, security ---------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# A document of billing.forms.MAX_LINES (200) lines posts about 1,200 fields; Django's default allows 1,000.
DATA_UPLOAD_MAX_NUMBER_FIELDS = 1500

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "billing:invoice_list"
LOGOUT_REDIRECT_URL = "login"

SESSION_COOKIE_HTTPONLY = True
# A session ends after SESSION_IDLE_HOURS without a request (default 9: a working day); each request
# starts the count again.
SESSION_COOKIE_AGE = int(env.float("SESSION_IDLE_HOURS", default=9.0) * 3600)
SESSION_SAVE_EVERY_REQUEST = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
if not DEBUG:
    # Production is served over HTTPS only, behind a proxy that says so in X-Forwarded-Proto: secure
    # cookies, plain HTTP redirected, and browsers told to stay on HTTPS (`manage.py check --deploy` is
    # clean). SECURE_COOKIES=false is for runs driven over plain HTTP on one machine (the benchmark).
    SERVED_OVER_HTTPS = env.bool("SECURE_COOKIES", default=True)
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = SERVED_OVER_HTTPS
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=SERVED_OVER_HTTPS)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=365 * 24 * 3600 if SERVED_OVER_HTTPS else 0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)

# --- Internationalisation and static files ----------------------------------------------------
LANGUAGE_CODE = "en-gb"
# The language's date and time formats win over DATETIME_FORMAT and the like in settings: the project's
# own (24-hour, no "a.m.") are in cocoonops_xero/formats/en/formats.py.
FORMAT_MODULE_PATH = ["cocoonops_xero.formats"]
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"

# --- Billing --------------------------------------------------------------------------------
BILLING_DEFAULT_CURRENCY = env.str("BILLING_DEFAULT_CURRENCY", default="NZD")
# The first issuing company, made when there is none yet (more are added in the admin, Billing › Companies).
BILLING_COMPANY_NAME = env.str("BILLING_COMPANY_NAME", default="Cocoon Freight Ltd")
BILLING_COMPANY_COUNTRY = env.str("BILLING_COMPANY_COUNTRY", default="NZ")

# --- Xero add-on ----------------------------------------------------------------------------
# The vendor's switch: turns the add-on on at start (it can also be turned on in the admin).
XERO_ENABLED = env.bool("XERO_ENABLED", default=False)
# The integration reaches Xero only through these three base URLs and appends Xero's own paths.
# Point all three at http://127.0.0.1:8000/xero-sandbox to use the project's local sandbox.
XERO_LOGIN_URL = env.str("XERO_LOGIN_URL", default="https://login.xero.com")
XERO_IDENTITY_URL = env.str("XERO_IDENTITY_URL", default="https://identity.xero.com")
XERO_API_URL = env.str("XERO_API_URL", default="https://api.xero.com")
# Xero's web app, for "Open in Xero" links (the sandbox answers the same deep links under its /go).
XERO_WEB_URL = env.str("XERO_WEB_URL", default="https://go.xero.com")
XERO_CLIENT_ID = env.str("XERO_CLIENT_ID", default="")
XERO_CLIENT_SECRET = env.str("XERO_CLIENT_SECRET", default="")
XERO_REDIRECT_URI = env.str("XERO_REDIRECT_URI", default="http://127.0.0.1:8000/integrations/xero/callback/")
XERO_WEBHOOK_URL = env.str("XERO_WEBHOOK_URL", default="http://127.0.0.1:8000/integrations/xero/webhooks/")
XERO_WEBHOOK_KEY = env.str("XERO_WEBHOOK_KEY", default="")
# Webhooks: larger bodies are refused (413) unread (Xero's batches of 50 events are some 20 kB); events
# received within XERO_WEBHOOK_GATHER_SECONDS share one processing task and the same read-back calls;
# processed events are kept XERO_WEBHOOK_RETENTION_DAYS for the Add Ons page's counts and for support.
XERO_WEBHOOK_MAX_BYTES = env.int("XERO_WEBHOOK_MAX_BYTES", default=1_000_000)
XERO_WEBHOOK_GATHER_SECONDS = env.float("XERO_WEBHOOK_GATHER_SECONDS", default=2.0)
XERO_WEBHOOK_RETENTION_DAYS = env.int("XERO_WEBHOOK_RETENTION_DAYS", default=30)
# The calls made to each organisation, minute by minute, are kept this long for the sync page's charts.
XERO_CALL_MINUTES_KEPT_HOURS = env.int("XERO_CALL_MINUTES_KEPT_HOURS", default=48)
# Prometheus scrapes /metrics with `Authorization: Bearer <METRICS_TOKEN>`; without a token set, nobody can.
# Of the organisations, the METRICS_ORGANISATION_LABELS with the most in hand are named in labels, the rest
# summed as "other" (a thousand organisations must not make a thousand series).
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
METRICS_ORGANISATION_LABELS = env.int("METRICS_ORGANISATION_LABELS", default=20)
# The reconciliation re-reads what Xero changed every XERO_RECONCILE_MINUTES (see the beat schedule),
# starting this much before where it stopped, in case a change shows in Xero a little late.
XERO_RECONCILE_MINUTES = env.float("XERO_RECONCILE_MINUTES", default=15.0)
XERO_RECONCILE_OVERLAP_SECONDS = env.int("XERO_RECONCILE_OVERLAP_SECONDS", default=120)
# An organisation whose sent documents are all paid is read this often (a payment removed opens one again);
# one with nothing sent, or only voided and deleted documents, is not read at all.
XERO_RECONCILE_QUIET_HOURS = env.float("XERO_RECONCILE_QUIET_HOURS", default=6.0)
CELERY_BEAT_SCHEDULE["xero-reconcile-statuses"] = {
    "task": "integrations.xero.tasks.reconcile_statuses",
    "schedule": 60.0 * XERO_RECONCILE_MINUTES,
}
# Fernet keys for the tokens at rest, comma-separated: the first encrypts, all decrypt.
XERO_TOKEN_KEYS = env.list("XERO_TOKEN_KEYS", default=[])
# Every call to Xero gives up after these many seconds (connect, read).
XERO_TIMEOUT = (env.float("XERO_CONNECT_TIMEOUT", default=5.0), env.float("XERO_READ_TIMEOUT", default=30.0))
# No request's path and query (URL-encoded) is longer than this: Xero's edge answers requests past about
# 2,050 characters with a 404. Look-ups are split to fit.
# The class that calls Xero for a linked organisation; the fast tests of the rules name the in-memory
# integrations.xero.api.fake.FakeXeroApi instead (as Django's tests name the locmem mail backend).
XERO_API = "integrations.xero.api.xero_api.XeroApi"
XERO_REQUEST_BUDGET = env.int("XERO_REQUEST_BUDGET", default=1800)
# A document still failing for a passing reason after this long is listed on Sync exceptions as
# "still failing — retrying" (it keeps being retried).
XERO_STILL_FAILING_HOURS = env.float("XERO_STILL_FAILING_HOURS", default=24.0)
# Refresh an access token this long before it expires, and idle links every so many days.
XERO_REFRESH_MARGIN_SECONDS = env.int("XERO_REFRESH_MARGIN_SECONDS", default=300)
XERO_IDLE_REFRESH_DAYS = env.int("XERO_IDLE_REFRESH_DAYS", default=7)
# How long one worker may hold the refresh lease (others wait for it, up to the same time).
XERO_REFRESH_WAIT_SECONDS = env.int("XERO_REFRESH_WAIT_SECONDS", default=45)
# A worker's claim on a batch lapses after this (then the sweeper hands it to another worker), and
# the organisation's chart of accounts and tax rates are read again when older than this.
XERO_SYNC_CLAIM_SECONDS = env.int("XERO_SYNC_CLAIM_SECONDS", default=300)
XERO_REFERENCE_DATA_SECONDS = env.int("XERO_REFERENCE_DATA_SECONDS", default=600)
# Xero's per-organisation limits, which the workers share between them: calls a minute, at once.
XERO_CALLS_PER_MINUTE = env.int("XERO_CALLS_PER_MINUTE", default=60)
XERO_CONCURRENT_CALLS = env.int("XERO_CONCURRENT_CALLS", default=5)
# Calls a day each organisation allows (5,000; 1,000 on Xero's Starter tier): the sync page draws the calls of
# the last 24 hours against it (Xero itself says what is left of its day, and the pace heeds that).
XERO_CALLS_PER_DAY = env.int("XERO_CALLS_PER_DAY", default=5000)
# One Xero app serves every linked organisation: Xero allows it 10,000 calls a minute across all of them.
XERO_APP_CALLS_PER_MINUTE = env.int("XERO_APP_CALLS_PER_MINUTE", default=10000)
# Of each organisation's daily calls, the last ones are kept for reading payments and voids back: sending
# stops when Xero says this many are left, reconciliation and set-up reads at twice as many (0: no reserve).
XERO_DAY_RESERVE = env.int("XERO_DAY_RESERVE", default=200)
# Attach each sent document's PDF in Xero, shown on its online invoice (needs accounting.attachments).
XERO_ATTACH_PDFS = env.bool("XERO_ATTACH_PDFS", default=True)
XERO_SCOPES = env.str(
    "XERO_SCOPES",
    default="offline_access accounting.invoices accounting.contacts accounting.settings.read accounting.attachments",
)

# --- Xero sandbox (a local stand-in for Xero; never on unless set) ---------------------------
# Content-Security-Policy (django-csp): scripts and styles from this site's own static files only (no
# inline script anywhere), no framing; forms may also lead to Xero's sign-in page (LINK TO MY ACCOUNT).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "connect-src": [SELF],
        "form-action": [SELF, "{0.scheme}://{0.netloc}".format(urlsplit(XERO_LOGIN_URL))],
        "frame-ancestors": [NONE],
        "base-uri": [SELF],
        "object-src": [NONE],
    }
}

XERO_SANDBOX_ENABLED = env.bool("XERO_SANDBOX_ENABLED", default=False)
if XERO_SANDBOX_ENABLED and not DEBUG and not env.bool("XERO_SANDBOX_WITHOUT_DEBUG", default=False):
    # A fake Xero with a consent page anyone can open, and the app's secrets in its tables: development,
    # tests and the benchmark only (they say so with XERO_SANDBOX_WITHOUT_DEBUG=true).
    raise ImproperlyConfigured(
        "XERO_SANDBOX_ENABLED is on while DEBUG is off: the Xero sandbox is for development only. Unset "
        "XERO_SANDBOX_ENABLED (and point the XERO_*_URL settings at Xero), or set DEBUG=true on a developer's machine."
    )
if XERO_SANDBOX_ENABLED:
    INSTALLED_APPS.append("xero_sandbox")
XERO_SANDBOX_PUBLIC_API_URL = env.str("XERO_SANDBOX_PUBLIC_API_URL", default="")
XERO_SANDBOX = {
    "MINUTE_LIMIT": env.int("XERO_SANDBOX_MINUTE_LIMIT", default=60),
    "DAY_LIMIT": env.int("XERO_SANDBOX_DAY_LIMIT", default=5000),
    "CONCURRENT_LIMIT": env.int("XERO_SANDBOX_CONCURRENT_LIMIT", default=5),
    "APP_MINUTE_LIMIT": env.int("XERO_SANDBOX_APP_MINUTE_LIMIT", default=10000),  # across all organisations of an app
    "MINUTE_SECONDS": env.float("XERO_SANDBOX_MINUTE_SECONDS", default=60.0),
    "ACCESS_TOKEN_SECONDS": env.int("XERO_SANDBOX_ACCESS_TOKEN_SECONDS", default=1800),
}

# LOG_FORMAT=json: one JSON object a line, for a log shipper; a line about a document carries its id
# (document_id, or document_ids) and its organisation's (organisation_id, Xero's tenant id). No line
# carries a token (the integration never logs one). Celery then leaves the root logger to these settings.
LOG_FORMAT = env.str("LOG_FORMAT", default="text")
if LOG_FORMAT not in ("text", "json"):
    raise ImproperlyConfigured(f"LOG_FORMAT is {LOG_FORMAT!r}: it must be text or json.")
LOG_LINE = "%(asctime)s %(levelname)s %(name)s %(message)s"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "text": {"format": LOG_LINE},
        "json": {"()": "pythonjsonlogger.json.JsonFormatter", "fmt": LOG_LINE},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}
CELERY_WORKER_HIJACK_ROOT_LOGGER = LOG_FORMAT == "text"

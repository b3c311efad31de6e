"""Settings for the test suite: the normal settings, isolated from a developer's `.env`."""

import os
import tempfile

os.environ.setdefault("READ_ENV_FILE", "false")
os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-used-anywhere-else")
# Each test run gets its own broker folders and cache, so runs never see each other's messages.
os.environ.setdefault("XERO_SANDBOX_ENABLED", "true")
os.environ.setdefault("XERO_SANDBOX_WITHOUT_DEBUG", "true")  # tests run with DEBUG off, as production does
os.environ.setdefault("XERO_CLIENT_ID", "TESTCLIENTID0000000000000000000")
os.environ.setdefault("XERO_CLIENT_SECRET", "test-client-secret")
os.environ.setdefault("XERO_WEBHOOK_KEY", "test-webhook-key")
# Fixed test-only Fernet keys (never used outside the test suite).
os.environ.setdefault("XERO_TOKEN_KEYS", "hDLY7avYDNC0Le-JG3XAa7IBuRaB4wChrqnuy96mvi8=")
# Pacing tests set their own rate; the rest should not wait a second between calls.
os.environ.setdefault("XERO_CALLS_PER_MINUTE", "60000")
os.environ.setdefault("VAR_DIR", tempfile.mkdtemp(prefix="cocoonops-test-"))

from .settings import *  # noqa: E402,F403

# Parallel test processes (pytest-xdist's, which inherit one VAR_DIR) share the cache's store: each
# keeps its keys to itself. The Celery workers a test starts inherit PYTEST_XDIST_WORKER, so they share
# their test's keys.
CACHES["default"]["KEY_PREFIX"] = f"cocoonops-test-{VAR_DIR.name}-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"  # noqa: F405

# The test client and the live server speak plain HTTP: production's redirect to HTTPS is off here only.
SECURE_SSL_REDIRECT = False

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Static files come from the finders; no collectstatic output is needed to render pages.
STATIC_ROOT = None
WHITENOISE_USE_FINDERS = True

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # A file, not SQLite's shared in-memory database: the live server's threads and the worker
    # processes that tests start then each open their own connection, as they do in production.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-db.sqlite3")}  # noqa: F405

# Tests sign in with Client.login(), which gives django-axes' backend no request (it refuses that even
# when switched off): only the sign-in throttle's own tests put it back (test_sign_in_throttle.py).
AXES_ENABLED = False
AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend"]
SILENCED_SYSTEM_CHECKS = ["axes.W003"]  # the warning that says just that

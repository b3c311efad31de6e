"""Settings for the test suite: the normal settings, isolated from a developer's `.env`."""

import os
import tempfile

os.environ.setdefault("READ_ENV_FILE", "false")
os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-used-anywhere-else")
# Each test run gets its own broker folders and cache, so runs never see each other's messages.
os.environ.setdefault("VAR_DIR", tempfile.mkdtemp(prefix="cocoonops-test-"))

from .settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Static files come from the finders; no collectstatic output is needed to render pages.
STATIC_ROOT = None
WHITENOISE_USE_FINDERS = True

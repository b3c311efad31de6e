import os
import subprocess
import sys

from django.conf import settings

PRINT_SETTINGS = (
    "from cocoonops_xero import settings as s; print(s.DEBUG, s.DATABASES['default']['ENGINE'], s.CELERY_BROKER_URL)"
)


def load_settings(tmp_path, **env):
    """Import the production settings module in a fresh interpreter with exactly this environment."""
    clean_env = {"PATH": os.environ["PATH"], "READ_ENV_FILE": "false", "VAR_DIR": str(tmp_path), **env}
    return subprocess.run(
        [sys.executable, "-c", PRINT_SETTINGS],
        cwd=settings.BASE_DIR,
        env=clean_env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_settings_refuse_to_start_without_a_secret_key(tmp_path):
    result = load_settings(tmp_path)
    assert result.returncode != 0
    assert "Set the SECRET_KEY environment variable" in result.stderr


def test_debug_is_off_unless_set_and_the_embedded_mode_needs_no_server(tmp_path):
    result = load_settings(tmp_path, SECRET_KEY="x" * 50)
    assert result.stdout.split() == ["False", "django.db.backends.sqlite3", "filesystem://"]


def test_database_and_redis_urls_switch_to_the_production_shape(tmp_path):
    result = load_settings(
        tmp_path,
        SECRET_KEY="x" * 50,
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/cocoonops",
        REDIS_URL="redis://127.0.0.1:6379/3",
    )
    assert result.stdout.split() == ["False", "django.db.backends.postgresql", "redis://127.0.0.1:6379/3"]


def test_a_dev_env_file_left_on_a_server_is_not_read_unless_asked(tmp_path):
    dev_env = tmp_path / "dev.env"
    dev_env.write_text("DEBUG=true\nXERO_SANDBOX_ENABLED=true\n")
    unasked = load_settings(tmp_path, SECRET_KEY="x" * 50, ENV_FILE=str(dev_env))
    assert unasked.stdout.split()[0] == "False", unasked.stderr
    asked = load_settings(tmp_path, SECRET_KEY="x" * 50, ENV_FILE=str(dev_env), READ_ENV_FILE="true")
    assert asked.stdout.split()[0] == "True", asked.stderr


def test_the_sandbox_refuses_to_mount_with_debug_off(tmp_path):
    result = load_settings(tmp_path, SECRET_KEY="x" * 50, XERO_SANDBOX_ENABLED="true")
    assert result.returncode != 0
    assert "XERO_SANDBOX_ENABLED is on while DEBUG is off" in result.stderr
    benchmark = load_settings(
        tmp_path, SECRET_KEY="x" * 50, XERO_SANDBOX_ENABLED="true", XERO_SANDBOX_WITHOUT_DEBUG="true"
    )
    assert benchmark.returncode == 0, benchmark.stderr

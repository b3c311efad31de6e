import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from billing.models import BillingAccount, Invoice


@pytest.mark.django_db
def test_demo_setup_refuses_to_run_without_debug(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="only runs with DEBUG on"):
        call_command("demo_setup")
    assert not get_user_model().objects.exists()


@pytest.mark.django_db
def test_demo_setup_prints_working_credentials_and_can_run_twice(settings, capsys, client, tmp_path):
    settings.DEBUG, settings.VAR_DIR = True, tmp_path
    call_command("demo_setup")
    call_command("demo_setup")
    output = capsys.readouterr().out
    last_line = [line for line in output.splitlines() if "sign in as" in line][-1]
    password = last_line.split(" / ")[-1].strip()
    assert client.login(username="demo", password=password)
    assert BillingAccount.objects.filter(code="ACME01").count() == 1
    draft = Invoice.objects.get()
    assert (draft.status, draft.lines.count()) == ("draft", 2)


@pytest.mark.django_db
def test_running_demo_setup_again_keeps_the_password_and_signs_nobody_out(settings, capsys, client, tmp_path):
    settings.DEBUG, settings.VAR_DIR = True, tmp_path
    call_command("demo_setup")
    first = [line for line in capsys.readouterr().out.splitlines() if "sign in as" in line][-1]
    assert client.login(username="demo", password=first.split(" / ")[-1].strip())
    call_command("demo_setup")
    again = [line for line in capsys.readouterr().out.splitlines() if "sign in as" in line][-1]
    assert again == first
    assert client.get("/addons/").status_code == 200  # still signed in
    assert oct((tmp_path / "demo-password").stat().st_mode & 0o777) == "0o600"

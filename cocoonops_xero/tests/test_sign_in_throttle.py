"""Signing in is throttled per account and per address (django-axes): after AXES_FAILURE_LIMIT wrong
passwords the account, or the address, is paused for AXES_COOLOFF_TIME with a page that says so, and every
failed sign-in is logged without the password."""

import logging

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.fixture
def throttled(settings):
    settings.AXES_ENABLED = True  # off in the other tests, which sign in with Client.login()
    settings.AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", *settings.AUTHENTICATION_BACKENDS]
    settings.AXES_FAILURE_LIMIT = 5
    get_user_model().objects.create_user("finance", password="right password", is_staff=True)


def sign_in(username, password, address="10.0.0.1"):
    return Client(REMOTE_ADDR=address).post("/login/", {"username": username, "password": password})


def test_five_wrong_passwords_pause_the_account_even_from_another_address(throttled):
    for _ in range(4):
        assert sign_in("finance", "guess").status_code == 200  # the form again, with its error
    assert sign_in("finance", "guess").status_code == 429  # the fifth pauses it
    paused = sign_in("finance", "right password", address="10.0.0.99")
    assert paused.status_code == 429
    page = paused.content.decode()
    assert 'data-testid="locked-out"' in page and "5 in a row" in page


def test_one_address_guessing_many_accounts_is_paused_for_every_account(throttled):
    for number in range(5):
        sign_in(f"someone{number}", "guess", address="10.0.0.7")
    assert sign_in("finance", "right password", address="10.0.0.7").status_code == 429
    assert sign_in("finance", "right password", address="10.0.0.8").status_code == 302  # others are not


def test_a_right_password_before_the_limit_signs_in_and_starts_the_count_again(throttled):
    for _ in range(4):
        sign_in("finance", "guess")
    assert sign_in("finance", "right password").status_code == 302
    for _ in range(4):
        sign_in("finance", "guess")
    assert sign_in("finance", "right password").status_code == 302


def test_a_failed_sign_in_is_logged_with_the_account_and_address_but_never_the_password(throttled, caplog):
    with caplog.at_level(logging.WARNING, logger="cocoonops_xero.sign_in"):
        sign_in("finance", "a secret guess", address="10.0.0.5")
    assert "Failed sign-in for 'finance' from 10.0.0.5" in caplog.text
    assert "a secret guess" not in caplog.text

"""Fixtures of the browser journey: the running stack, one Chromium page, and `step`, which saves a
screenshot after each step (and names it in the failure when a step fails).

Without Debian's chromium (or the playwright package) the suite skips, unless CI is set: then it fails,
because CI installs chromium first (.ci/run).
"""

import os
import shutil
from contextlib import contextmanager
from pathlib import Path

import pytest

from bench.processes import BenchError

from . import stack as stack_module

IN_CI = bool(os.environ.get("CI"))

CHROMIUM = os.environ.get("E2E_CHROMIUM", "/usr/bin/chromium")
DOCS_SCREENSHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots" / "e2e"
WAIT_MS = int(os.environ.get("E2E_WAIT_SECONDS", "60")) * 1000  # background changes: sync, webhooks


def _skip_or_fail(reason: str) -> None:
    if IN_CI:  # CI installs chromium and runs PostgreSQL and Redis: a missing piece is a failure there
        pytest.fail(f"{reason} (CI is set, so this is a failure, not a skip)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser_executable() -> str:
    if not Path(CHROMIUM).exists():
        _skip_or_fail(f"no browser at {CHROMIUM}: `apt-get install -y chromium` (Debian's package)")
    return CHROMIUM


@pytest.fixture(scope="session")
def stack(browser_executable, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("e2e-run")
    try:
        running = stack_module.start(run_dir)
    except BenchError as error:
        if "not reachable" in str(error):
            _skip_or_fail(f"the browser suite needs PostgreSQL and Redis: {error}")
        pytest.fail(f"the browser suite's processes did not start: {error}")
    yield running
    running.stop()


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("e2e-screenshots", numbered=False)
    yield folder
    failed = any(folder.glob("*-FAILED.png"))
    if os.environ.get("E2E_SAVE_SCREENSHOTS") == "1" and any(folder.iterdir()) and not failed:
        _publish(folder)  # only a whole journey's set: a failed run leaves the last good one in place


def _publish(folder: Path) -> None:
    """The latest set replaces the one in docs/ (README shows some of them)."""
    shutil.rmtree(DOCS_SCREENSHOTS, ignore_errors=True)
    DOCS_SCREENSHOTS.mkdir(parents=True)
    for shot in sorted(folder.glob("*.png")):
        shutil.copy2(shot, DOCS_SCREENSHOTS / shot.name)


@pytest.fixture(scope="session")
def page(stack, browser_executable):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        # As root (CI), Chromium cannot use its own sandbox.
        browser = playwright.chromium.launch(executable_path=browser_executable, args=["--no-sandbox"])
        context = browser.new_context(base_url=stack.url, viewport={"width": 1280, "height": 900})
        context.set_default_timeout(15_000)
        page = context.new_page()
        yield page
        context.close()
        browser.close()


@pytest.fixture(scope="session")
def step(page, screenshots, stack):
    """`with step("3e-sent-with-xeros-number"):` … — a screenshot when it ends, whichever way it ends."""

    @contextmanager
    def run_step(name: str):
        try:
            yield
        except Exception as error:
            shot = _shoot(page, screenshots / f"{name}-FAILED.png")
            pytest.fail(
                f"step {name} failed: {error}\n  screenshot: {shot}\n  process logs: {stack.run_dir}"
                f"{_dead_process(stack)}"
            )
        _shoot(page, screenshots / f"{name}.png")

    return run_step


def _dead_process(stack) -> str:
    """A process that died says more than the page did."""
    try:
        stack.check_alive()
    except BenchError as died:
        return f"\n  {died}"
    return ""


def _shoot(page, path: Path) -> Path:
    try:
        page.screenshot(path=str(path), full_page=True)
    except Exception as error:  # a browser gone too: the failure still names the path it meant
        path = path.with_suffix(f".png (not taken: {error})")
    return path

"""The what-if app in a real browser: `tpn-sim-app` started on a free loopback port and driven by
Playwright in Debian's headless Chromium (Playwright's own browser download is unreachable
here). Screenshots are kept in results/test-artifacts/.

`make test` installs Chromium where it can; without it these tests are skipped with a reason,
except in CI, where a missing browser fails them.
"""

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "results" / "test-artifacts"
APP = Path(sys.executable).parent / "tpn-sim-app"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# as root, offline: no sandbox, and none of Chromium's background calls to the internet
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]
TIMEOUT = 120_000  # ms: a run of the default 100 replications takes a few seconds

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists() and not os.environ.get("CI"),
        reason="needs Debian's chromium: make test installs it (apt-get install chromium)",
    ),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[subprocess.Popen, str]]:
    port = free_port()
    process = subprocess.Popen(
        [str(APP), "--port", str(port)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(url, timeout=5)
            break
        except OSError:
            assert process.poll() is None, process.stdout.read().decode()
            assert time.monotonic() < deadline, "tpn-sim-app did not answer within 60 s"
            time.sleep(0.3)
    yield process, url
    process.terminate()
    process.wait(timeout=30)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, server, request):
    """A fresh session of the app; every request that fails (an asset wanted from the
    internet, say) is recorded, and the page is photographed at the end."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(TIMEOUT)
    page.failed = []
    page.on("requestfailed", lambda r: page.failed.append(r.url))
    page.on("response", lambda r: page.failed.append(r.url) if r.status >= 400 else None)
    page.goto(server[1])
    page.get_by_text("press Run").wait_for()
    yield page
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=ARTIFACTS / f"app-{request.node.name}.png", full_page=True)
    page.close()


def run(page, number: int, design: str) -> str:
    """Press Run and wait for run `number`; the text of its table."""
    page.get_by_role("button", name="Run").click()
    page.get_by_text(f"run {number}: {design} (").wait_for()
    return page.locator("table").last.inner_text()


def choose_design(page, design: str) -> None:
    page.locator(".v-select").first.click()
    page.get_by_role("option", name=design, exact=True).click()


def figures(page) -> list[bytes]:
    """The figures as the browser draws them (matplotlib PNGs), once both are there."""
    images = page.locator("img")
    images.nth(1).wait_for()
    return [image.screenshot() for image in images.all()]


def test_a_run_shows_numbers_and_figures_that_change_with_the_design(page) -> None:
    started = time.monotonic()
    tpn = run(page, 1, "tpn")
    first = time.monotonic() - started
    assert "article's estimator" in tpn and "cost per point gained" in tpn
    drawn = figures(page)
    assert len(drawn) == 2  # the network and the trajectories
    choose_design(page, "external_expert")
    experts = run(page, 2, "external_expert")
    assert experts != tpn
    redrawn = figures(page)
    assert redrawn[0] != drawn[0] and redrawn[1] != drawn[1]
    assert not page.failed, f"requests that failed (offline assets?): {page.failed}"
    print(f"first result {first:.1f} s after pressing Run")  # shown with pytest -s


def test_what_is_on_screen_downloads_as_csv_and_png(page, tmp_path) -> None:
    run(page, 1, "tpn")
    with page.expect_download() as summary:
        page.get_by_role("button", name="Summary (CSV)").click()
    rows = summary.value.path().read_text().splitlines()
    assert rows[0].startswith("run,seed,") and len(rows) == 1 + 100  # one row per replication
    with page.expect_download() as network:
        page.get_by_role("button", name="network (PNG)").click()
    assert network.value.suggested_filename == "network.png"
    assert network.value.path().read_bytes().startswith(b"\x89PNG")


def test_pin_a_baseline_and_read_the_paired_difference(page) -> None:
    run(page, 1, "tpn")
    page.get_by_role("button", name="Pin as baseline").click()
    choose_design(page, "pairwise")
    run(page, 2, "pairwise")
    sentence = page.locator(".comparison").first.inner_text()
    assert sentence.startswith("run 2: pairwise: ")
    assert "in the chosen topics for" in sentence and "USD" in sentence
    assert page.get_by_role("heading", name="Against the baseline").is_visible()


def test_a_bad_upload_names_its_line_and_nothing_runs(page, tmp_path) -> None:
    rows = [
        r.split(",")
        for r in (ROOT / "configs/data/rwanda/institutions.csv").read_text().splitlines()
    ]
    rows[3][rows[0].index("leadership")] = "1.7"
    bad = tmp_path / "our_institutions.csv"
    bad.write_text("\n".join(",".join(r) for r in rows))
    page.locator("input[type=file]").first.set_input_files(bad)
    error = page.locator(".upload-error")
    error.wait_for()
    assert error.inner_text().startswith(
        "institutions.csv, line 4, column 'leadership': value 1.7 is invalid"
    )
    page.get_by_role("button", name="Run").click()
    page.locator(".problem").wait_for()
    assert "line 4, column 'leadership'" in page.locator(".problem").inner_text()
    assert not page.get_by_text("run 1:").count()


def test_a_long_run_can_be_cancelled_while_the_page_stays_live(page) -> None:
    slider = page.locator(".v-slider").last  # replications
    slider.click()
    page.keyboard.press("End")
    page.get_by_text("Replications: 500").wait_for()
    page.get_by_role("button", name="Run").click()
    page.get_by_text("Running in the background").wait_for()
    choose_design(page, "hub")  # the page answers while the run goes on
    assert page.locator(".v-select__selection").first.inner_text() == "hub"
    page.get_by_role("button", name="Cancel").click()
    page.get_by_text("Cancelled.").wait_for()
    assert not page.get_by_text("run 1:").count()


def test_the_app_listens_on_loopback_only(server) -> None:
    process, _ = server
    listening = [
        c.laddr for c in psutil.Process(process.pid).net_connections() if c.status == "LISTEN"
    ]
    assert listening and {address.ip for address in listening} == {"127.0.0.1"}

"""End to end: ``python -m artclf.app --ensure-model`` on a fresh store (trains and registers a
tiny model), then two sessions of a real headless Chromium drive the page at once. The top-5
read from the DOM must equal ``artclf.predict``'s; a correction given with the thumbs-down is
read back from the store, linked to the recorded classification; the server must leave no
process behind. Needs Debian's ``chromium`` (``make browser``); Playwright only drives it.

A wait that runs out fails with a screenshot, the page's error boxes and the app log's tail;
an error box that shows up instead of what is awaited fails at once, with the same."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
sync_api = pytest.importorskip("playwright.sync_api")

from artclf.predict import predict  # noqa: E402
from artclf.tracking.registry import resolve_checkpoint  # noqa: E402
from conftest import TINY_SYNTHETIC, compose_cfg  # noqa: E402

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
MODEL = "models:/synthetic-origin_style@champion"
TRAINING = (*TINY_SYNTHETIC, "trainer.max_epochs=1", "callbacks.progress_bar=false")
ROWS = "rows => rows.map(r => [r.dataset.label, Number(r.dataset.probability)])"
#: Milliseconds: a session's first pass on a cold 2-core machine imports PyTorch and MLflow,
#: downloads and loads the model and lists the examples, while the other session does too.
FIRST_PASS = 300_000
STEP = 120_000
#: Error boxes: ``st.error`` and an exception's traceback.
ERRORS = "[data-testid=stAlertContainer][role=alert]"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_healthy(url: str, server: subprocess.Popen, log: Path, seconds: float = 600) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"the app exited with {server.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(1)
    pytest.fail(f"the app did not come up in {seconds} s:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, shared_cache: Path):
    """The app as a user starts it, in its own process group, on a fresh store."""
    if CHROMIUM is None:
        pytest.skip("no chromium on PATH; `make browser` installs Debian's")
    home = tmp_path_factory.mktemp("demo")
    env = {**os.environ, "ARTCLF_HOME": str(home), "ARTCLF_CACHE": str(shared_cache)}
    env["HOME"] = str(home)  # the registry's download cache
    env["ARTCLF_APP_CONFIRM_SHARE"] = "1"  # every answer is asked "Is this right?"
    env.pop("MLFLOW_TRACKING_URI", None)
    port = free_port()
    log = home / "app.log"
    command = [sys.executable, "-m", "artclf.app", "--port", str(port), "--ensure-model"]
    with log.open("w") as out:
        server = subprocess.Popen(
            [*command, *TRAINING],
            cwd=home,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, server, log)
        yield {"url": url, "home": home, "log": log, "cache": shared_cache, "store": store(home)}
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)
        time.sleep(1)
        with pytest.raises(ProcessLookupError):  # nothing of the app's group is left
            os.killpg(server.pid, 0)


def store(home: Path) -> str:
    return f"sqlite:///{home}/mlflow.db"


def expected_top(served: dict, image: Path, monkeypatch: pytest.MonkeyPatch) -> dict:
    import mlflow

    monkeypatch.setenv("MLFLOW_TRACKING_URI", served["store"])
    mlflow.set_tracking_uri(served["store"])  # an earlier test of this process may have set another
    monkeypatch.setenv("HOME", str(served["home"]))
    ckpt = resolve_checkpoint(MODEL)
    (result,) = predict(
        compose_cfg("predict", served["home"], f"ckpt_path={ckpt}", f"input={image}")
    )
    return {
        task: [[item["label"], item["probability"]] for item in ranked]
        for task, ranked in result["predictions"].items()
    }


class Watch:
    """Waits on the pages that fail with what is needed to see why: a screenshot, the page's
    error boxes and the app log's tail."""

    def __init__(self, served: dict, folder: Path) -> None:
        self.log = served["log"]
        self.folder = folder
        self.failures = 0

    def fail(self, page, why: str) -> None:
        self.failures += 1
        shot = self.folder / f"failure-{self.failures}.png"
        page.screenshot(path=shot, full_page=True)
        errors = page.locator(ERRORS).all_inner_texts()
        tail = self.log.read_text()[-4000:]
        pytest.fail(f"{why}\nscreenshot: {shot}\nerror boxes: {errors}\napp log tail:\n{tail}")

    def wait(self, page, selector: str, what: str, timeout: float = STEP) -> None:
        """Until ``selector`` shows; an error box showing first fails at once."""
        try:
            page.wait_for_selector(f"{selector}, {ERRORS}", timeout=timeout)
        except sync_api.TimeoutError:
            self.fail(page, f"no {what} after {timeout / 1000:.0f} s ({selector})")
        if not page.locator(selector).count():
            self.fail(page, f"an error box instead of {what}")

    def shown_top(self, page, image: str | None = None, timeout: float = STEP) -> dict:
        """The top-k tables on the page, once those of ``image`` (any, when None) are there."""
        selector = "table.artclf-top" + (f'[data-image="{image}"]' if image else "")
        self.wait(page, f"{selector} tr", f"top-k table of {image or 'the example'}", timeout)
        return {
            table.get_attribute("data-task"): table.locator("tr").evaluate_all(ROWS)
            for table in page.locator(selector).all()
        }


def recorded_feedback(served: dict, label: str, seconds: float = 60) -> dict:
    """The feedback record the app wrote with ``label`` (its recorder writes every 5 s)."""
    from artclf.serving.reading import read_feedback

    deadline = time.monotonic() + seconds
    while True:
        table = read_feedback(served["store"])
        rows = table[table["label"] == label].to_dict("records")
        if rows or time.monotonic() > deadline:
            assert len(rows) == 1, f"{len(rows)} feedback records labelled {label}: {table}"
            return rows[0]
        time.sleep(1)


def visible_tab(page):
    return page.locator("[role=tabpanel]:visible").first


def test_two_browser_sessions_classify_upload_correct_and_stylise(
    served: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from artclf.app.display import display_name
    from artclf.serving.reading import read_requests

    real = os.environ.get("ARTCLF_REAL_DATA")
    paintings = sorted(Path(real).rglob("*.jpg"))[:1] if real and Path(real).is_dir() else []
    painting = paintings[0] if paintings else next(served["cache"].rglob("test/*/*.jpg"))
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"this text file was renamed to .jpg\n" * 10)
    watch = Watch(served, tmp_path)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        first = browser.new_context(viewport={"width": 1280, "height": 1400}).new_page()
        second = browser.new_context(viewport={"width": 1280, "height": 1400}).new_page()
        for page in (first, second):
            page.goto(served["url"])
        watch.shown_top(first, timeout=FIRST_PASS)  # the preselected example is classified
        # session 1 uploads a painting while session 2 may still run its first pass
        visible_tab(first).get_by_text("Upload", exact=True).click()
        visible_tab(first).locator("input[type=file]").set_input_files(str(painting))
        on_second = watch.shown_top(second, timeout=FIRST_PASS)
        assert set(on_second) == {"origin_style"} and len(on_second["origin_style"]) == 5
        on_first = watch.shown_top(first, painting.name)
        expected = expected_top(served, painting, monkeypatch)
        assert on_first == expected
        first.screenshot(path=tmp_path / "classify.png", full_page=True)

        # "Is this right?" (every answer is asked here): no, it is the runner-up
        truth = expected["origin_style"][1][0]
        visible_tab(first).get_by_role("radio", name="Thumbs down").click()
        watch.wait(first, ':text("The right class")', "the class selector")
        visible_tab(first).get_by_role("combobox", name="The right class").click()
        first.get_by_role("option", name=display_name(truth), exact=True).click()
        visible_tab(first).get_by_role("button", name="Submit").click()
        watch.wait(first, f':text("Thanks: recorded as {display_name(truth)}")', "the thanks")
        first.screenshot(path=tmp_path / "feedback.png", full_page=True)

        visible_tab(first).locator("input[type=file]").set_input_files(str(broken))
        watch.wait(first, ':text("error: broken.jpg is not a readable image")', "the error")
        sync_api.expect(first.locator("table.artclf-top")).to_have_count(0, timeout=STEP)
        first.screenshot(path=tmp_path / "classify_broken.png", full_page=True)

        second.get_by_role("tab", name="Stylise").click()
        for slider in visible_tab(second).get_by_role("slider").all():
            slider.press("Home")  # fewest steps, smallest size
        visible_tab(second).get_by_role("button", name="Stylise").click()
        watch.wait(second, ':text("Download result (PNG)")', "the stylised image", FIRST_PASS)
        second.screenshot(path=tmp_path / "stylise.png", full_page=True)

        first.get_by_role("tab", name="Runs").click()
        visible_tab(first).get_by_test_id("stDataFrame").wait_for(timeout=STEP)
        first.wait_for_timeout(1000)  # the grid paints its canvas after it appears
        first.screenshot(path=tmp_path / "runs.png", full_page=True)
        browser.close()
    given = recorded_feedback(served, truth)
    assert (given["task"], given["index"], given["solicited"]) == ("origin_style", 0, True)
    requests = read_requests(served["store"])
    (answer,) = requests[requests["request_id"] == given["request_id"]].to_dict("records")
    assert answer["image_sha256"] == hashlib.sha256(painting.read_bytes()).hexdigest()
    assert (answer["route"], answer["alias"], answer["feedback"]) == ("app", "champion", truth)
    assert answer["prediction"]["origin_style"] == expected["origin_style"][0][0]
    assert "error" not in served["log"].read_text().lower().replace("error: broken.jpg", "")
    assert all((tmp_path / f"{n}.png").stat().st_size > 10_000 for n in ("classify", "runs"))

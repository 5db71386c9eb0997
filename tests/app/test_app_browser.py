"""End to end: ``python -m artclf.app --ensure-model`` on a fresh store (trains and registers a
tiny model), then two sessions of a real headless Chromium drive the page at once. The top-5
read from the DOM must equal ``artclf.predict``'s; the server must leave no process behind.
Needs Debian's ``chromium`` (``make browser``); Playwright only drives it."""

from __future__ import annotations

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
        yield {"url": url, "home": home, "log": log, "cache": shared_cache}
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)
        time.sleep(1)
        with pytest.raises(ProcessLookupError):  # nothing of the app's group is left
            os.killpg(server.pid, 0)


def expected_top(served: dict, image: Path, monkeypatch: pytest.MonkeyPatch) -> dict:
    import mlflow

    store = f"sqlite:///{served['home']}/mlflow.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", store)
    mlflow.set_tracking_uri(store)  # an earlier test of this process may have set another
    monkeypatch.setenv("HOME", str(served["home"]))
    ckpt = resolve_checkpoint(MODEL)
    (result,) = predict(
        compose_cfg("predict", served["home"], f"ckpt_path={ckpt}", f"input={image}")
    )
    return {
        task: [[item["label"], item["probability"]] for item in ranked]
        for task, ranked in result["predictions"].items()
    }


def shown_top(page, image: str | None = None) -> dict:
    """The top-k tables on the page, once those of ``image`` (any, when None) are there."""
    selector = "table.artclf-top" + (f'[data-image="{image}"]' if image else "")
    page.wait_for_selector(f"{selector} tr", timeout=120_000)
    return {
        table.get_attribute("data-task"): table.locator("tr").evaluate_all(ROWS)
        for table in page.locator(selector).all()
    }


def visible_tab(page):
    return page.locator("[role=tabpanel]:visible").first


def test_two_browser_sessions_classify_upload_and_stylise(
    served: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = os.environ.get("ARTCLF_REAL_DATA")
    paintings = sorted(Path(real).rglob("*.jpg"))[:1] if real and Path(real).is_dir() else []
    painting = paintings[0] if paintings else next(served["cache"].rglob("test/*/*.jpg"))
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"this text file was renamed to .jpg\n" * 10)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        first = browser.new_context(viewport={"width": 1280, "height": 1400}).new_page()
        second = browser.new_context(viewport={"width": 1280, "height": 1400}).new_page()
        for page in (first, second):
            page.goto(served["url"])
        shown_top(first)  # its first run is done: the preselected example is classified
        # session 1 uploads a painting while session 2 still runs its first pass
        visible_tab(first).get_by_text("Upload", exact=True).click()
        visible_tab(first).locator("input[type=file]").set_input_files(str(painting))
        on_second = shown_top(second)
        assert set(on_second) == {"origin_style"} and len(on_second["origin_style"]) == 5
        on_first = shown_top(first, painting.name)
        assert on_first == expected_top(served, painting, monkeypatch)
        first.screenshot(path=tmp_path / "classify.png", full_page=True)

        visible_tab(first).locator("input[type=file]").set_input_files(str(broken))
        first.get_by_text("error: broken.jpg is not a readable image").wait_for(timeout=60_000)
        sync_api.expect(first.locator("table.artclf-top")).to_have_count(0, timeout=60_000)
        first.screenshot(path=tmp_path / "classify_broken.png", full_page=True)

        second.get_by_role("tab", name="Stylise").click()
        for slider in visible_tab(second).get_by_role("slider").all():
            slider.press("Home")  # fewest steps, smallest size
        visible_tab(second).get_by_role("button", name="Stylise").click()
        second.get_by_role("button", name="Download result (PNG)").wait_for(timeout=300_000)
        second.screenshot(path=tmp_path / "stylise.png", full_page=True)

        first.get_by_role("tab", name="Runs").click()
        visible_tab(first).get_by_test_id("stDataFrame").wait_for(timeout=60_000)
        first.wait_for_timeout(1000)  # the grid paints its canvas after it appears
        first.screenshot(path=tmp_path / "runs.png", full_page=True)
        browser.close()
    assert "error" not in served["log"].read_text().lower().replace("error: broken.jpg", "")
    assert all((tmp_path / f"{n}.png").stat().st_size > 10_000 for n in ("classify", "runs"))

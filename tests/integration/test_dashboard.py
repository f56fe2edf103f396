"""The web dashboard: its routes and files, and the page in headless Chromium on a real server.

The browser tests need Debian's chromium and chromium-driver (scripts/ensure_browser.sh installs
them); they skip, saying so, only where those cannot be found.
"""

import base64
import json
import re
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
from selenium.webdriver import Chrome as WebDriver
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import Select, WebDriverWait

from api.routes import dashboard
from tests.helpers import moons_spec
from tests.integration.stack import REPO_ROOT, Stack, new_user, wait_for

STATIC = REPO_ROOT / "api" / "static"
UPLOT = STATIC / "vendor" / "uplot"
BROWSER_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1400,1000",
]
# the first and second series colours of api/static/js/charts.js
BLUE, RED = (0x25, 0x63, 0xEB), (0xDC, 0x26, 0x26)
COUNT_COLOUR = """
const [selector, r, g, b] = arguments;
const canvas = document.querySelector(selector);
if (!canvas) return -1;
const {data} = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height);
let n = 0;
for (let i = 0; i < data.length; i += 4) {
  const near = Math.abs(data[i] - r) + Math.abs(data[i + 1] - g) + Math.abs(data[i + 2] - b) < 40;
  if (near && data[i + 3] > 200) n += 1;
}
return n;
"""
NO_EVENT_STREAM = """
const fetchFromServer = window.fetch;
window.fetch = (input, init = {}) => {
  if ((new Headers(init.headers).get("Accept") || "").includes("text/event-stream")) {
    const body = JSON.stringify({detail: "Not Found"});
    return Promise.resolve(new Response(body, {status: 404}));
  }
  return fetchFromServer(input, init);
};
"""
# the page does not depend on the database or broker: one backend is enough
EMBEDDED = pytest.mark.parametrize("stack", ["embedded"], indirect=True)


# ---- the routes, through the test client ----


def test_page_is_served_at_root_with_a_content_security_policy(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert '<script src="static/js/app.js" type="module">' in response.text


def test_static_files_are_served_from_the_static_folder_only(client: TestClient) -> None:
    script = client.get("/static/js/app.js")
    assert script.status_code == 200
    assert "javascript" in script.headers["content-type"]
    assert client.get("/static/vendor/uplot/uPlot.iife.min.js").status_code == 200
    assert client.head("/static/app.css").status_code == 200
    assert client.get("/static/nothing-here.js").status_code == 404
    for escape in ("/static/../routes/dashboard.py", "/static/%2e%2e/routes/dashboard.py"):
        assert client.get(escape).status_code == 404, escape
    etag = client.get("/static/app.css").headers["etag"]
    assert client.get("/static/app.css", headers={"If-None-Match": etag}).status_code == 304


def test_dashboard_leaves_the_api_docs_and_probes_alone(client: TestClient) -> None:
    assert client.get("/livez").json()["status"] == "ok"
    assert client.get("/docs").status_code == 200
    assert "/api/v1/jobs" in client.get("/openapi.json").json()["paths"]
    refused = client.get("/api/v1/jobs")
    assert (refused.status_code, refused.json()["error"]) == (401, "NotAuthenticated")
    missing = client.get("/api/v1/no-such-route")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/json"


def test_examples_lists_the_spec_files(
    client: TestClient, alice: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = moons_spec(epochs=3)
    (tmp_path / "a_bare.json").write_text(json.dumps(spec))
    (tmp_path / "b_wrapped.yaml").write_text(
        "description: moons, wrapped\nspec:\n" + _indent(json.dumps(spec))
    )
    (tmp_path / "c_commented.yml").write_text(
        "# Moons, as the articles\n# train it.\n" + json.dumps(spec) + "\n"
    )
    (tmp_path / "c_broken.yaml").write_text("spec: [unclosed\n")
    (tmp_path / "d_list.json").write_text("[1, 2]")
    (tmp_path / "notes.txt").write_text("not an example")
    monkeypatch.setattr(dashboard, "EXAMPLES_DIR", tmp_path)

    assert client.get("/api/v1/examples").status_code == 401
    listed = client.get("/api/v1/examples", headers=alice)
    assert listed.status_code == 200
    assert [(e["name"], e["file"], e["description"]) for e in listed.json()] == [
        ("a_bare", "a_bare.json", None),
        ("b_wrapped", "b_wrapped.yaml", "moons, wrapped"),
        ("c_commented", "c_commented.yml", "Moons, as the articles train it."),
    ]
    assert all(example["spec"] == spec for example in listed.json())

    monkeypatch.setattr(dashboard, "EXAMPLES_DIR", tmp_path / "absent")
    assert client.get("/api/v1/examples", headers=alice).json() == []


def _indent(text: str) -> str:
    return "".join(f"  {line}\n" for line in text.splitlines())


def test_uplot_is_vendored_with_its_licence() -> None:
    version = (UPLOT / "VERSION").read_text().strip()
    assert re.fullmatch(r"\d+\.\d+\.\d+", version)
    assert f"(v{version})" in (UPLOT / "uPlot.iife.min.js").read_text()[:200]
    assert "MIT License" in (UPLOT / "LICENSE").read_text()
    assert (UPLOT / "uPlot.min.css").stat().st_size > 0


def test_scripts_build_the_page_from_text_never_from_markup() -> None:
    scripts = sorted((STATIC / "js").rglob("*.js"))
    assert len(scripts) > 5
    sinks = ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "Function(")
    for script in scripts:
        # dom.js names the HTML properties only to refuse them
        lines = script.read_text().splitlines()
        source = "\n".join(line for line in lines if not line.startswith("const FORBIDDEN ="))
        for sink in sinks:
            assert sink not in source, (script.name, sink)


# ---- the page, in headless Chromium against `gradq serve` ----


@pytest.fixture(scope="session")
def driver() -> Iterator[WebDriver]:
    """Headless Chromium; session-scoped so that a missing browser skips before a server starts."""
    chromium, chromedriver = shutil.which("chromium"), shutil.which("chromedriver")
    if chromium is None or chromedriver is None:
        pytest.skip(
            "no Chromium here: scripts/ensure_browser.sh installs Debian's chromium and "
            "chromium-driver, and it could not"
        )
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in BROWSER_FLAGS:
        options.add_argument(flag)
    options.set_capability("goog:loggingOptions", {"browser": "ALL"})
    browser = webdriver.Chrome(
        options=options, service=webdriver.ChromeService(executable_path=chromedriver)
    )
    try:
        yield browser
    finally:
        browser.quit()


def _wait(
    driver: WebDriver, condition: Callable[[WebDriver], Any], message: str, timeout: float = 30
) -> Any:
    try:
        # the page re-renders what changed: an element found a moment ago may be gone
        wait = WebDriverWait(
            driver, timeout, poll_frequency=0.1, ignored_exceptions=[StaleElementReferenceException]
        )
        return wait.until(condition)
    except TimeoutException:
        raise AssertionError(f"{message}; page errors: {_page_errors(driver)}") from None


def _page_errors(driver: WebDriver) -> list[str]:
    """Script errors and policy violations; a 404 from a route this server lacks is expected."""
    return [
        entry["message"]
        for entry in driver.get_log("browser")
        if entry["level"] == "SEVERE" and entry.get("source") != "network"
    ]


def _sign_in(driver: WebDriver, stack: Stack, token: str) -> None:
    driver.get(f"{stack.url}/#/login")
    driver.execute_script("sessionStorage.clear()")
    field = _wait(driver, lambda d: d.find_element(By.ID, "token"), "no token field")
    field.send_keys(token)
    driver.find_element(By.ID, "login").click()
    _wait(driver, lambda d: d.find_element(By.CSS_SELECTOR, "table.jobs, #jobs p"), "no job list")


def _by_id(driver: WebDriver, element_id: str) -> WebElement:
    return driver.find_element(By.ID, element_id)


def _points(driver: WebDriver, chart_id: str) -> int:
    return int(_by_id(driver, chart_id).get_attribute("data-points") or 0)


def _pixels(driver: WebDriver, chart_id: str, colour: tuple[int, int, int]) -> int:
    count: int = driver.execute_script(COUNT_COLOUR, f"#{chart_id} canvas", *colour)
    return count


def _status(driver: WebDriver) -> str:
    status: str | None = driver.execute_script(
        "return document.querySelector('.job-head .badge')?.dataset.status"
    )
    return status or ""


def _screenshot(driver: WebDriver, path: Path) -> None:
    """The whole page, below the fold too."""
    size = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
    clip = {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}
    shot = driver.execute_cdp_cmd(
        "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True, "clip": clip}
    )
    path.write_bytes(base64.b64decode(shot["data"]))


def _image_width(driver: WebDriver, selector: str) -> int:
    width: int | None = driver.execute_script(
        "return document.querySelector(arguments[0])?.naturalWidth", selector
    )
    return width or 0


def _set_editor(driver: WebDriver, spec: dict[str, Any]) -> None:
    driver.execute_script(
        "const e = document.getElementById('spec'); e.value = arguments[0];"
        "e.dispatchEvent(new Event('input'));",
        json.dumps(spec, indent=2),
    )


@contextmanager
def _without_event_stream(driver: WebDriver, active: bool) -> Iterator[None]:
    """Pages loaded inside get a 404 for text/event-stream requests, as from an older server."""
    if not active:
        yield
        return
    added = driver.execute_cdp_cmd(
        "Page.addScriptToEvaluateOnNewDocument", {"source": NO_EVENT_STREAM}
    )
    try:
        yield
    finally:
        driver.execute_cdp_cmd(
            "Page.removeScriptToEvaluateOnNewDocument", {"identifier": added["identifier"]}
        )


def _choose(driver: WebDriver, select_id: str, value: str) -> bool:
    Select(_by_id(driver, select_id)).select_by_value(value)
    return True


def _validation(driver: WebDriver) -> str:
    return _by_id(driver, "validation").get_attribute("data-state") or ""


@EMBEDDED
@pytest.mark.integration
@pytest.mark.slow
def test_sign_in_refuses_an_unknown_token(driver: WebDriver, stack: Stack) -> None:
    driver.get(f"{stack.url}/")
    driver.execute_script("sessionStorage.clear()")
    driver.get(f"{stack.url}/#/jobs")
    _wait(driver, lambda d: "#/login" in d.current_url, "a signed-out visit did not go to login")
    _by_id(driver, "token").send_keys("gq_not-a-token")
    _by_id(driver, "login").click()
    _wait(driver, lambda d: _by_id(d, "login-error").text, "no sign-in error")
    assert _by_id(driver, "login-error").text == "Unknown or revoked token."
    assert driver.execute_script("return sessionStorage.getItem('gradq.token')") is None


@EMBEDDED
@pytest.mark.integration
@pytest.mark.slow
def test_submit_an_example_and_watch_its_charts_draw(
    driver: WebDriver, stack: Stack, tmp_path: Path
) -> None:
    _sign_in(driver, stack, new_user(stack, "dash-submit"))
    driver.get(f"{stack.url}/#/submit")
    example = _wait(driver, lambda d: Select(_by_id(d, "example")), "no example list")
    _wait(driver, lambda _d: example.options, "no examples offered")
    names = [option.get_attribute("value") for option in example.options]
    assert any("moons" in str(name) for name in names), names
    _wait(driver, lambda d: _validation(d) == "valid", "the example did not validate")
    spec = json.loads(_by_id(driver, "spec").get_attribute("value") or "")
    _screenshot(driver, tmp_path / "submit.png")

    broken = json.loads(json.dumps(spec))
    broken["optimizer"]["type"] = "Lion"
    _set_editor(driver, broken)
    _wait(driver, lambda d: _validation(d) == "invalid", "a bad optimizer was not refused")
    fields = [e.text for e in driver.find_elements(By.CSS_SELECTOR, "#validation code.field")]
    assert fields == ["spec.optimizer.type"]
    assert not _by_id(driver, "submit").is_enabled()
    _set_editor(driver, spec)
    _wait(driver, lambda d: _validation(d) == "valid", "the example did not validate again")
    assert _by_id(driver, "validation-details").find_elements(By.CSS_SELECTOR, ".summary-table")

    name = _by_id(driver, "job-name")
    name.clear()
    name.send_keys("dashboard moons")
    _by_id(driver, "submit").click()
    _wait(driver, lambda d: re.search(r"#/jobs/[0-9a-f-]{36}$", d.current_url), "no job page")
    _wait(driver, lambda d: _points(d, "chart-loss") > 0, "the loss chart drew nothing")
    _wait(driver, lambda d: _status(d) == "succeeded", "the job did not succeed", timeout=120)
    epochs = spec["training"]["epochs"]
    _wait(driver, lambda d: _points(d, "chart-loss") == epochs, "the loss chart missed epochs")

    assert _points(driver, "chart-lr") == epochs
    assert _by_id(driver, "chart-loss").get_attribute("data-series") == "1"  # train_loss
    assert _pixels(driver, "chart-loss", BLUE) > 100
    assert _pixels(driver, "chart-lr", BLUE) > 100
    assert _by_id(driver, "job-title").text == "dashboard moons"
    assert driver.find_element(By.CSS_SELECTOR, '#final-metrics [data-metric="train_loss"]')
    kinds = [
        e.get_attribute("data-kind") for e in driver.find_elements(By.CSS_SELECTOR, "#events tr")
    ]
    assert "started" in kinds
    summary = "#summary .summary-table"
    _wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, summary), "no summary")
    _wait(driver, lambda d: _image_width(d, "#boundary img") > 100, "no decision boundary")
    _screenshot(driver, tmp_path / "job.png")

    downloads = tmp_path / "downloads"
    downloads.mkdir()
    driver.execute_cdp_cmd(
        "Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)}
    )
    _by_id(driver, "weights-final").click()
    job_id = driver.current_url.rsplit("/", 1)[1]
    weights = downloads / f"{job_id}-final.safetensors"
    _wait(driver, lambda _d: weights.exists(), "the weights were not downloaded")
    header_size = int.from_bytes(weights.read_bytes()[:8], "little")
    header = json.loads(weights.read_bytes()[8 : 8 + header_size])
    tensors = {name.rsplit(".", 1)[-1] for name in header if name != "__metadata__"}
    assert tensors == {"weight", "bias"}
    assert (tmp_path / "job.png").stat().st_size > 10_000
    assert _page_errors(driver) == []


@EMBEDDED
@pytest.mark.integration
@pytest.mark.slow
@pytest.mark.parametrize("mode", ["stream", "polling"])
def test_charts_follow_a_running_job_until_it_is_cancelled(
    driver: WebDriver, stack: Stack, tmp_path: Path, mode: str
) -> None:
    token = new_user(stack, f"dash-live-{mode}")
    with stack.client(token) as client:
        created = client.post(
            "/api/v1/jobs", json={"name": "long", "spec": moons_spec(epochs=100_000)}
        )
        assert created.status_code == 201, created.text
        job_id = created.json()["id"]
        try:
            _sign_in(driver, stack, token)
            with _without_event_stream(driver, mode == "polling"):
                driver.get("about:blank")  # a new document, so that the page loads afresh
                driver.get(f"{stack.url}/#/jobs/{job_id}")
            _wait(driver, lambda d: _status(d) == "running", "the job did not start", timeout=60)
            _wait(driver, lambda d: _points(d, "chart-loss") > 0, "no first points")
            seen = _points(driver, "chart-loss")
            _wait(driver, lambda d: _points(d, "chart-loss") > seen + 20, "the chart did not grow")
            assert _by_id(driver, "live-mode").get_attribute("data-mode") == mode
            assert _pixels(driver, "chart-loss", BLUE) > 50
            driver.save_screenshot(str(tmp_path / "live.png"))
            _by_id(driver, "cancel").click()
            _wait(driver, lambda d: _status(d) == "cancelled", "the job was not cancelled", 60)
            _wait(
                driver,
                lambda d: _by_id(d, "live-mode").get_attribute("data-mode") == "ended",
                "the page kept following a cancelled job",
            )
        finally:
            client.post(f"/api/v1/jobs/{job_id}/cancel")
            wait_for(client, job_id)
        recorded = client.get(f"/api/v1/jobs/{job_id}").json()["current_epoch"]
    _wait(driver, lambda d: _points(d, "chart-loss") == recorded, "the chart missed epochs")
    assert _page_errors(driver) == []


@EMBEDDED
@pytest.mark.integration
@pytest.mark.slow
def test_job_names_are_shown_as_text_never_as_markup(driver: WebDriver, stack: Stack) -> None:
    token = new_user(stack, "dash-names")
    name = '<img src=x onerror="window.pwned=1"><b>bold</b>'
    with stack.client(token) as client:
        job_id = client.post(
            "/api/v1/jobs", json={"name": name, "spec": moons_spec(epochs=1)}
        ).json()["id"]
        wait_for(client, job_id)
    _sign_in(driver, stack, token)
    cell = _wait(driver, lambda d: d.find_element(By.CSS_SELECTOR, "td.job-name a"), "no row")
    assert cell.text == name
    driver.get(f"{stack.url}/#/jobs/{job_id}")
    title = _wait(driver, lambda d: _by_id(d, "job-title"), "no job page")
    _wait(driver, lambda _d: title.text == name, "the title is not the name")
    # the job page shows its own decision-boundary <img>; the name must add no element anywhere
    assert driver.find_elements(By.CSS_SELECTOR, "#job-title *, td.job-name a *") == []
    assert driver.find_elements(By.CSS_SELECTOR, "main b, main img[src='x']") == []
    assert driver.execute_script("return window.pwned") is None


@EMBEDDED
@pytest.mark.integration
@pytest.mark.slow
def test_compare_overlays_the_curves_of_several_jobs(
    driver: WebDriver, stack: Stack, tmp_path: Path
) -> None:
    token = new_user(stack, "dash-compare")
    ids = []
    with stack.client(token) as client:
        for lr, epochs in ((0.01, 60), (0.05, 90)):
            spec = moons_spec(epochs=epochs)
            spec["optimizer"]["lr"] = lr
            ids.append(
                client.post("/api/v1/jobs", json={"name": f"lr {lr}", "spec": spec}).json()["id"]
            )
        for job_id in ids:
            assert wait_for(client, job_id)["status"] == "succeeded"
    _sign_in(driver, stack, token)
    for job_id in ids:
        driver.find_element(By.CSS_SELECTOR, f'tr[data-job-id="{job_id}"] input').click()
    _by_id(driver, "compare-selected").click()
    _wait(driver, lambda d: "#/compare" in d.current_url, "no compare page")
    _wait(driver, lambda d: _choose(d, "compare-key", "train_loss"), "no train_loss to compare")
    chart = "chart-compare"
    _wait(driver, lambda d: _by_id(d, chart).get_attribute("data-series") == "2", "not two lines")
    _wait(driver, lambda d: _points(d, chart) == 90, "the longer run is cut")
    assert _pixels(driver, chart, BLUE) > 50
    assert _pixels(driver, chart, RED) > 50
    rows = driver.find_elements(By.CSS_SELECTOR, "#compare-table tbody tr")
    assert sorted(row.find_element(By.TAG_NAME, "a").text for row in rows) == ["lr 0.01", "lr 0.05"]
    assert f"ids={ids[0]}%2C{ids[1]}" in driver.current_url
    assert "key=train_loss" in driver.current_url
    driver.save_screenshot(str(tmp_path / "compare.png"))
    assert _page_errors(driver) == []

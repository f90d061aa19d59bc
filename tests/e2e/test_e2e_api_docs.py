"""The API docs page (/docs on the local API port) in a real headless Chromium: every route of the
template is listed, and "Try it out" on a GET route answers 200 with the pre-filled dev token.

Chromium and its driver come from Debian's packages (`.ci/run` installs them); Selenium drives
them and never downloads a browser or driver of its own.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator

import httpx
import pytest

from devtools.local.stack import LocalStack, Ports
from tests.e2e.e2e_support import REPO_ROOT

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

INSTALL_HINT = "install chromium and chromium-driver: apt-get install -y chromium chromium-driver"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    # No calls home: this machine's closed network refuses them, and a test must not depend on them.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1400,1000",
]
WAIT_SECONDS = 20
TRY_ROUTE = ("GET", "/api/sevdesk/config")


@pytest.fixture(scope="module")
def docs_stack() -> Iterator[LocalStack]:
    with LocalStack.start(REPO_ROOT / "template.yaml", Ports.ephemeral(), timers=False) as running:
        yield running


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    chromium, chromedriver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and chromedriver):
        pytest.skip(f"no headless browser for the API docs page ({INSTALL_HINT})")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in [*CHROMIUM_FLAGS, f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"]:
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=chromedriver))
    driver.set_page_load_timeout(WAIT_SECONDS)
    try:
        yield driver
    finally:
        driver.quit()


def test_docs_page_lists_every_route_and_try_it_out_answers_200(
    docs_stack: LocalStack, browser: object
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.remote.webdriver import WebDriver
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    assert isinstance(browser, WebDriver)
    started = time.monotonic()
    wait = WebDriverWait(browser, WAIT_SECONDS)
    browser.get(f"{docs_stack.api_url}/docs")

    # Swagger UI renders every operation in one go once the document has loaded.
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, ".opblock .opblock-summary-path")))
    listed = {
        (method.upper(), path)
        for method, path in browser.execute_script(
            "return [...document.querySelectorAll('.opblock')].map(b => ["
            " b.querySelector('.opblock-summary-method').textContent,"
            " b.querySelector('.opblock-summary-path').dataset.path])"
        )
    }
    routes = {(r.method, r.path) for r in docs_stack.template.routes()}
    assert routes, "the template has no HttpApi routes"
    assert routes <= listed, f"routes missing on the docs page: {sorted(routes - listed)}"
    # The page pre-authorized itself with the dev admin token (the lock of Authorize is closed).
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, ".auth-wrapper .authorize.locked")))

    method, path = TRY_ROUTE
    block = browser.find_element(
        By.XPATH,
        f"//div[contains(@class,'opblock-{method.lower()}')]"
        f"[.//*[contains(@class,'opblock-summary-path') and @data-path='{path}']]",
    )
    block.find_element(By.CSS_SELECTOR, ".opblock-summary-control").click()
    wait.until(lambda _: block.find_element(By.CSS_SELECTOR, ".try-out__btn")).click()
    wait.until(lambda _: block.find_element(By.CSS_SELECTOR, ".btn.execute")).click()
    status = wait.until(
        lambda _: block.find_element(By.CSS_SELECTOR, ".live-responses-table tbody .response-col_status")
    )
    assert status.text.strip() == "200", block.find_element(By.CSS_SELECTOR, ".live-responses-table").text
    # Offline: the page, its assets, the document and the call all came from the local API.
    origins = browser.execute_script(
        "return [...new Set(performance.getEntriesByType('resource').map(e => new URL(e.name).origin))]"
    )
    assert origins == [docs_stack.api_url]
    print(f"API docs page in Chromium: {time.monotonic() - started:.1f} s")


def test_docs_need_no_token_but_the_api_still_does(docs_stack: LocalStack) -> None:
    with httpx.Client(base_url=docs_stack.api_url, timeout=10) as client:
        page = client.get("/docs")
        document = client.get("/docs/openapi.json")
        bundle = client.get("/docs/swagger-ui-bundle.js")
        outside = client.get("/docs/..%2Ftemplate.yaml")  # outside the assets folder
        api = client.get("/api/sevdesk/config")

    assert page.status_code == 200
    assert "text/html" in page.headers["content-type"]
    assert "swagger-ui-bundle.js" in page.text
    assert document.status_code == 200
    assert document.json() == json.loads((REPO_ROOT / "docs" / "openapi.json").read_text())
    assert bundle.status_code == 200
    assert "javascript" in bundle.headers["content-type"]
    assert outside.status_code == 404
    assert api.status_code == 401


def test_only_a_browser_on_this_machine_gets_the_dev_token() -> None:
    from werkzeug.test import EnvironBuilder
    from werkzeug.wrappers import Request

    from devtools.local.api_docs import ApiDocs

    docs = ApiDocs(lambda: "dev.admin.token")

    def page(remote: str) -> str:
        environ = EnvironBuilder(path="/docs", environ_base={"REMOTE_ADDR": remote}).get_environ()
        response = docs.handle(Request(environ))
        assert response is not None and response.status_code == 200
        return response.get_data(as_text=True)

    assert "dev.admin.token" in page("127.0.0.1")
    assert "dev.admin.token" in page("::1")
    assert "dev.admin.token" not in page("192.0.2.7")

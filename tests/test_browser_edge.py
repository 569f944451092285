"""The CloudFront Function in front of the site (template.yaml's SitePagesFunction), run in
Chromium's JavaScript engine with the events CloudFront gives it: the site's own files go
on to the bucket, any other address gets the not-found page with status 404."""

from __future__ import annotations

from typing import Any

import pytest

from supportdesk_dev import REPO_ROOT
from supportdesk_dev.provision import load_template

CODE = load_template()["Resources"]["SitePagesFunction"]["Properties"]["FunctionCode"]


def viewer_request(uri: str) -> dict[str, Any]:
    return {"version": "1.0", "context": {"eventType": "viewer-request"}, "viewer": {"ip": "192.0.2.1"},
            "request": {"method": "GET", "uri": uri, "querystring": {}, "headers": {}, "cookies": {}}}


@pytest.fixture(scope="module")
def answer(browser: Any) -> Any:
    page = browser.new_page()

    def run(uri: str) -> dict[str, Any]:
        result: dict[str, Any] = page.evaluate("(event) => {\n" + CODE + "\nreturn handler(event);\n}",
                                               viewer_request(uri))
        return result

    yield run
    page.close()


@pytest.mark.parametrize("uri", ["/", "/index.html", "/ticket.html", "/agent/queue.html", "/static/app.min.js",
                                 "/static/favicon.svg", "/404.html"])
def test_the_sites_own_files_go_on_to_the_bucket(answer: Any, uri: str) -> None:
    assert answer(uri) == viewer_request(uri)["request"]


@pytest.mark.parametrize("uri", ["/nonexistent.html", "/agent/nope.html", "/static/none.css", "/static/app.min.js/x",
                                 "/TICKET.html", "/ticket.html/", "/.env", "/agent/"])
def test_any_other_address_gets_the_not_found_page_with_status_404(answer: Any, uri: str) -> None:
    response = answer(uri)
    assert response["statusCode"] == 404
    assert response["headers"]["content-type"]["value"] == "text/html; charset=utf-8"
    assert response["body"] == {"encoding": "text", "data": (REPO_ROOT / "site" / "404.html").read_text()}

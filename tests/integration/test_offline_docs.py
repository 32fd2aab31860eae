"""/docs and /redoc load nothing from outside this service (issue 8: a host without internet
showed a blank page)."""

from __future__ import annotations

import re

import httpx


def test_docs_pages_reference_only_local_assets(http: httpx.Client) -> None:
    for page in ("/docs", "/redoc"):
        response = http.get(page)
        assert response.status_code == 200, page
        urls = re.findall(r"""(?:src|href)=["']([^"']+)["']|url:\\s*["']([^"']+)["']""",
                          response.text)
        found = [u for pair in urls for u in pair if u]
        assert found, page
        assert all(u.startswith("/") for u in found), found
        assert "cdn" not in response.text.lower()
        assert "fonts.googleapis" not in response.text
    for asset, kind in (("swagger-ui-bundle.js", "javascript"), ("swagger-ui.css", "css"),
                        ("redoc.standalone.js", "javascript"), ("favicon.png", "image/png")):
        response = http.get(f"/docs/assets/{asset}")
        assert response.status_code == 200, asset
        assert kind in response.headers["content-type"]
        assert len(response.content) > 1000
    assert http.get("/docs/assets/../../pyproject.toml").status_code == 404
    assert http.get("/docs/oauth2-redirect").status_code == 200
    paths = http.get("/openapi.json").json()["paths"]
    assert "/imports" in paths and "/docs" not in paths and "/docs/assets" not in str(paths)

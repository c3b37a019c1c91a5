"""The docs page: BentoML's Swagger page without its third-party tracker, loading nothing from
another origin (tests/service/test_guard_http.py fetches it from every service)."""

from __future__ import annotations

import re

from bentos.common import docs


def test_the_page_loads_scripts_and_styles_from_its_own_origin_only():
    template = docs.bentoml_template()
    assert "googletagmanager.com" in template  # what BentoML ships, and what this page must drop
    page = docs.page(template).decode()
    assert "googletagmanager" not in page.lower() and "<iframe" not in page
    loaded = re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', page)
    assert len(loaded) >= 5 and all(url.startswith("./static_content/") for url in loaded), loaded
    assert '<div id="swagger-ui">' in page


def test_the_policy_forbids_scripts_of_other_origins():
    rules = dict(rule.strip().split(" ", 1) for rule in docs.POLICY.split(";"))
    assert rules["script-src"] == "'self'" and rules["default-src"] == "'self'"

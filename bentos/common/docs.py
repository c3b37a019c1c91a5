"""The API docs page as callers get it: GET / is BentoML's Swagger page without the Google Tag
Manager script BentoML 1.4.39 puts in it (a third party's tracker on every visit to a studio's
internal page, and a page that waits on the internet), with a Content-Security-Policy that lets it
load nothing from anywhere else: it works offline, and no script of another origin can run in it."""

from __future__ import annotations

import re
from pathlib import Path

TEMPLATE = "main-openapi.html"  # BentoML's page for the OpenAPI UI (_bentoml_impl/server/)
TRACKERS = re.compile(r"\s*<!-- Google Tag Manager[^>]*-->.*?<!-- End Google Tag Manager[^>]*-->", re.DOTALL)
# Swagger UI sets styles inline and draws icons from data: URIs; scripts only from this origin.
POLICY = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'"


def page(template: str) -> bytes:
    """BentoML's page without its tracker."""
    return TRACKERS.sub("", template).encode()


def bentoml_template() -> str:
    import _bentoml_impl.server

    return (Path(_bentoml_impl.server.__file__).parent / TEMPLATE).read_text()


class DocsPage:
    """Answers GET / (and HEAD) with `page`; everything else goes on."""

    def __init__(self, app):
        self.app = app
        self.body = page(bentoml_template())
        self.headers = [(b"content-type", b"text/html; charset=utf-8"), (b"content-length", str(len(self.body)).encode()),
                        (b"content-security-policy", POLICY.encode()), (b"x-content-type-options", b"nosniff")]

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["path"] != "/" or scope["method"] not in ("GET", "HEAD"):
            return await self.app(scope, receive, send)
        await send({"type": "http.response.start", "status": 200, "headers": self.headers})
        await send({"type": "http.response.body", "body": self.body if scope["method"] == "GET" else b""})

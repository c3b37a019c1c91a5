"""The API docs as callers get them: GET /docs.json is the service's OpenAPI document as
bentos/common/openapi.py makes it valid and exact, and GET / is BentoML's Swagger page without the
Google Tag Manager script BentoML 1.4.39 puts in it (a third party's tracker on every visit to a
studio's internal page, and a page that waits on the internet), with a Content-Security-Policy
that lets it load nothing from anywhere else: it works offline, and no script of another origin
can run in it."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
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


class Docs:
    """Answers GET (and HEAD) / with `page` and /docs.json with `document()`, made on the first
    call (BentoML's document takes a while to build, and a start should not wait for it)."""

    def __init__(self, app, document: Callable[[], dict]):
        self.app = app
        self.document = document
        self.answers: dict[str, tuple[bytes, list]] = {"/": self.answer(page(bentoml_template()), b"text/html; charset=utf-8")}

    @staticmethod
    def answer(body: bytes, content_type: bytes) -> tuple[bytes, list]:
        return body, [(b"content-type", content_type), (b"content-length", str(len(body)).encode()),
                      (b"content-security-policy", POLICY.encode()), (b"x-content-type-options", b"nosniff")]

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["path"] not in ("/", "/docs.json") or scope["method"] not in ("GET", "HEAD"):
            return await self.app(scope, receive, send)
        if scope["path"] not in self.answers:
            self.answers[scope["path"]] = self.answer(json.dumps(self.document()).encode(), b"application/json")
        body, headers = self.answers[scope["path"]]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body if scope["method"] == "GET" else b""})

"""One error envelope for every answer that is not a success, and the request id and the model
version on every answer.

    HTTP/1.1 400 Bad Request
    X-Request-ID: 4bf92f3577b34da6a3ce929d0e0e4736
    X-Model-Version: wallhack:k3x7c2yq

    {"error": {"code": "invalid_input", "message": "images[1]: the file is truncated",
               "fields": [{"field": "images[1]", "problem": "the file is truncated", "type": "invalid_argument"}],
               "request_id": "4bf92f3577b34da6a3ce929d0e0e4736", "model_version": "wallhack:k3x7c2yq"}}

Errors are written in four shapes underneath: pydantic's `{"error", "detail": [...]}` and an
exception's `[{"error": ...}]` from BentoML's endpoint wrapper, Starlette's plain-text 404 and 405,
and this project's middlewares' `{"error": "..."}`. Rather than patch each writer (two of them are
BentoML's), the outermost middleware rewrites every non-2xx body into the envelope: no route,
status or future writer can escape it. `code` is fixed per status, so clients branch on it, not on
the message; `fields` names what to fix, from pydantic's locations or from a message's leading
`field: problem`, the convention of every refusal here.

The request id is the caller's `X-Request-ID` (when it is a short token), else the trace id of a
W3C `traceparent` it sent, else BentoML's trace id for the request: the id BentoML's access log and
every log line of the request carry (`trace=...`), so the id in an error finds its log lines."""

from __future__ import annotations

import json
import logging
import re
import uuid
from dataclasses import dataclass, field
from http import HTTPStatus

from bentoml._internal.context import trace_context

CODES = {400: "invalid_input", 401: "unauthenticated", 403: "forbidden", 404: "not_found",
         405: "method_not_allowed", 408: "request_timeout", 409: "conflict", 413: "payload_too_large",
         415: "unsupported_media_type", 422: "invalid_input", 429: "too_many_requests",
         500: "internal_error", 502: "bad_gateway", 503: "unavailable", 504: "timeout"}
MAX_ERROR_BODY = 64 * 1024  # what is read of an error body to rewrite it; errors here are a few hundred bytes
MAX_MESSAGE = 2000  # characters: a message says what is wrong in a sentence or two
# pydantic reports every bad record of a 20,000-row request; the first ones say what to fix, but one
# abuse window missing its ~30 features must name them all
MAX_FIELDS = 100
REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")  # a token: never echoes markup or line breaks into headers or logs
TRACEPARENT = re.compile(r"[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}")
LEADING_FIELD = re.compile(r"([A-Za-z_]\w*(?:\[\d+\])*(?:\.[A-Za-z_]\w*(?:\[\d+\])*)*): (.+)", re.DOTALL)

log = logging.getLogger("playserve.errors")


@dataclass(frozen=True)
class Problem:
    status: int
    message: str
    fields: list[dict] = field(default_factory=list)
    unparsed: bool = False  # the body was not one of the shapes above

    @property
    def code(self) -> str:
        return CODES.get(self.status, "client_error" if self.status < 500 else "server_error")


def problem(status: int, body: bytes) -> Problem:
    """What an error answer says, from any of the shapes it is written in."""
    try:
        data = json.loads(body)
    except ValueError:
        text = body.decode("utf-8", "replace").strip()
        return with_leading_field(status, text or phrase(status), unparsed=True)
    if isinstance(data, list) and data and isinstance(data[0], dict):
        data = data[0]  # BentoML's endpoint wrapper answers an exception as a one-item list
    if not isinstance(data, dict):
        return Problem(status, phrase(status), unparsed=True)
    if isinstance(data.get("error"), dict):  # already an envelope
        inner = data["error"]
        return Problem(status, str(inner.get("message", phrase(status))), list(inner.get("fields", [])))
    if isinstance(data.get("detail"), list):  # pydantic's errors, as BentoML answers them
        fields = [{"field": location(item.get("loc", ())), "problem": str(item.get("msg", "invalid")),
                   "type": str(item.get("type", "invalid"))} for item in data["detail"] if isinstance(item, dict)]
        shown = "; ".join(f"{f['field']}: {f['problem']}" for f in fields[:3])
        more = f" (and {len(fields) - 3} more)" if len(fields) > 3 else ""
        return Problem(status, (shown + more) or str(data.get("error", phrase(status))), fields[:MAX_FIELDS])
    if isinstance(data.get("error"), str):
        return with_leading_field(status, data["error"])
    return Problem(status, phrase(status), unparsed=True)


def with_leading_field(status: int, message: str, unparsed: bool = False) -> Problem:
    """A message of the form "images[1]: the file is truncated" names its field."""
    message = message[:MAX_MESSAGE]
    match = LEADING_FIELD.fullmatch(message)
    fields = [{"field": match[1], "problem": match[2], "type": "invalid_argument"}] if match and status < 500 else []
    return Problem(status, message, fields, unparsed)


def location(loc) -> str:
    """pydantic's ("users", 17, "age") -> users[17].age."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "<request>"


def phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def envelope(found: Problem, request_id: str, model_version: str) -> bytes:
    return json.dumps({"error": {"code": found.code, "message": found.message, "fields": found.fields,
                                 "request_id": request_id, "model_version": model_version}}).encode()


def request_id(headers: dict[bytes, bytes], trace_id: int | None) -> str:
    """The caller's X-Request-ID, else its traceparent's trace id, else BentoML's trace id."""
    given = headers.get(b"x-request-id", b"").decode("latin-1").strip()
    if REQUEST_ID.fullmatch(given):
        return given
    parent = TRACEPARENT.fullmatch(headers.get(b"traceparent", b"").decode("latin-1").strip())
    if parent and parent[1] != "0" * 32:
        return parent[1]
    if trace_id:
        return format(trace_id, "032x")
    return uuid.uuid4().hex


class Envelope:
    """The outermost middleware: the envelope for every non-2xx answer, X-Request-ID and
    X-Model-Version on every answer. `on_error(endpoint, problem)` sees each rewritten answer
    (the validation-failure counts)."""

    def __init__(self, app, model_version: str, on_error=None):
        self.app = app
        self.version = model_version.encode()
        self.model_version = model_version
        self.on_error = on_error

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        rid = request_id(dict(scope["headers"]), trace_context.trace_id)
        ours = [(b"x-request-id", rid.encode()), (b"x-model-version", self.version)]
        start: dict | None = None
        body = bytearray()

        async def rewrite(message):
            nonlocal start
            if message["type"] == "http.response.start":
                if message["status"] < 400 or scope["method"] == "HEAD":
                    return await send({**message, "headers": [*message.get("headers", []), *ours]})
                start = message
                return
            if start is None:
                return await send(message)
            if len(body) < MAX_ERROR_BODY:
                body.extend(message.get("body", b"")[:MAX_ERROR_BODY - len(body)])
            if message.get("more_body"):
                return
            found = problem(start["status"], bytes(body))
            if self.on_error is not None:
                self.on_error(scope["path"], found)
            if start["status"] >= 500:
                log.warning("request_id=%s status=%s code=%s path=%s", rid, start["status"], found.code, scope["path"])
            payload = envelope(found, rid, self.model_version)
            kept = [(k, v) for k, v in start.get("headers", []) if k.lower() not in (b"content-type", b"content-length")]
            await send({**start, "headers": [*kept, (b"content-type", b"application/json"),
                                             (b"content-length", str(len(payload)).encode()), *ours]})
            await send({"type": "http.response.body", "body": payload})

        await self.app(scope, receive, rewrite)

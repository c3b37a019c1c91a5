"""The OpenAPI document a service publishes at /docs.json: BentoML's, made valid and exact.

BentoML 1.4.39 declares OpenAPI 3.0.2 but writes JSON Schema 2020-12 (`type: "null"` in anyOf)
and `type: "file"` in its component schemas, so validators reject it and client generators fail;
its `info.version` is "None", it names no security scheme, and it documents only 400, 404 and
500 in error shapes the services no longer answer with. Here the document is 3.1 (whose schema
dialect is what pydantic writes), a file is a binary string, `info` names the model version and
the git commit it was trained from, both ways of sending the API key are security schemes, and
every route lists every status it can answer with the envelope of bentos/common/errors.py."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from http import HTTPStatus

from bentos.common.errors import CODES
from training.common.contract import Route

OPEN_PATHS = frozenset({"/livez", "/readyz", "/healthz", "/metrics"})  # as bentos/common/auth.py lets them through
# What any protected route can answer besides its own: the caller's mistakes, the pod's limits, the server's faults.
COMMON_ERRORS = (400, 401, 403, 408, 413, 415, 429, 500, 503, 504)
BENTOML_ERRORS = ("InvalidArgument", "NotFound", "InternalServerError")
SECURITY = {"bearer": {"type": "http", "scheme": "bearer", "description": "Authorization: Bearer <key>"},
            "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key", "description": "X-API-Key: <key>"}}
ERROR_SCHEMA = {
    "type": "object", "required": ["error"], "additionalProperties": False,
    "properties": {"error": {
        "type": "object", "required": ["code", "message", "fields", "request_id", "model_version"],
        "properties": {
            "code": {"type": "string", "enum": sorted(set(CODES.values()) | {"client_error", "server_error"}),
                     "description": "Fixed per status: branch on it, not on the message"},
            "message": {"type": "string"},
            "fields": {"type": "array", "items": {
                "type": "object", "required": ["field", "problem", "type"],
                "properties": {"field": {"type": "string", "examples": ["users[0].age", "images[2]"]},
                               "problem": {"type": "string"}, "type": {"type": "string"}}}},
            "request_id": {"type": "string", "description": "Also the X-Request-ID header"},
            "model_version": {"type": "string", "description": "Also the X-Model-Version header"}}}}}
RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before trying again", "schema": {"type": "integer"}}}


def document(bentoml_document: dict, model_version: str, git_sha: str, description: str, routes: Iterable[Route]) -> dict:
    """BentoML's document (service.openapi_spec.asdict()) -> the published one. `routes`: the
    contract's, with the statuses each answers beyond COMMON_ERRORS (abuse's unknown user, 404;
    emotion's frame out of order, 409) and its answer's media type (BentoML calls a str text/plain)."""
    routes = {route.path: route for route in routes}
    doc = fixed_schemas(copy.deepcopy(bentoml_document))
    doc["openapi"] = "3.1.0"
    name = doc.get("info", {}).get("title", "")
    doc["info"] = {"title": name, "version": f"{model_version} (git {git_sha})", "description": description}
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    for unused in BENTOML_ERRORS:
        schemas.pop(unused, None)
    schemas["Error"] = ERROR_SCHEMA
    doc["components"]["securitySchemes"] = SECURITY
    doc["components"]["responses"] = {str(status): error_response(status) for status in sorted({*COMMON_ERRORS, 404, 405, 409})}
    doc["security"] = [{"bearer": []}, {"apiKey": []}]
    for path, operations in doc.get("paths", {}).items():
        for operation in operations.values():
            # BentoML's keys are ints before the document is written as JSON
            operation["responses"] = {str(status): answer for status, answer in operation.get("responses", {}).items()}
            if path in OPEN_PATHS:
                operation["security"] = []
                continue
            responses = {status: answer for status, answer in operation["responses"].items() if not status.startswith(("4", "5"))}
            route = routes.get(path, Route(path))
            if route.media_type != "application/json":
                responses["200"] = {"description": "OK", "content": {route.media_type: {"schema": {"type": "string"}}}}
            for status in sorted({*COMMON_ERRORS, *route.errors}):
                responses[str(status)] = {"$ref": f"#/components/responses/{status}"}
            operation["responses"] = responses
    return doc


def error_response(status: int) -> dict:
    answer = {"description": f"{HTTPStatus(status).phrase}: code {CODES[status]!r}",
              "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    if status in (429, 503):
        answer["headers"] = RETRY_AFTER
    return answer


def fixed_schemas(node):
    """Everywhere in the document: `type: "file"` (no such JSON Schema type) -> a binary string;
    a field whose default is null but whose type BentoML simplified to one (`{"type": "array",
    "default": null}`, invalid) -> that type or null."""
    if isinstance(node, dict):
        if node.get("type") == "file":
            node["type"] = "string"
            node.setdefault("format", "binary")
        if "default" in node and node["default"] is None and isinstance(node.get("type"), str) and node["type"] != "null":
            node["type"] = [node["type"], "null"]
        for value in node.values():
            fixed_schemas(value)
    elif isinstance(node, list):
        for value in node:
            fixed_schemas(value)
    return node

"""The error envelope: every shape an error is written in becomes one envelope naming its fields,
and every answer carries the request id and the model version (an ASGI app driven in process;
tests/service/ checks the same over HTTP against every service)."""

from __future__ import annotations

import json

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from bentos.common import errors
from bentos.common.errors import Envelope, problem, request_id

PYDANTIC = json.dumps({"error": "2 validation errors for Input", "detail": [
    {"type": "less_than_equal", "loc": ["users", 0, "age"], "msg": "Input should be less than or equal to 120"},
    {"type": "missing", "loc": ["users", 3, "gender"], "msg": "Field required"}]}).encode()


def test_pydantic_errors_name_each_field_with_its_index():
    found = problem(400, PYDANTIC)
    assert found.code == "invalid_input" and not found.unparsed
    assert found.fields == [{"field": "users[0].age", "problem": "Input should be less than or equal to 120", "type": "less_than_equal"},
                            {"field": "users[3].gender", "problem": "Field required", "type": "missing"}]
    assert found.message == "users[0].age: Input should be less than or equal to 120; users[3].gender: Field required"


def test_a_long_list_of_errors_is_cut_and_says_how_many_more():
    detail = [{"type": "missing", "loc": ["users", i, "age"], "msg": "Field required"} for i in range(500)]
    found = problem(400, json.dumps({"error": "500 validation errors", "detail": detail}).encode())
    assert len(found.fields) == errors.MAX_FIELDS and found.message.endswith("(and 497 more)")


@pytest.mark.parametrize("body", [b'[{"error": "images[2]: the file is truncated"}]', b'{"error": "images[2]: the file is truncated"}'])
def test_a_message_names_its_leading_field_in_either_shape(body):
    found = problem(400, body)
    assert found.message == "images[2]: the file is truncated"
    assert found.fields == [{"field": "images[2]", "problem": "the file is truncated", "type": "invalid_argument"}]


def test_a_message_without_a_field_names_none():
    assert problem(400, b'{"error": "request body: 12 bytes is over the limit"}').fields == []
    assert problem(429, b'{"error": "this pod is busy"}').code == "too_many_requests"


def test_plain_text_and_empty_bodies_get_their_status_message():
    assert (problem(404, b"Not Found").code, problem(404, b"Not Found").message) == ("not_found", "Not Found")
    assert problem(405, b"").message == "Method Not Allowed" and problem(405, b"").code == "method_not_allowed"
    assert problem(500, b'{"error": "model: An unexpected error"}').fields == []  # a server error names no field of the caller's


def test_an_envelope_passes_through_unchanged():
    inner = {"error": {"code": "x", "message": "session s: frame 3 was answered", "fields": [{"field": "frame", "problem": "p", "type": "t"}]}}
    found = problem(409, json.dumps(inner).encode())
    assert (found.message, found.fields, found.code) == ("session s: frame 3 was answered", inner["error"]["fields"], "conflict")


@pytest.mark.parametrize("given, expected", [
    ({b"x-request-id": b"client-42.a:b"}, "client-42.a:b"),
    ({b"x-request-id": b"<script>"}, "0af7651916cd43dd8448eb211c80319c"),  # not a token: the trace id instead
    ({b"x-request-id": b"a" * 129}, "0af7651916cd43dd8448eb211c80319c"),
    ({b"traceparent": b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}, "4bf92f3577b34da6a3ce929d0e0e4736"),
    ({b"traceparent": b"00-" + b"0" * 32 + b"-00f067aa0ba902b7-01"}, "0af7651916cd43dd8448eb211c80319c"),  # invalid by W3C
    ({}, "0af7651916cd43dd8448eb211c80319c"),
])
def test_the_request_id_is_the_callers_token_else_its_trace_else_ours(given, expected):
    assert request_id(given, 0x0AF7651916CD43DD8448EB211C80319C) == expected


def test_without_any_trace_the_request_id_is_random():
    first, second = request_id({}, None), request_id({}, None)
    assert first != second and len(first) == 32


def app_with(responses: dict) -> Envelope:
    seen = []
    routes = [Route(path, lambda request, r=response: r, methods=["GET", "HEAD"]) for path, response in responses.items()]
    envelope = Envelope(Starlette(routes=routes), model_version="spend:v1", on_error=lambda path, found: seen.append((path, found.status)))
    envelope.seen = seen
    return envelope


async def call(app, path: str, method: str = "GET", headers: dict | None = None) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        return await client.request(method, path, headers=headers)


@pytest.mark.anyio
async def test_every_error_answer_becomes_the_envelope_and_every_answer_carries_the_ids():
    app = app_with({"/ok": JSONResponse({"fine": 1}), "/bad": JSONResponse([{"error": "table: not a table"}], status_code=400),
                    "/busy": JSONResponse({"error": "busy"}, status_code=503, headers={"retry-after": "1"})})
    ok = await call(app, "/ok", headers={"x-request-id": "r-1"})
    assert ok.json() == {"fine": 1} and ok.headers["x-request-id"] == "r-1" and ok.headers["x-model-version"] == "spend:v1"
    bad = await call(app, "/bad", headers={"x-request-id": "r-2"})
    assert bad.status_code == 400 and bad.headers["content-type"] == "application/json"
    assert bad.json() == {"error": {"code": "invalid_input", "message": "table: not a table",
                                    "fields": [{"field": "table", "problem": "not a table", "type": "invalid_argument"}],
                                    "request_id": "r-2", "model_version": "spend:v1"}}
    assert int(bad.headers["content-length"]) == len(bad.content)
    busy = await call(app, "/busy")
    assert busy.headers["retry-after"] == "1" and busy.json()["error"]["code"] == "unavailable"
    missing = await call(app, "/nowhere")  # Starlette's plain-text 404
    assert missing.json()["error"]["code"] == "not_found" and missing.headers["x-request-id"] == missing.json()["error"]["request_id"]
    assert app.seen == [("/bad", 400), ("/busy", 503), ("/nowhere", 404)]


@pytest.mark.anyio
async def test_a_head_request_keeps_its_empty_body():
    app = app_with({"/gone": Response(status_code=410)})
    answer = await call(app, "/gone", method="HEAD")
    assert answer.status_code == 410 and answer.content == b"" and answer.headers["x-model-version"] == "spend:v1"


@pytest.mark.anyio
async def test_a_huge_error_body_is_read_only_so_far_and_its_message_cut():
    app = app_with({"/huge": PlainTextResponse("x" * (errors.MAX_ERROR_BODY * 4), status_code=400)})
    answer = await call(app, "/huge")
    assert answer.status_code == 400 and len(answer.json()["error"]["message"]) == errors.MAX_MESSAGE


@pytest.fixture
def anyio_backend():
    return "asyncio"

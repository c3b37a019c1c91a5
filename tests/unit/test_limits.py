"""Body limits at the byte: the middleware against an app that reads its whole body."""

from __future__ import annotations

import asyncio
import json

import pytest

from bentos.common.limits import DEFAULT_LIMIT, MIB, MULTIPART_SLACK, BodyLimit, in_flight_bytes, uploads_limit, worker_slots


async def reading_app(scope, receive, send):
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        size += len(message.get("body", b""))
        if not message.get("more_body"):
            break
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": str(size).encode()})


def call(path: str, chunks: list[bytes], declare: bool) -> tuple[int, bytes, list[dict]]:
    """(status, body, every message sent) for one request through BodyLimit({"small": 10})."""
    headers = [(b"content-length", str(sum(map(len, chunks))).encode())] if declare else []
    scope = {"type": "http", "path": path, "headers": headers}
    incoming = [{"type": "http.request", "body": c, "more_body": i < len(chunks) - 1} for i, c in enumerate(chunks)]
    sent: list[dict] = []

    async def receive():
        return incoming.pop(0)

    async def send(message):
        sent.append(message)

    asyncio.run(BodyLimit(reading_app, {"small": 10})(scope, receive, send))
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return sent[0]["status"], body, sent


@pytest.mark.parametrize("declare", [True, False])
def test_a_body_at_the_limit_passes_and_one_byte_more_is_a_413(declare):
    assert call("/small", [b"12345", b"67890"], declare)[:2] == (200, b"10")
    status, body, sent = call("/small", [b"12345", b"678901"], declare)
    assert status == 413 and json.loads(body) == {"error": "request body: 11 bytes is over the 10-byte limit of /small"}
    assert len(sent) == 2  # the app's own answer after the refusal reaches no one


def test_a_declared_length_is_refused_before_the_body_is_read():
    scope = {"type": "http", "path": "/small", "headers": [(b"content-length", b"999999999")]}

    async def receive():
        raise AssertionError("the body was read")

    sent = []

    async def send(message):
        sent.append(message)

    asyncio.run(BodyLimit(reading_app, {"small": 10})(scope, receive, send))
    assert sent[0]["status"] == 413


def test_routes_not_named_get_the_default_and_upload_limits_cover_their_files():
    assert call("/other", [b"x" * DEFAULT_LIMIT], True)[0] == 200
    assert call("/other", [b"x" * (DEFAULT_LIMIT + 1)], True)[0] == 413
    assert uploads_limit(16, 1000) == 16_000 + MULTIPART_SLACK


def test_each_worker_admits_its_share_of_the_pod():
    pod = in_flight_bytes("2Gi", {"predict": 32 * MIB})
    assert in_flight_bytes("2Gi", {"predict": 32 * MIB}, workers=2) == {kind: size // 2 for kind, size in pod.items()}
    assert worker_slots(64, 2) == 32 and worker_slots(1, 2) == 1  # never none
    with pytest.raises(ValueError, match="scratch"):  # the largest body must fit one worker's share
        in_flight_bytes("512Mi", {"predict_table": 200 * MIB}, workers=2)

"""What every service does before a request reaches its model, over real HTTP: API keys on every
route the OpenAPI document lists (health, metrics and the docs stay open), per-client lists, and
body limits that refuse a huge upload from its declared length before a byte of it is read."""

from __future__ import annotations

import json
import re
import socket
from urllib.parse import urlsplit

import httpx
import pytest

from bentos.common import auth
from playserve import catalog
from playserve.services import how_to_call
from tests.conftest import API_KEY, LIMITED_KEY, REPO, post

HUGE = 3 * 1024**3  # over every endpoint's limit, videos' included


@pytest.fixture(params=catalog.names())
def server(request, server_of):
    return server_of(request.param), request.param


def routes(url: str) -> list[str]:
    """Every POST route the service's OpenAPI document lists."""
    paths = httpx.get(f"{url}/docs.json", timeout=30).json()["paths"]
    return sorted(path for path, methods in paths.items() if "post" in methods)


def declared_only(url: str, path: str, length: int, key: str) -> tuple[int, str]:
    """Send the headers of a `length`-byte POST and no body; the status line and body answered."""
    parts = urlsplit(url)
    head = (f"POST {path} HTTP/1.1\r\nHost: {parts.netloc}\r\nContent-Type: application/octet-stream\r\n"
            f"Content-Length: {length}\r\nX-API-Key: {key}\r\nConnection: close\r\n\r\n")
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as connection:
        connection.sendall(head.encode())
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    status_line, _, rest = answer.partition(b"\r\n")
    return int(status_line.split()[1]), rest.partition(b"\r\n\r\n")[2].decode()


def test_every_route_refuses_a_missing_or_unknown_key_with_a_json_401(server):
    server, model = server
    paths = routes(server.url)
    assert paths, "the OpenAPI document lists no routes"
    for path in paths:
        missing = httpx.post(f"{server.url}{path}", json={}, timeout=30)
        assert missing.status_code == 401 and "missing API key" in missing.json()["error"], path
        assert missing.headers["www-authenticate"].startswith("Bearer")
        unknown = httpx.post(f"{server.url}{path}", json={}, headers={"Authorization": f"Bearer {auth.new_key()}"}, timeout=30)
        assert unknown.status_code == 401 and unknown.json() == {"error": "unknown API key"}, path


def test_a_client_outside_its_list_gets_a_403_and_inside_it_reaches_the_model(server):
    server, model = server
    for path in routes(server.url):
        response = httpx.post(f"{server.url}{path}", json={}, headers={"X-API-Key": LIMITED_KEY}, timeout=30)
        if (model, path) == ("spend", "/predict"):
            assert response.status_code == 400 and "users" in response.text  # past the key check: the body is wrong
        else:
            assert response.status_code == 403 and f"'spend-only' may not call {model}{path}" in response.json()["error"]


def test_health_metrics_and_docs_need_no_key_and_refusals_are_counted(server):
    server, model = server
    printed = re.findall(r"https?://\S+?(?=[,)])", how_to_call(model, int(server.url.rsplit(":", 1)[1])).splitlines()[0])
    assert len(printed) == 3  # the addresses `serve` and `up` print beside the examples
    for url in (*[f"{server.url}{path}" for path in ("/livez", "/readyz", "/metrics", "/docs.json", "/")], *printed):
        assert httpx.get(url, timeout=30).status_code == 200, url
    httpx.post(f"{server.url}{routes(server.url)[0]}", json={}, timeout=30)
    metrics = httpx.get(f"{server.url}/metrics", timeout=30).text
    assert f'playserve_auth_refusals_total{{model="{model}",reason="missing"}}' in metrics


def test_a_huge_declared_body_is_refused_413_before_it_is_sent(server):
    server, model = server
    for path in routes(server.url):
        status, body = declared_only(server.url, path, HUGE, API_KEY)
        assert status == 413 and f"{HUGE:,} bytes is over the" in body and path in body, (path, body)
    assert httpx.get(f"{server.url}/readyz", timeout=30).status_code == 200


def test_a_chunked_body_is_counted_as_it_arrives(spend_server):
    def chunks():
        for _ in range(40):
            yield b" " * (1024 * 1024)  # 40 MiB of whitespace, no Content-Length

    response = httpx.post(f"{spend_server.url}/predict", content=chunks(), timeout=60,
                          headers={"X-API-Key": API_KEY, "content-type": "application/json"})
    assert response.status_code == 413 and "limit of /predict" in response.json()["error"]


def test_refused_requests_leave_no_payload_or_user_id_in_the_log(spend_server, abuse_server):
    marker = "PERSONAL-4242"
    example = json.loads((REPO / "bentos/spend/example_request.json").read_text())["users"][0]
    user = dict(example, user_id=f"user-{marker}", age=f"forty-{marker}")
    assert post(f"{spend_server.url}/predict", json={"users": [user]}).status_code == 400
    assert post(f"{abuse_server.url}/score_user", json={"user_id": f"player-{marker}"}).status_code == 404
    for server, line in ((spend_server, "refused /predict [POST]: 400 validation error (1) in users.age"),
                         (abuse_server, "refused /score_user [POST]: 404 NotFound")):
        log = server.log.read_text()
        assert marker not in log and line in log, log[-2000:]

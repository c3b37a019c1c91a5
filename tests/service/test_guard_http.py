"""What every service does before a request reaches its model, over real HTTP: API keys on every
route the OpenAPI document lists (health, metrics and the docs stay open), per-client lists, body
limits that refuse a huge upload from its declared length before a byte of it is read, the error
envelope and the request and model ids on every answer, CORS when configured, and a docs page
that loads nothing from elsewhere."""

from __future__ import annotations

import ast

import json
import re
import socket
import time
from urllib.parse import urlsplit

import httpx
import pytest

from bentos.common import auth
from playserve import catalog
from playserve.services import how_to_call
from bentos.common.middleware import CORS_ENV
from tests.conftest import API_KEY, AUTH, LIMITED_KEY, REPO, error_of, post, screenshot, start_server, stop_server

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
        assert missing.status_code == 401 and "missing API key" in error_of(missing)["message"], path
        assert missing.headers["www-authenticate"].startswith("Bearer")
        unknown = httpx.post(f"{server.url}{path}", json={}, headers={"Authorization": f"Bearer {auth.new_key()}"}, timeout=30)
        assert unknown.status_code == 401 and error_of(unknown)["message"] == "unknown API key", path


def test_a_client_outside_its_list_gets_a_403_and_inside_it_reaches_the_model(server):
    server, model = server
    for path in routes(server.url):
        response = httpx.post(f"{server.url}{path}", json={}, headers={"X-API-Key": LIMITED_KEY}, timeout=30)
        if (model, path) == ("spend", "/predict"):
            assert response.status_code == 400 and "users" in response.text  # past the key check: the body is wrong
        else:
            assert response.status_code == 403 and f"'spend-only' may not call {model}{path}" in error_of(response)["message"]


def test_health_metrics_and_docs_need_no_key_and_refusals_are_counted(server):
    server, model = server
    printed = re.findall(r"https?://\S+?(?=[,)])", how_to_call(model, int(server.url.rsplit(":", 1)[1])).splitlines()[0])
    assert len(printed) == 3  # the addresses `serve` and `up` print beside the examples
    for url in (*[f"{server.url}{path}" for path in ("/livez", "/readyz", "/metrics", "/docs.json", "/")], *printed):
        assert httpx.get(url, timeout=30).status_code == 200, url
    httpx.post(f"{server.url}{routes(server.url)[0]}", json={}, timeout=30)
    metrics = httpx.get(f"{server.url}/metrics", timeout=30).text
    assert f'playserve_auth_refusals_total{{model="{model}",reason="missing"}}' in metrics


def test_every_error_is_the_envelope_and_every_answer_names_its_request_and_model(server):
    server, model = server
    path = routes(server.url)[0]
    refused = {"unknown route": httpx.get(f"{server.url}/no/such/route", headers=AUTH, timeout=30),
               "wrong method": httpx.get(f"{server.url}{path}", headers=AUTH, timeout=30),
               "no key": httpx.post(f"{server.url}{path}", json={}, timeout=30),
               "not JSON, not a form": httpx.post(f"{server.url}{path}", content=b"x", headers={**AUTH, "content-type": "text/plain"}, timeout=30)}
    statuses = {name: r.status_code for name, r in refused.items()}
    assert statuses == {"unknown route": 404, "wrong method": 405, "no key": 401, "not JSON, not a form": 415}, statuses
    for name, response in refused.items():
        error = error_of(response)
        assert error["model_version"].startswith(f"{model}:") and error["message"], (name, error)
        assert re.fullmatch(r"[0-9a-f]{32}", error["request_id"]), (name, error)
    assert len({error_of(r)["request_id"] for r in refused.values()}) == len(refused)  # one per request
    mine = httpx.get(f"{server.url}/readyz", headers={"X-Request-ID": "game-client-7.42"}, timeout=30)
    assert mine.headers["x-request-id"] == "game-client-7.42" and mine.headers["x-model-version"].startswith(f"{model}:")
    traced = httpx.get(f"{server.url}/livez", headers={"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}, timeout=30)
    assert traced.headers["x-request-id"] == "4bf92f3577b34da6a3ce929d0e0e4736"


def test_a_request_id_finds_the_requests_log_line(spend_server):
    response = httpx.get(f"{spend_server.url}/no/such/route", timeout=30)
    wanted = f"trace={error_of(response)['request_id']}"
    for _ in range(50):  # the access log line is written as the answer goes out
        if wanted in spend_server.log.read_text():
            break
        time.sleep(0.2)
    assert wanted in spend_server.log.read_text()


def test_the_docs_page_loads_nothing_from_elsewhere(server):
    server, model = server
    page = httpx.get(f"{server.url}/", timeout=30)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in page.headers["content-security-policy"] and "googletagmanager" not in page.text
    for asset in re.findall(r'<(?:script|link)[^>]+(?:src|href)="\./([^"]+)"', page.text):
        assert httpx.get(f"{server.url}/{asset}", timeout=30).status_code == 200, asset


def test_the_openapi_document_is_valid_and_lists_every_error_with_the_envelope(server):
    from openapi_spec_validator import validate

    server, model = server
    document = httpx.get(f"{server.url}/docs.json", timeout=30).json()
    validate(document)  # BentoML's own (3.0.2 with type "file" and "null") fails this
    assert document["openapi"].startswith("3.1") and document["info"]["version"].startswith(f"{model}:")
    docstring = ast.get_docstring(ast.parse((REPO / "bentos" / model / "service.py").read_text()))
    assert "(git " in document["info"]["version"] and document["info"]["description"] == docstring.strip()  # not BentoML's badges
    assert set(document["components"]["securitySchemes"]) == {"bearer", "apiKey"}
    for path, operations in document["paths"].items():
        for operation in operations.values():
            if path in ("/livez", "/readyz", "/healthz", "/metrics"):
                assert operation["security"] == [], path
                continue
            listed = set(operation["responses"])
            assert {"200", "400", "401", "403", "413", "415", "429", "500", "503", "504"} <= listed, (path, listed)
            assert operation["responses"]["429"] == {"$ref": "#/components/responses/429"}
    assert "Retry-After" in document["components"]["responses"]["503"]["headers"]
    errors = {r.path: r.errors for r in catalog.spec(model).routes}
    for path, extra in errors.items():
        assert {str(status) for status in extra} <= set(document["paths"][path]["post"]["responses"]), path


def test_the_docs_page_draws_every_route_in_a_browser_from_the_service_alone(spend_server, tmp_path):
    """Headless Chromium opens the page at / (its script and styles from the service itself, under
    the page's own-origin CSP) and Swagger UI draws the document: one green POST bar per route."""
    import numpy as np

    pixels = screenshot(f"{spend_server.url}/", tmp_path / "docs.png", height=1200).astype(int)
    green = (np.abs(pixels - [73, 204, 144]) < 20).all(axis=2).sum(axis=1) > 40  # rows crossing POST's colour (#49cc90)
    edges = np.flatnonzero(np.diff(np.concatenate([[0], green.astype(int), [0]])))
    bars = sum(end - start >= 20 for start, end in zip(edges[::2], edges[1::2]))  # badges are ~28 px tall; borders 1-2 px
    routes = [p for p, item in httpx.get(f"{spend_server.url}/docs.json", timeout=30).json()["paths"].items() if "post" in item]
    assert bars == len(routes) == 3, f"{bars} POST bars drawn for {routes}: {tmp_path / 'docs.png'}"


def test_cors_is_off_by_default_and_answers_a_configured_origin_before_the_key(spend_server, trained, tmp_path):
    preflight = {"Origin": "https://tools.example.com", "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "x-api-key, content-type"}
    closed = httpx.options(f"{spend_server.url}/predict", headers=preflight, timeout=30)
    assert "access-control-allow-origin" not in closed.headers
    server = start_server("spend", str(trained.model.tag), tmp_path / "spend.log", env={CORS_ENV: "https://tools.example.com"})
    try:
        opened = httpx.options(f"{server.url}/predict", headers=preflight, timeout=30)
        assert opened.status_code == 200 and opened.headers["access-control-allow-origin"] == "https://tools.example.com"
        assert "x-api-key" in opened.headers["access-control-allow-headers"].lower()
        other = httpx.options(f"{server.url}/predict", headers={**preflight, "Origin": "https://evil.example.net"}, timeout=30)
        assert other.status_code == 400 and "access-control-allow-origin" not in other.headers and error_of(other)["message"]
        called = httpx.post(f"{server.url}/predict", json={"users": []}, headers={"Origin": "https://tools.example.com", **AUTH}, timeout=30)
        assert called.headers["access-control-allow-origin"] == "https://tools.example.com"
        assert "x-request-id" in called.headers["access-control-expose-headers"].lower()
    finally:
        stop_server(server.process)


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
    assert response.status_code == 413 and "limit of /predict" in error_of(response)["message"]


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

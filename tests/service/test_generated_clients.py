"""What a game team gets from `/docs.json` alone: a typed Python client generated from each running
service's document by openapi-python-client (installed by ci/setup.sh in its own environment: it
wants an older Typer than the project's), which calls every protected route and reads the typed
answer, and reads a refusal as the typed error envelope."""

from __future__ import annotations

import importlib
import io
import json
import re
import shutil
import subprocess
import sys
import typing
from pathlib import Path

import cv2
import httpx
import pandas as pd
import pytest
import skimage.data

from playserve import catalog
from tests.conftest import API_KEY, REPO
from training.abuse.serving.features import FEATURES

GENERATOR = Path.home() / ".local" / "bin" / "openapi-python-client"  # `uv tool install`'s bin directory
VIDEO_RATE = {"sample_rate": 0.2}  # a few frames of the 24 s session: the route's answer, not its speed


def generated(model: str, document: dict, folder: Path):
    """The client package openapi-python-client writes for `document`, imported."""
    generator = str(GENERATOR) if GENERATOR.exists() else shutil.which("openapi-python-client")
    assert generator, "openapi-python-client is not installed: run ci/setup.sh"
    (folder / "doc.json").write_text(json.dumps(document))
    (folder / "config.yaml").write_text(f"post_hooks: []\nproject_name_override: {model}-client\npackage_name_override: {model}_client\n")
    result = subprocess.run([generator, "generate", "--path", str(folder / "doc.json"), "--config", str(folder / "config.yaml"),
                             "--output-path", str(folder / "out"), "--overwrite"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "warning" not in result.stdout.lower(), result.stdout + result.stderr
    sys.path.insert(0, str(folder / "out"))
    return importlib.import_module(f"{model}_client")


def operations(package) -> dict[str, object]:
    """Route -> the generated module that calls it (each module names its URL once)."""
    found = {}
    for path in Path(package.__file__).parent.glob("api/*/*.py"):
        url = re.search(r'"url": "([^"]+)"', path.read_text())
        if url:
            found[url.group(1)] = importlib.import_module(f"{package.__name__}.api.{path.parent.name}.{path.stem}")
    return found


def body_of(module, values: dict, files: dict):
    """The operation's typed body: `values` read by its from_dict, `files` (name -> bytes, or a list
    of them for a many-file field) as named files."""
    package = module.__name__.split(".")[0]
    File, Unset = (getattr(importlib.import_module(f"{package}.types"), name) for name in ("File", "Unset"))
    kind = next(k for k in typing.get_args(typing.get_type_hints(module.sync_detailed)["body"]) if k is not Unset)
    body = kind.from_dict({**values, **{name: [b""] * len(v) if isinstance(v, list) else b"" for name, v in files.items()}})
    for name, content in files.items():
        named = [File(payload=io.BytesIO(c), file_name=f"{name}-{i}.bin") for i, c in enumerate(content if isinstance(content, list) else [content])]
        setattr(body, name, named if isinstance(content, list) else named[0])
    return body


def valid_calls(model: str, request) -> list[tuple[str, dict, dict]]:
    """(route, values, files) of a valid request to every protected route, in an order that works
    (abuse's events before the user's score)."""
    jpeg = cv2.imencode(".jpg", skimage.data.astronaut()[..., ::-1])[1].tobytes()
    if model == "spend":
        users = json.loads((REPO / "bentos/spend/example_request.json").read_text())["users"]
        outcomes = [{**user, "group": group, "actual_spend": 10.0} for user, group in zip(users * 4, ["control", "nudged"] * 2)]
        return [("/predict", {"users": users}, {}), ("/nudge_effect", {"users": outcomes, "bootstrap": 200}, {}),
                ("/predict_table", {}, {"table": pd.DataFrame(users).to_csv(index=False).encode()})]
    if model == "abuse":
        row = pd.read_parquet(request.getfixturevalue("abuse_table")).head(1)[["user_id", *FEATURES]].to_dict(orient="records")[0]
        return [("/score", {"windows": [row]}, {}), ("/events", {"events": [{"user_id": "client-1", "time": 60.0, "kind": "reward", "gain": 25.0}]}, {}),
                ("/score_user", {"user_id": "client-1"}, {})]
    if model == "wallhack":
        return [("/predict", {}, {"images": [jpeg, jpeg]}), ("/explain", {}, {"image": jpeg})]
    video = request.getfixturevalue("session_video").read_bytes()
    if model == "emotion":
        return [("/predict", {}, {"images": [jpeg]}), ("/stream", {"session_id": "generated-client", "frame": 0}, {"image": jpeg}),
                ("/stream/close", {"session_id": "generated-client"}, {}),
                ("/report", VIDEO_RATE, {"video": video}), ("/report/html", VIDEO_RATE, {"video": video})]
    if model == "person":
        return [("/predict", {}, {"images": [jpeg]}), ("/video", VIDEO_RATE, {"video": video})]
    example = json.loads((REPO / "bentos" / model / "example_request.json").read_text())  # a model `playserve new` made
    return [(catalog.spec(model).interactive_routes[0], example, {})]


@pytest.mark.parametrize("model", catalog.names())
def test_a_client_generated_from_the_document_calls_every_route(model, server_of, request, tmp_path):
    server = server_of(model)
    document = httpx.get(f"{server.url}/docs.json", timeout=30).json()
    package = generated(model, document, tmp_path)
    calls, client = operations(package), package.AuthenticatedClient(base_url=server.url, token=API_KEY, timeout=120)
    protected = {path for path, item in document["paths"].items() if any(op.get("security") != [] for op in item.values())}
    assert set(calls) >= protected and {route for route, _, _ in valid_calls(model, request)} == protected
    for route, values, files in valid_calls(model, request):
        answer = calls[route].sync_detailed(client=client, body=body_of(calls[route], values, files))
        assert answer.status_code == 200, (route, answer.content[:300])
        if route.endswith("/html"):
            assert answer.headers["content-type"].startswith("text/html") and b"<svg" in answer.content
        else:
            first = answer.parsed[0] if isinstance(answer.parsed, list) else answer.parsed  # spend's and abuse's answer per record
            assert first is not None and not isinstance(first, package.models.Error), route
            assert first.to_dict()["model_version"] == answer.headers["x-model-version"], route
    route, values, files = valid_calls(model, request)[0]
    refused = calls[route].sync_detailed(client=package.AuthenticatedClient(base_url=server.url, token="not-a-key"),
                                         body=body_of(calls[route], values, files))
    assert isinstance(refused.parsed, package.models.Error) and refused.parsed.error.code == "unauthenticated"
    assert refused.parsed.error.request_id == refused.headers["x-request-id"]

"""The wallhack image: ONNX Runtime and the exported graph, no torch; run read-only as a non-root
user as the rendered staging Deployment, answering what the model answers in process."""

import json

import httpx
import numpy as np
import pytest

from tests.conftest import assert_locked_down, pod_log, podman, post, run_cli, staging_pod
from training.common.store import get
from training.wallhack import data
from training.wallhack.serving import onnx_model, preprocess


@pytest.fixture(scope="module")
def built(wallhack_trained):
    return json.loads(run_cli("build", "wallhack", "--model", wallhack_trained["tag"]).stdout)


@pytest.fixture(scope="module")
def screenshots() -> list[bytes]:
    return [data.sample(61, i).image for i in range(6)]


def in_process(tag: str, images: list[bytes]) -> np.ndarray:
    session = onnx_model.session(get(tag).path / onnx_model.ONNX_FILE)
    return onnx_model.probability(onnx_model.logits(session, preprocess.model_input(images)))


def predict(url: str, images: list[bytes]) -> httpx.Response:
    return post(f"{url}/predict", files=[("images", (f"shot{i}.jpg", b)) for i, b in enumerate(images)], timeout=60)


def test_image_is_labelled_small_and_holds_no_training_stack(built, wallhack_trained):
    labels = json.loads(podman("image", "inspect", "--format", "{{json .Labels}}", built["name"]))
    assert labels["ai.playserve.model"] == wallhack_trained["tag"] == built["model_tag"]
    assert built["tag"].startswith(wallhack_trained["tag"].split(":")[1] + "-")
    assert 0 < built["size_mb"] < 700  # torch alone would be ~700 MB
    listing = podman("run", "--rm", "--pull=never", built["name"], "python3", "-c",
                     "import importlib.util as u; print([m for m in ('torch', 'torchvision', 'sklearn', 'lightgbm', 'pytest') if u.find_spec(m)])")
    assert listing.strip() == "[]"


def test_the_rendered_staging_deployment_runs_locked_down_and_predicts_as_in_process(built, wallhack_trained, screenshots, tmp_path):
    with staging_pod("wallhack", built["name"], tmp_path) as url:
        response = predict(url, screenshots)
        assert response.status_code == 200, pod_log("wallhack")
        served = [r["probability"] for r in response.json()["results"]]
        np.testing.assert_allclose(served, in_process(wallhack_trained["tag"], screenshots), atol=1e-5)
        broken = predict(url, [screenshots[0][:500]])
        assert broken.status_code == 400 and "images[0]" in broken.text
        assert_locked_down("wallhack")
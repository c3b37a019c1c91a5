"""The person image: ONNX Runtime and OpenCV, no torch and no ultralytics; run read-only as a
non-root user as the rendered staging Deployment, counting people as the model
does in process."""

import json

import httpx
import numpy as np
import pytest

from tests.conftest import assert_locked_down, pod_log, podman, post, run_cli, staging_pod
from training.common.store import get
from training.person import photos
from training.person.serving.audience import Audience


@pytest.fixture(scope="module")
def built(person_trained):
    return json.loads(run_cli("build", "person", "--model", person_trained["tag"]).stdout)


@pytest.fixture(scope="module")
def frames() -> dict[str, bytes]:
    return {name: photos.ultralytics_asset(f"{name}.jpg").read_bytes() for name in ("bus", "zidane")}


def predict(url: str, images: list[bytes]) -> httpx.Response:
    return post(f"{url}/predict", files=[("images", (f"f{i}.jpg", b)) for i, b in enumerate(images)], timeout=120)


def test_image_is_labelled_small_and_holds_no_training_stack(built, person_trained):
    labels = json.loads(podman("image", "inspect", "--format", "{{json .Labels}}", built["name"]))
    assert labels["ai.playserve.model"] == person_trained["tag"] == built["model_tag"]
    assert 0 < built["size_mb"] < 650  # torch alone is over 1 GB; OpenCV with FFmpeg ~150 MB, ONNX Runtime ~75 MB
    listing = podman("run", "--rm", "--pull=never", built["name"], "python3", "-c",
                     "import importlib.util as u; print([m for m in ('torch', 'ultralytics', 'tensorflow', 'sklearn', 'skimage', 'pytest') if u.find_spec(m)])")
    assert listing.strip() == "[]"


def test_the_rendered_staging_deployment_runs_locked_down_and_answers_as_in_process(built, person_trained, frames, ad_video, tmp_path):
    with staging_pod("person", built["name"], tmp_path) as url:
        response = predict(url, list(frames.values()))
        assert response.status_code == 200, pod_log("person")
        expected = Audience(get(person_trained["tag"]).path).frames([photos.load(name) for name in frames])
        served = [r["people"] for r in response.json()["results"]]
        assert [len(p) for p in served] == [len(p) for p in expected] == [4, 2]
        for got, want in zip(served, expected):
            np.testing.assert_allclose([p["box"] for p in got], [v.box for v in want], atol=0.2)
            assert [p["looking"] for p in got] == [v.looking for v in want]
        with ad_video.open("rb") as video:
            report = post(f"{url}/video", files={"video": ("ad.mp4", video)}, timeout=300)
        assert report.status_code == 200 and report.json()["summary"]["peak_audience"] == 4, pod_log("person")
        assert_locked_down("person")
"""The emotion image: OpenCV and ONNX Runtime, no TensorFlow; run read-only as a non-root user
as the rendered staging Deployment, decoding videos and answering what the model
answers in process."""

import json

import cv2
import httpx
import numpy as np
import pytest

from tests.conftest import assert_locked_down, pod_log, podman, post, run_cli, staging_pod
from training.common.images import decode
from training.common.store import get
from training.emotion.serving.analysis import Analyser
from training.emotion.real_faces import photos


@pytest.fixture(scope="module")
def built(emotion_trained):
    return json.loads(run_cli("build", "emotion", "--model", emotion_trained["tag"]).stdout)


@pytest.fixture(scope="module")
def frames() -> dict[str, bytes]:
    return {p.name: cv2.imencode(".jpg", p.rgb[..., ::-1])[1].tobytes() for p in photos() if p.name in ("astronaut", "camera", "coffee")}


def predict(url: str, images: list[bytes]) -> httpx.Response:
    return post(f"{url}/predict", files=[("images", (f"f{i}.jpg", b)) for i, b in enumerate(images)], timeout=60)


def test_image_is_labelled_small_and_holds_no_training_stack(built, emotion_trained):
    labels = json.loads(podman("image", "inspect", "--format", "{{json .Labels}}", built["name"]))
    assert labels["ai.playserve.model"] == emotion_trained["tag"] == built["model_tag"]
    assert 0 < built["size_mb"] < 600  # tensorflow-cpu alone is ~600 MB
    listing = podman("run", "--rm", "--pull=never", built["name"], "python3", "-c",
                     "import importlib.util as u; print([m for m in ('tensorflow', 'keras', 'tf2onnx', 'torch', 'sklearn', 'skimage', 'pytest') if u.find_spec(m)])")
    assert listing.strip() == "[]"


def test_the_rendered_staging_deployment_runs_locked_down_and_answers_as_in_process(built, emotion_trained, frames, session_video, tmp_path):
    with staging_pod("emotion", built["name"], tmp_path) as url:
        response = predict(url, list(frames.values()))
        assert response.status_code == 200, pod_log("emotion")
        analyser = Analyser(get(emotion_trained["tag"]).path)
        expected = [[f.as_dict() for f in analyser.faces(np.asarray(decode(image)))] for image in frames.values()]
        served = [r["faces"] for r in response.json()["results"]]
        assert [len(f) for f in served] == [len(f) for f in expected] == [1, 1, 0]
        for got, want in zip(served[:2], expected[:2]):
            assert got[0]["box"] == want[0]["box"] and got[0]["dominant"] == want[0]["dominant"]
            assert got[0]["emotions"] == want[0]["emotions"]
        with session_video.open("rb") as video:
            report = post(f"{url}/report", files={"video": ("s.mp4", video)}, timeout=300)
        assert report.status_code == 200 and report.json()["summary"]["faces_tracked"] == 4, pod_log("emotion")
        assert_locked_down("emotion")
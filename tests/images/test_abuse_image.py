"""The abuse image: ONNX Runtime and the Redis client, no torch and no scikit-learn; run as the
rendered staging Deployment (read-only, non-root) by `podman kube play`, scoring windows as the
model does in process. The pod has no Redis beside it here (the cluster's runs from the official
image, which cannot be pulled on this machine), which shows the degraded mode: scoring works,
the event endpoints answer 503 naming the store, and the pod stays ready."""

import json

import httpx
import numpy as np
import pandas as pd
import pytest

from tests.conftest import assert_locked_down, podman, post, run_cli, staging_pod
from training.abuse.serving.features import FEATURES
from training.abuse.serving.scorer import Scorer
from training.common.store import get


@pytest.fixture(scope="module")
def built(abuse_trained):
    return json.loads(run_cli("build", "abuse", "--model", abuse_trained["tag"]).stdout)


def test_image_is_labelled_small_and_holds_no_training_stack(built, abuse_trained):
    labels = json.loads(podman("image", "inspect", "--format", "{{json .Labels}}", built["name"]))
    assert labels["ai.playserve.model"] == abuse_trained["tag"] == built["model_tag"]
    assert 0 < built["size_mb"] < 450  # torch alone is over 1 GB
    listing = podman("run", "--rm", "--pull=never", built["name"], "python3", "-c",
                     "import importlib.util as u; print([m for m in ('torch', 'sklearn', 'tensorflow', 'lightgbm', 'pytest') if u.find_spec(m)])")
    assert listing.strip() == "[]"


def test_kube_play_scores_as_in_process_and_answers_503_without_its_store(built, abuse_trained, abuse_table, tmp_path):
    table = pd.read_parquet(abuse_table).head(20)
    expected = Scorer(get(abuse_trained["tag"]).path).score(table[FEATURES].to_numpy(np.float32))
    with staging_pod("abuse", built["name"], tmp_path) as url:
        response = post(f"{url}/score", json={"windows": table[["user_id", *FEATURES]].to_dict(orient="records")}, timeout=60)
        assert response.status_code == 200, response.text
        np.testing.assert_allclose([r["score"] for r in response.json()], expected.score, rtol=1e-5, atol=1e-6)
        event = {"user_id": "u1", "time": 60, "kind": "reward", "gain": 25}
        ingest = post(f"{url}/events", json={"events": [event]}, timeout=60)
        assert ingest.status_code == 503 and "feature store unavailable" in ingest.text and ingest.headers["retry-after"] == "5"
        assert httpx.get(f"{url}/readyz", timeout=10).status_code == 200
        assert_locked_down("abuse")

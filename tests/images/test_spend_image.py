"""The spend image: built offline from the pinned model, pushed to a real registry, run by podman
read-only as a non-root user, answering the same predictions as the model in process."""

import json
import os
import re
import subprocess

import httpx
import numpy as np
import pytest

from playserve.images import image_exists
from playserve.services import free_port
from tests.conftest import REPO, assert_locked_down, pod_log, podman, post, run_cli, staging_pod
from training.spend import data
from training.spend.scoring import load


@pytest.fixture(scope="module")
def built(trained):
    return json.loads(run_cli("build", "spend", "--model", trained.model.tag).stdout)


def test_image_is_tagged_and_labelled(built, trained):
    version = trained.model.version
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True).stdout.strip()
    assert re.fullmatch(rf"{version}-[0-9a-f]{{7}}", built["tag"]) and built["tag"].endswith(head[:7])
    labels = json.loads(podman("image", "inspect", "--format", "{{json .Labels}}", built["name"]))
    assert labels["ai.playserve.model"] == trained.model.tag
    assert labels["org.opencontainers.image.revision"].startswith(head)
    assert labels["org.opencontainers.image.source"] and labels["org.opencontainers.image.created"]
    # The first target was 400 MB (393 without bytecode); the bytecode of the modules a start imports
    # adds ~30 MB and halves the image's cold start (6.5 -> 3.3 s, load/results/images.md).
    assert 0 < built["size_mb"] < 430


def test_image_holds_no_training_stack(built):
    listing = podman("run", "--rm", "--pull=never", built["name"], "python3", "-c",
                     "import importlib.util as u; print([m for m in ('sklearn', 'torch', 'tensorflow', 'pytest') if u.find_spec(m)])")
    assert listing.strip() == "[]"


def test_image_holds_bytecode_for_what_a_start_imports_only(built):
    """The root is read-only where the image runs, so bytecode written by the build's warm-up start
    is all there is (playserve/image_warm_up.py)."""
    check = ("import importlib.util as u, os; print([os.path.exists(u.cache_from_source(u.find_spec(m).origin)) "
             "for m in ('bentos.spend.service', 'pandas', 'lightgbm', 'uvicorn.protocols.http.httptools_impl', 'scipy.optimize')])")
    found = podman("run", "--rm", "--pull=never", "--workdir", "/home/bentoml/bento/src", built["name"], "python3", "-c", check)
    assert found.strip() == "[True, True, True, True, False]"  # the last one a spend server never imports


def test_image_parses_http_with_httptools(built):
    """uvicorn's httptools protocol imports in the image (without it uvicorn falls back to h11)."""
    version = podman("run", "--rm", "--pull=never", built["name"], "python3", "-c",
                     "import httptools, uvicorn.protocols.http.httptools_impl; print(httptools.__version__)")
    assert version.strip() == "0.8.0"


def test_push_then_deploy_the_real_image(built, tmp_path):
    env = {**os.environ, "PLAYSERVE_HOME": str(tmp_path / "home")}
    registry = json.loads(run_cli("registry", "up", "--port", str(free_port()), env=env).stdout)["registry"]
    try:
        pushed = json.loads(run_cli("push", "spend", "--image", built["tag"], "--registry", registry).stdout)
        assert pushed["pushed"] == f"{registry}/playserve/spend:{built['tag']}"
        clone = tmp_path / "clone"
        subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True)
        result = subprocess.run([str(REPO / ".venv/bin/playserve"), "deploy", "spend", "--env", "staging", "--image", built["tag"], "--registry", registry],
                                cwd=clone, capture_output=True, text=True,
                                env={**os.environ, "GIT_AUTHOR_NAME": "CI", "GIT_AUTHOR_EMAIL": "ci@playserve.test",
                                     "GIT_COMMITTER_NAME": "CI", "GIT_COMMITTER_EMAIL": "ci@playserve.test"})
        assert result.returncode == 0, result.stderr
        message = subprocess.run(["git", "log", "-1", "--format=%B"], cwd=clone, capture_output=True, text=True).stdout
        assert built["model_tag"] in message and "Metrics: RMSE " in message and "payer AUC " in message  # spend's own, from the model store
    finally:
        run_cli("registry", "down", env=env)


def test_push_of_an_image_not_built_is_refused():
    result = run_cli("push", "spend", "--image", "nosuchversion-0000000", check=False)
    assert result.returncode == 2 and "not built here" in result.stderr


def test_build_of_an_unknown_model_is_refused():
    result = run_cli("build", "nosuch", check=False)
    assert result.returncode == 2 and "unknown model" in result.stderr


def test_the_rendered_staging_deployment_runs_locked_down_and_predicts_as_in_process(built, trained, tmp_path):
    with staging_pod("spend", built["name"], tmp_path) as url:
        frame = data.generate(300, seed=8).frame
        users = {"users": json.loads(frame.to_json(orient="records"))}
        assert httpx.post(f"{url}/predict", json=users, timeout=30).status_code == 401  # the mounted keys file holds
        response = post(f"{url}/predict", json=users, timeout=30)
        assert response.status_code == 200, pod_log("spend")
        expected, _ = load(trained.model.tag)[1].predict(frame)
        np.testing.assert_allclose([r["expected_spend"] for r in response.json()], expected, rtol=1e-9)
        # The image's own Parquet reader (not the training stack's) reads a pyarrow-written file.
        table = post(f"{url}/predict_table", files={"table": ("users.parquet", frame.to_parquet())}, timeout=30)
        assert table.status_code == 200, pod_log("spend")
        np.testing.assert_allclose(table.json()["expected_spend"], expected, rtol=1e-9)
        assert_locked_down("spend")

def test_a_push_while_the_registry_is_down_fails_with_the_reason_and_changes_nothing(built):
    down = f"127.0.0.1:{free_port()}"
    before = subprocess.run(["git", "status", "--porcelain"], cwd=REPO, capture_output=True, text=True).stdout
    result = run_cli("push", "spend", "--image", built["tag"], "--registry", down, check=False)
    assert result.returncode == 2 and f"push to {down} failed, nothing changed" in result.stderr and "connection refused" in result.stderr.lower()
    assert image_exists(built["name"])  # the local image is still there
    assert subprocess.run(["git", "status", "--porcelain"], cwd=REPO, capture_output=True, text=True).stdout == before

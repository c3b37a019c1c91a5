"""ci/release.sh as the merge-to-main job runs it, in a clone whose origin is a bare repository
standing in for the git host, against a real local registry: train with the gate, build, push
the image and the toolbox, and push a branch holding exactly one staging bump commit."""

import json
import os
import subprocess

from playserve.images import TOOLBOX_TAG
from playserve.registry import tags
from playserve.services import free_port
from tests.conftest import PLAYSERVE, REPO, run_cli


def test_release_script_end_to_end(tmp_path):
    origin, work = tmp_path / "origin.git", tmp_path / "work"
    subprocess.run(["git", "clone", "-q", "--bare", str(REPO), str(origin)], check=True)
    subprocess.run(["git", "clone", "-q", str(origin), str(work)], check=True)
    registry_env = {**os.environ, "PLAYSERVE_HOME": str(tmp_path / "home")}
    registry = json.loads(run_cli("registry", "up", "--port", str(free_port()), env=registry_env).stdout)["registry"]
    try:
        env = {**os.environ, "PLAYSERVE": PLAYSERVE, "PLAYSERVE_REGISTRY": registry, "BENTOML_HOME": str(tmp_path / "bentoml"),
               "GIT_AUTHOR_NAME": "CI", "GIT_AUTHOR_EMAIL": "ci@playserve.test", "GIT_COMMITTER_NAME": "CI", "GIT_COMMITTER_EMAIL": "ci@playserve.test"}
        result = subprocess.run(["ci/release.sh", "spend"], cwd=work, capture_output=True, text=True, env=env, timeout=900)
        assert result.returncode == 0, result.stdout + result.stderr
        trained = json.loads((work / "runs/release-spend.json").read_text())
        [tag] = tags(registry, "spend")
        assert trained["passed_gate"] and tag.startswith(trained["tag"].split(":")[1] + "-")
        assert tags(registry, "toolbox") == [TOOLBOX_TAG]
        branch = f"deploy/spend-staging-{tag}"
        subjects = subprocess.run(["git", "log", "--format=%s", f"main..{branch}"], cwd=origin, capture_output=True, text=True, check=True).stdout
        assert subjects.splitlines() == [f"deploy(spend): staging unreleased -> {tag}"]
    finally:
        run_cli("registry", "down", env=registry_env)

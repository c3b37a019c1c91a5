"""The Argo pipeline steps' image: built offline like the base, holding every command the rendered
steps call, at the tag the committed WorkflowTemplate names."""

import json

import yaml

from playserve.images import run
from tests.conftest import REPO, run_cli


def test_toolbox_holds_what_the_pipeline_steps_call():
    built = json.loads(run_cli("build", "toolbox").stdout)
    template = yaml.safe_load((REPO / "ci/argo/spend-training-workflowtemplate.yaml").read_text())
    step_images = {t["container"]["image"] for t in template["spec"]["templates"] if "container" in t}
    assert step_images == {f"{{{{workflow.parameters.registry}}}}/playserve/toolbox:{built['tag']}"}
    check = ("for c in bash git buildah podman skopeo runc debootstrap uv; do command -v $c >/dev/null || echo missing $c; done;"
             " python3 -m pip --version >/dev/null || echo missing pip; python3 -m venv /tmp/v || echo missing venv; uv --version")
    found = run("podman", "run", "--rm", "--pull=never", built["name"], "bash", "-c", check)
    setup_uv = next(line for line in (REPO / "ci/setup.sh").read_text().splitlines() if line.startswith("UV_VERSION="))
    assert "missing" not in found and found.strip().startswith("uv " + setup_uv.split("=")[1]), found

"""checkov over what the clusters run: every rendered overlay and the namespaces. Zero failed
checks; each skipped one carries its reason in the manifest; and the scan does catch a breach."""

import copy
import json

import yaml

from playserve.manifests import REPO_ROOT, render, scan_rendered
from tests.conftest import run_cli


def test_every_overlay_passes_and_every_exception_is_justified_inline():
    result = run_cli("scan", check=False)
    summary = json.loads(result.stdout)
    assert result.returncode == 0 and summary["failed"] == summary["skipped_without_reason"] == 0, result.stderr
    assert summary["passed"] > 1000 and summary["resources"] >= 80
    assert summary["skipped_checks"] == ["CKV_K8S_15", "CKV_K8S_43"]  # pull policy and image digest, reasons beside them
    assert "skipped CKV_K8S_43 Deployment.playserve-prod.spend: playserve deploy pins the image by digest" in result.stderr


def test_the_scan_fails_a_deployment_that_runs_as_root_and_writable(tmp_path):
    deployment = next(o for o in render(REPO_ROOT / "manifests/overlays/staging/spend") if o["kind"] == "Deployment")
    broken = copy.deepcopy(deployment)
    pod = broken["spec"]["template"]["spec"]
    pod["securityContext"] = {"runAsUser": 0}
    pod["containers"][0]["securityContext"] = {"privileged": True}
    (tmp_path / "broken.yaml").write_text(yaml.safe_dump(broken))
    failed = {check.split()[0] for check in scan_rendered(tmp_path).failed}
    assert {"CKV_K8S_16", "CKV_K8S_22", "CKV_K8S_23", "CKV_K8S_28"} <= failed  # privileged, writable root, root, capabilities

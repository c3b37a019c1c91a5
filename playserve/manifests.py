"""Prove the manifests valid without a cluster: render every overlay and argocd/ with
`kubectl kustomize`, then check every object against its schema — core kinds with
kubernetes-validate, custom resources with the CRD schemas in ../shared/schemas/crds; and scan
what the clusters run (the overlays and the namespaces) with checkov."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import jsonschema
import kubernetes_validate
import yaml

from playserve.paths import REPO_ROOT

KUBERNETES_VERSION = "1.32.0"  # the kubectl client on this machine; bump both together
CRD_SCHEMAS = REPO_ROOT.parent / "shared" / "schemas" / "crds"
# Run with uvx in an environment of its own: its pins (boto3, networkx, ...) are not the serving
# stack's. --skip-download: no call home for Prisma Cloud's check metadata (none is reachable here).
CHECKOV = ("uvx", "--from", "checkov==3.3.30", "checkov", "--framework", "kubernetes", "--skip-download", "--output", "json")


@dataclass
class Report:
    rendered: dict[str, int] = field(default_factory=dict)  # target -> objects
    validated: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def objects(self) -> int:
        return sum(self.rendered.values())


def overlays(root: Path = REPO_ROOT) -> list[Path]:
    return sorted(p.parent for p in (root / "manifests" / "overlays").glob("*/*/kustomization.yaml"))


def targets(root: Path = REPO_ROOT) -> list[Path]:
    """Every kustomization that is deployed as a whole: each overlay/<env>/<model>, the namespaces,
    argocd/, the Argo Workflows pipelines in ci/argo/, and monitoring/ (alert rules)."""
    return [*overlays(root), root / "manifests" / "namespaces", root / "argocd", root / "ci" / "argo", root / "monitoring"]


def render(directory: Path) -> list[dict]:
    result = subprocess.run(["kubectl", "kustomize", str(directory)], capture_output=True, text=True)
    if result.returncode != 0:
        raise ValueError(f"{directory}: kustomize failed: {result.stderr.strip()}")
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


@cache
def crd_schema(api_version: str, kind: str) -> dict | None:
    group, _, version = api_version.rpartition("/")
    path = CRD_SCHEMAS / group / f"{kind.lower()}_{version}.json"
    return json.loads(path.read_text()) if group and path.is_file() else None


def validate_object(obj: dict) -> str | None:
    """None when valid, else the problem."""
    api_version, kind = obj.get("apiVersion", ""), obj.get("kind", "")
    group = api_version.rpartition("/")[0]
    if "." in group and not group.endswith(".k8s.io"):  # a custom resource
        schema = crd_schema(api_version, kind)
        if schema is None:
            return f"no schema for {api_version} {kind} in {CRD_SCHEMAS}"
        # Not jsonschema.validate: it first checks the schema itself, and the Prometheus Operator's
        # CRD schemas hold Go regexes such as ^(?i)(abort|warn)?$ that Python's re rejects.
        try:
            jsonschema.validators.validator_for(schema)(schema).validate(obj)
        except jsonschema.ValidationError as error:
            return f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
        return None
    try:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
    except (kubernetes_validate.ValidationError, kubernetes_validate.SchemaNotFoundError) as error:
        return str(getattr(error, "message", error)).splitlines()[0]
    return None


def validate(root: Path = REPO_ROOT) -> Report:
    if not CRD_SCHEMAS.is_dir():
        raise FileNotFoundError(f"CRD schemas not found at {CRD_SCHEMAS}: ../shared must sit beside the repository")
    report = Report()
    for target in targets(root):
        name = str(target.relative_to(root))
        try:
            objects = render(target)
        except ValueError as error:
            report.errors.append(str(error))
            continue
        report.rendered[name] = len(objects)
        for obj in objects:
            problem = validate_object(obj)
            report.validated += 1
            if problem:
                report.errors.append(f"{name}: {obj.get('kind')}/{obj.get('metadata', {}).get('name')}: {problem}")
    return report


@dataclass
class Scan:
    passed: int
    failed: list[str]  # "<check id> <title>: <resource>"
    skipped: dict[str, str]  # "<check id> <resource>" -> the reason written beside it
    resources: int


def scan_rendered(directory: Path) -> Scan:
    """checkov over a folder of rendered manifests."""
    env = {**os.environ, "UV_SYSTEM_CERTS": "1"}  # HTTPS to PyPI goes through this network's proxy
    result = subprocess.run([*CHECKOV, "--directory", str(directory)], capture_output=True, text=True, env=env)
    try:
        reports = json.loads(result.stdout)
    except ValueError:
        raise RuntimeError(f"checkov exited {result.returncode} without a report: {result.stderr.strip()[-2000:]}") from None
    reports = reports if isinstance(reports, list) else [reports]
    checks = [check for report in reports for outcome in ("failed_checks", "skipped_checks")
              for check in report.get("results", {}).get(outcome, [])]
    return Scan(
        passed=sum(report["summary"]["passed"] for report in reports),
        failed=[f"{c['check_id']} {c['check_name']}: {c['resource']}" for c in checks if c["check_result"]["result"] == "FAILED"],
        skipped={f"{c['check_id']} {c['resource']}": c["check_result"].get("suppress_comment") or ""
                 for c in checks if c["check_result"]["result"] == "SKIPPED"},
        resources=sum(report["summary"]["resource_count"] for report in reports),
    )


def security_scan(root: Path = REPO_ROOT) -> Scan:
    """Every overlay and the namespaces, rendered as Argo CD would apply them, scanned."""
    with tempfile.TemporaryDirectory(prefix="playserve-scan-") as tmp:
        for target in [*overlays(root), root / "manifests" / "namespaces"]:
            name = "-".join(target.relative_to(root / "manifests").parts)
            (Path(tmp) / f"{name}.yaml").write_text(yaml.safe_dump_all(render(target)))
        return scan_rendered(Path(tmp))

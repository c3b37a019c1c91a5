"""Prove the manifests valid without a cluster: render every overlay and argocd/ with
`kubectl kustomize`, then check every object against its schema — core kinds with
kubernetes-validate, custom resources with the CRD schemas in ../shared/schemas/crds."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import jsonschema
import kubernetes_validate
import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]
KUBERNETES_VERSION = "1.32.0"  # the kubectl client on this machine; bump both together
CRD_SCHEMAS = REPO_ROOT.parent / "shared" / "schemas" / "crds"


@dataclass
class Report:
    rendered: dict[str, int] = field(default_factory=dict)  # target -> objects
    validated: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def objects(self) -> int:
        return sum(self.rendered.values())


def targets(root: Path = REPO_ROOT) -> list[Path]:
    """Every kustomization that is deployed as a whole: each overlay/<env>/<model>, argocd/, the
    Argo Workflows pipelines in ci/argo/, and monitoring/ (alert rules)."""
    overlays = sorted(p.parent for p in (root / "manifests" / "overlays").glob("*/*/kustomization.yaml"))
    return [*overlays, root / "argocd", root / "ci" / "argo", root / "monitoring"]


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

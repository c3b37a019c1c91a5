"""Each model's kustomizations from its spec: `manifests/base/<model>/` is the one model-service shape
(`manifests/base/model-service/`) renamed and given the model's values, and
`manifests/overlays/<env>/<model>/` patches only the environment's replicas and pod size. The
overlay's `images:` block belongs to `playserve deploy`/`promote`/`rollback`: generation keeps
the tag and digest the file has."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from playserve import catalog
from playserve.paths import REPO_ROOT
from training.common.contract import ENVIRONMENTS, MIB, ModelSpec, Resources, quantity_bytes

SHAPE = "model-service"  # the shared base's resource names
LOCAL_REGISTRY = "127.0.0.1:5000"
LOG_ROOM_MIB = 512  # the container's logs beside the scratch volume  # the overlays' image name until a deploy: the embedded registry


def _ops(*ops: tuple[str, str, object]) -> str:
    """A JSON 6902 patch, one operation per line."""
    return "\n".join("- " + json.dumps({"op": op, "path": path, "value": value}) for op, path, value in ops) + "\n"


def _resources(size: Resources, scratch: str) -> dict:
    """Requests and limits; ephemeral storage is the scratch volume (which it counts) and room for
    the container's logs, so a full scratch volume is the request's 503, not the pod's eviction."""
    return {"requests": {"cpu": size.cpu, "memory": size.memory, "ephemeral-storage": scratch},
            "limits": {"cpu": size.cpu_limit, "memory": size.memory_limit, "ephemeral-storage": ephemeral_limit(scratch)}}


def ephemeral_limit(scratch: str) -> str:
    return f"{quantity_bytes(scratch) // MIB + LOG_ROOM_MIB}Mi"


def base(spec: ModelSpec) -> dict:
    container = "/spec/template/spec/containers/0"
    deployment = [("replace", f"{container}/name", spec.name), ("replace", f"{container}/image", f"playserve/{spec.name}"),
                  ("replace", f"{container}/resources", _resources(spec.resources, spec.scratch)),
                  ("replace", "/spec/template/spec/terminationGracePeriodSeconds", spec.drain_s),
                  ("replace", "/spec/template/spec/volumes/0/emptyDir/sizeLimit", spec.scratch)]
    patches = [
        {"target": {"kind": "Deployment"}, "patch": _ops(*deployment)},
        {"target": {"kind": "HorizontalPodAutoscaler"}, "patch": _ops(("replace", "/spec/scaleTargetRef/name", spec.name))},
        {"target": {"kind": "ServiceMonitor"}, "patch": _ops(("replace", "/spec/selector/matchLabels/app.kubernetes.io~1name", spec.name))},
    ]
    if spec.sticky_sessions_s:
        patches.append({"target": {"kind": "Service"}, "patch": _ops(
            ("add", "/spec/sessionAffinity", "ClientIP"),
            ("add", "/spec/sessionAffinityConfig", {"clientIP": {"timeoutSeconds": spec.sticky_sessions_s}}))})
    patches.append({"target": {"name": SHAPE}, "options": {"allowNameChange": True}, "patch": _ops(("replace", "/metadata/name", spec.name))})
    kustomization = {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization", "resources": [f"../{SHAPE}"]}
    if "redis" in spec.components:
        kustomization["components"] = ["../../components/redis-client"]
    kustomization["labels"] = [{"pairs": {"app.kubernetes.io/name": spec.name, "app.kubernetes.io/part-of": "playserve"}, "includeSelectors": True}]
    kustomization["patches"] = patches
    return kustomization


def overlay(spec: ModelSpec, env: str) -> dict:
    scaling = spec.scaling[env]
    patches = [{"target": {"kind": "HorizontalPodAutoscaler", "name": spec.name},
                "patch": _ops(("replace", "/spec/minReplicas", scaling.min_replicas), ("replace", "/spec/maxReplicas", scaling.max_replicas))}]
    if scaling.resources:
        patches.append({"target": {"kind": "Deployment", "name": spec.name},
                        "patch": _ops(("replace", "/spec/template/spec/containers/0/resources", _resources(scaling.resources, spec.scratch)))})
    resources = [f"../../../base/{spec.name}"] + ([f"../../../base/{spec.name}-redis"] if "redis" in spec.components else [])
    return {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization", "namespace": f"playserve-{env}",
            "resources": resources, "patches": patches}


def images_block(spec: ModelSpec, env: str, current: str | None) -> str:
    """The overlay's images: block: the one the file has (deploys write its tag and digest), or a new
    model's first, unreleased one."""
    if current and "\nimages:\n" in current:
        return "images:\n" + current.split("\nimages:\n", 1)[1]
    verb = f"playserve deploy {spec.name} --env staging" if env == "staging" else f"playserve promote {spec.name} --from staging --to prod"
    return (f"images:\n  - name: playserve/{spec.name}\n    newName: {LOCAL_REGISTRY}/playserve/{spec.name}\n"
            f"    newTag: unreleased  # set by `{verb}`\n")


def files(root: Path = REPO_ROOT) -> dict[Path, str]:
    """Every model's generated kustomizations (path under root -> text)."""
    header = "# Generated by `playserve generate` from training/{name}/spec.py; do not edit{rest}.\n"
    out = {}
    for spec in catalog.models().values():
        out[Path(f"manifests/base/{spec.name}/kustomization.yaml")] = (
            header.format(name=spec.name, rest="") + f"# The {spec.name} service: the one shape in base/{SHAPE}/ with its values.\n" + _yaml(base(spec)))
        for env in ENVIRONMENTS:
            path = Path(f"manifests/overlays/{env}/{spec.name}/kustomization.yaml")
            current = (root / path).read_text() if (root / path).is_file() else None
            out[path] = (header.format(name=spec.name, rest=" but the images: block, which `playserve deploy` writes")
                         + f"# {spec.name} in {env}: only its replicas and pod size differ from the base.\n"
                         + _yaml(overlay(spec, env)) + images_block(spec, env, current))
    return out


class _Dumper(yaml.SafeDumper):
    """Multi-line strings (the patches) as literal blocks, so the file reads like a hand-written one."""


_Dumper.add_representer(str, lambda dumper, text: dumper.represent_scalar("tag:yaml.org,2002:str", text, style="|" if "\n" in text else None))


def _yaml(document: dict) -> str:
    return yaml.dump(document, Dumper=_Dumper, sort_keys=False, width=1000)

"""The model contract: what a model tells the platform about itself. A model is two folders,
`training/<model>/` and `bentos/<model>/`; in the first, `spec.py` holds `SPEC = ModelSpec(...)` and
`commands.py` the model's own command-line verbs (`data`, `train`, `predict`, `serve`, and any of
`report` or extra top-level commands in `EXTRA_COMMANDS`). Its `train()` with no arguments trains on
the defaults and returns a `training.common.store.TrainOutcome`. Everything shared (the CLI, the
local launcher, images, manifests, dashboards, alert rules, pipelines, CI) reads these through
`playserve.catalog` instead of a list of names of its own. Plain data: a spec module imports
nothing heavier than this."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ENVIRONMENTS = ("staging", "prod")
MIB = 1024 * 1024
PRE_STOP_S = 5  # the Deployment's preStop pause: endpoints drop the pod before it stops taking requests
DRAIN_MARGIN_S = 10


@dataclass(frozen=True)
class Route:
    path: str  # as BentoML serves it: "/predict", "/report/html"
    interactive: bool = True  # a caller waits on it, so the latency objective applies; bulk routes take seconds by design
    errors: tuple[int, ...] = ()  # statuses it answers beyond every protected route's (its OpenAPI document lists them)
    media_type: str = "application/json"  # of its answer, as its OpenAPI document declares it


@dataclass(frozen=True)
class Metric:
    """A headline figure of a registered model, read from its metadata (the training report)."""
    path: tuple[str, ...]  # keys into the metadata: ("metrics", "rmse")
    label: str  # what tables and commit messages call it
    better: Literal["higher", "lower", "closer to 1"]

    def read(self, metadata: dict) -> float | None:
        value = metadata
        for key in self.path:
            if not isinstance(value, dict) or key not in value:
                return None
            value = value[key]
        return float(value) if isinstance(value, (int, float)) else None


@dataclass(frozen=True)
class Resources:
    """One pod's requests and limits, in Kubernetes quantities."""
    cpu: str
    memory: str
    cpu_limit: str
    memory_limit: str


@dataclass(frozen=True)
class Scaling:
    """Replicas in one environment (a HorizontalPodAutoscaler's bounds) and its pods' size."""
    min_replicas: int
    max_replicas: int
    resources: Resources | None = None  # None: the model's base resources


@dataclass(frozen=True)
class ModelSpec:
    name: str  # the model's folder under training/ and bentos/, its store name and its image name
    service: str  # the BentoML service, "module:Class"
    port: int  # where `playserve up` serves it on 127.0.0.1 by default (3000, 3001, ... in catalog order)
    summary: str  # one line: what it is for
    routes: tuple[Route, ...]
    latency_objective_s: float  # p99 of the interactive routes, alerted on
    input_kind: Literal["table", "images", "video", "events"]
    metrics: tuple[Metric, ...]  # headline metrics, shown by `playserve models` and in deploy commits
    resources: Resources
    scaling: dict[str, Scaling]  # per environment in ENVIRONMENTS
    examples: tuple[str, ...]  # shell commands that call it; {url} is the service's address, $KEY the caller's API key
    components: tuple[str, ...] = ()  # services it needs beside it: "redis"
    scratch: str = "1Gi"  # the pod's writable /tmp (uploads in flight, Prometheus' multiprocess files)
    timeout_s: int = 60  # the longest a request may run: past it the service answers 504
    sticky_sessions_s: int | None = None  # a caller's requests go to one pod for this long (state kept in the pod's memory)

    @property
    def drain_s(self) -> int:
        """How long a stopping pod may finish the requests it has (terminationGracePeriodSeconds):
        the preStop pause, the longest request and a margin, so a drain never cuts one off."""
        return PRE_STOP_S + self.timeout_s + DRAIN_MARGIN_S

    @property
    def version_env(self) -> str:
        """The environment variable that pins which model version the service loads."""
        return f"PLAYSERVE_{self.name.upper()}_MODEL"

    def headline(self, metadata: dict) -> dict[str, float]:
        """The headline metrics a registered model's metadata holds, by label."""
        read = {metric.label: metric.read(metadata) for metric in self.metrics}
        return {label: value for label, value in read.items() if value is not None}

    def headline_text(self, metadata: dict) -> str:
        """"RMSE 1,234 (lower is better), payer AUC 0.912 (higher is better)"; "" when it holds none."""
        return ", ".join(f"{metric.label} {value:,.4g} ({metric.better} is better)"
                         for metric in self.metrics if (value := metric.read(metadata)) is not None)

    @property
    def interactive_routes(self) -> list[str]:
        return [route.path for route in self.routes if route.interactive]

    def __post_init__(self):
        if set(self.scaling) != set(ENVIRONMENTS):
            raise ValueError(f"{self.name}: scaling must name exactly {', '.join(ENVIRONMENTS)}")
        if not self.interactive_routes:
            raise ValueError(f"{self.name}: at least one route must be interactive (the latency objective needs one)")


def quantity_bytes(quantity: str) -> int:
    """A Kubernetes binary quantity ("512Mi", "4Gi") in bytes."""
    units = {"Ki": 1024, "Mi": MIB, "Gi": 1024 * MIB}
    return int(quantity[:-2]) * units[quantity[-2:]] if quantity[-2:] in units else int(quantity)

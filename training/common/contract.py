"""The model contract: what a model tells the platform about itself, in `training/<model>/spec.py`
as `SPEC = ModelSpec(...)`. Everything shared (the CLI, the local launcher, images, and in time the
manifests, dashboards and alert rules) reads these through `playserve.catalog` instead of a list of
names of its own. Plain data: a spec module imports nothing heavier than this."""

from __future__ import annotations

from dataclasses import dataclass

FIRST_LOCAL_PORT = 3000


@dataclass(frozen=True)
class ModelSpec:
    name: str  # the model's folder under training/ and bentos/, its store name and its image name
    service: str  # the BentoML service, "module:Class"
    port: int  # where `playserve up` serves it on 127.0.0.1 by default (3000, 3001, ... in catalog order)

    @property
    def version_env(self) -> str:
        """The environment variable that pins which model version the service loads."""
        return f"PLAYSERVE_{self.name.upper()}_MODEL"

"""The only list of models: every `training/<model>/spec.py`, found on disk. Imports the specs (and,
when asked, a model's commands) and nothing else of the project, so every other module can sit above it."""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from functools import cache
from pathlib import Path

from playserve.paths import REPO_ROOT
from training.common.contract import ModelSpec


def discover(root: Path) -> dict[str, ModelSpec]:
    """The spec of every model folder under root/training, by name, in port order."""
    specs = [_load(path) for path in sorted((root / "training").glob("*/spec.py"))]
    taken = [spec.port for spec in specs]
    if len(set(taken)) != len(taken):
        raise ValueError(f"training/*/spec.py: two models share a port ({sorted(taken)})")
    return {spec.name: spec for spec in sorted(specs, key=lambda s: s.port)}


def _load(path: Path) -> ModelSpec:
    module_spec = importlib.util.spec_from_file_location(f"training.{path.parent.name}.spec", path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    spec = getattr(module, "SPEC", None)
    if not isinstance(spec, ModelSpec):
        raise ValueError(f"training/{path.parent.name}/spec.py: no SPEC = ModelSpec(...)")
    if spec.name != path.parent.name:
        raise ValueError(f"training/{path.parent.name}/spec.py: SPEC.name is {spec.name!r}, its folder {path.parent.name!r}")
    return spec


@cache
def models() -> dict[str, ModelSpec]:
    """This repository's models."""
    return discover(REPO_ROOT)


def names() -> list[str]:
    return list(models())


def spec(name: str) -> ModelSpec:
    try:
        return models()[name]
    except KeyError:
        raise ValueError(f"model: unknown model {name!r}; known: {', '.join(models())}") from None


VERBS = ("data", "train", "predict", "serve")  # every model has these; `report` and top-level extras are optional


def commands(name: str) -> dict[str, Callable]:
    """The model's command-line verbs, from `training/<name>/commands.py`'s COMMANDS."""
    return importlib.import_module(f"training.{spec(name).name}.commands").COMMANDS


def extra_commands(name: str) -> dict[str, Callable]:
    """Top-level commands a model adds (spend: `nudge-effect`)."""
    return getattr(importlib.import_module(f"training.{spec(name).name}.commands"), "EXTRA_COMMANDS", {})

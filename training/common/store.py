"""The model store is BentoML's: versioned models labelled with git sha, data hash and stage.

BENTOML_HOME decides where the store lives (BentoML's default: ~/bentoml).
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import bentoml
import pandas as pd
from bentoml.exceptions import NotFound

from playserve.paths import REPO_ROOT
from training.common import integrity

STAGE_CANDIDATE = "candidate"  # passed the quality gate; deployment stages are set by git (GitOps)


def git_sha(root: Path = REPO_ROOT) -> str:
    """The commit the code was trained from; '-dirty' when the work tree has changes."""
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{sha}-dirty" if dirty else sha


def data_hash(frame: pd.DataFrame) -> str:
    """Content hash of a table (values and column names), independent of file format."""
    digest = hashlib.sha256(",".join(map(str, frame.columns)).encode())
    digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def folder_hash(folder: Path) -> str:
    """Content hash of a folder of training files (relative names and bytes)."""
    digest = hashlib.sha256()
    for path in sorted(Path(folder).rglob("*")):
        if path.is_file():
            digest.update(str(path.relative_to(folder)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


@dataclass(frozen=True)
class TrainOutcome:
    """What every model's training returns: its report (metrics, baselines, the gate's verdict,
    everything its card says), the model it registered (None when the gate refused it) and the run's
    folder of card and metrics."""
    report: dict  # holds "gate_failures" (empty: passed) and "passed_gate"
    model: StoredModel | None
    run_dir: Path

    @property
    def gate_failures(self) -> list[str]:
        return self.report["gate_failures"]

    @property
    def passed(self) -> bool:
        return not self.gate_failures


@dataclass(frozen=True)
class StoredModel:
    tag: str
    version: str
    created: str
    labels: dict[str, str]
    metadata: dict
    path: Path

    @property
    def name(self) -> str:
        return self.tag.split(":", 1)[0]


def register(
    name: str,
    write: Callable[[Path], None],
    labels: dict[str, str],
    metadata: dict,
    model_card: Callable[[str], str],
) -> StoredModel:
    """Save a model's files (``write`` fills the directory), labels, metadata and the model card
    that ``model_card`` renders for the new version."""
    with bentoml.models.create(name, labels=labels, metadata=without_none(metadata)) as model:
        directory = Path(model.path)
        write(directory)
        (directory / "model_card.md").write_text(model_card(model.tag.version))
        model.info.metadata[integrity.METADATA_KEY] = integrity.digests(directory)  # services check them before loading
    return get(str(model.tag))


def without_none(value):
    """BentoML's metadata takes no None (an unevaluated model's metrics, an absent column): left out."""
    if isinstance(value, dict):
        return {k: without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_none(v) for v in value if v is not None]
    return value


def _stored(model) -> StoredModel:
    info = model.info
    return StoredModel(
        tag=str(model.tag),
        version=model.tag.version,
        created=info.creation_time.isoformat(timespec="seconds"),
        labels=dict(info.labels),
        metadata=dict(info.metadata),
        path=Path(model.path),
    )


def get(tag: str) -> StoredModel:
    """A stored model by ``name:version`` or ``name:latest``; raises bentoml's NotFound."""
    return _stored(bentoml.models.get(tag))


def list_models(name: str | None = None) -> list[StoredModel]:
    """Newest first; empty when the store has none (of that name)."""
    try:
        models = [_stored(m) for m in bentoml.models.list(name)]
    except NotFound:
        return []
    return sorted(models, key=lambda m: m.created, reverse=True)


def record_run(runs_dir: Path, name: str, stored: StoredModel | None, report: dict, model_card: Callable[[str], str]) -> Path:
    """The run's record beside the store: runs/<name>/<version, or rejected-<time>>/ with its model
    card and metrics.json (the report, plus the tag and this folder, which are added to it)."""
    run_dir = Path(runs_dir) / name / (stored.version if stored else "rejected-" + datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S"))
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "model_card.md").write_text(model_card(stored.version if stored else "(not registered)"))
    report |= {"tag": stored.tag if stored else None, "run_dir": str(run_dir)}
    (run_dir / "metrics.json").write_text(json.dumps(report, indent=2))
    return run_dir

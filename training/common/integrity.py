"""Each registered model's files with their SHA-256, recorded in its metadata at registration and
checked by a service before it loads the model: a truncated, altered or missing file stops the
service from starting (it never becomes ready) instead of serving wrong answers."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

METADATA_KEY = "file_sha256"
BENTOML_RECORD = "model.yaml"  # BentoML's own record of the model, which holds the digests

logger = logging.getLogger(__name__)


class IntegrityError(RuntimeError):
    pass


def digests(directory: Path) -> dict[str, str]:
    """Relative path -> SHA-256 of every file of a model but BentoML's record."""
    found = {}
    for path in sorted(Path(directory).rglob("*")):
        if path.is_file() and path.name != BENTOML_RECORD:
            digest = hashlib.sha256()
            with path.open("rb") as file:
                for block in iter(lambda: file.read(1 << 20), b""):
                    digest.update(block)
            found[str(path.relative_to(directory))] = digest.hexdigest()
    return found


def problems(directory: Path, expected: dict[str, str]) -> list[str]:
    actual = digests(directory)
    return ([f"{name}: missing" for name in sorted(expected.keys() - actual.keys())]
            + [f"{name}: not the registered file (SHA-256 differs)" for name in sorted(expected.keys() & actual.keys())
               if actual[name] != expected[name]]
            + [f"{name}: not registered" for name in sorted(actual.keys() - expected.keys())])


def verified(model):
    """A bentoml Model whose files are the ones registered, or IntegrityError naming each difference.
    Models registered before digests were recorded are served with a warning."""
    expected = model.info.metadata.get(METADATA_KEY)
    if expected is None:
        logger.warning("%s has no recorded file digests (registered before they were); its files are not checked", model.tag)
        return model
    found = problems(Path(model.path), expected)
    if found:
        raise IntegrityError(f"model {model.tag} in {model.path} is corrupt, not serving it: {'; '.join(found)}")
    return model

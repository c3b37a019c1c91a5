"""Where things are: the repository (the code, manifests and generated files) and this machine's
local state. The one place either is defined; it imports nothing of the project."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
HOME = Path(os.environ.get("PLAYSERVE_HOME", Path.home() / ".playserve"))  # local state: registry, Prometheus, caches, keys

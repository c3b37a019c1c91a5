"""What every benchmark records about its run, and where it writes its results."""

from __future__ import annotations

import json
import os
import platform
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def run_facts(command: str) -> dict:
    return {
        "when": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}",
        "command": command,
    }


def write(name: str, report: dict, render: Callable[[dict], str], directory: Path = RESULTS) -> None:
    """<directory>/<name>.json and <name>.md (load/results/ by default), and the table on stdout."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{name}.json").write_text(json.dumps(report, indent=2))
    (directory / f"{name}.md").write_text(render(report))
    print(render(report))

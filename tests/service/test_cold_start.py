"""Cold start: BentoML's supervisor imports each service module only to read the service, before any
worker starts, so what that import costs delays every replica's readiness. The heavy libraries a
worker needs are named lazily (training/common/lazy.py) and loaded in the worker's __init__."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from tests.conftest import REPO, start_server, stop_server, workers

WORKER_ONLY = ["pandas", "redis", "onnxruntime", "lightgbm", "fastparquet", "sklearn", "scipy"]


def imported_by_the_supervisor(module: str, env: dict[str, str]) -> list[str]:
    """What importing the service module imports of WORKER_ONLY, as BentoML's supervisor does it."""
    check = f"import sys, {module}; print(__import__('json').dumps([m for m in {WORKER_ONLY!r} if m in sys.modules]))"
    result = subprocess.run([sys.executable, "-c", check], env={**os.environ, **env}, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout)


@pytest.mark.parametrize("model", ["spend", "abuse"])
def test_the_supervisor_imports_no_worker_library(model, trained, abuse_trained):
    tag = {"spend": str(trained.model.tag), "abuse": abuse_trained["tag"]}[model]
    assert imported_by_the_supervisor(f"bentos.{model}.service", {f"PLAYSERVE_{model.upper()}_MODEL": tag}) == []


def test_the_worker_loads_them_before_it_is_ready(trained, tmp_path):
    """A worker that left pandas to its first request would spend ~0.5 s of that request importing it."""
    server = start_server("spend", str(trained.model.tag), tmp_path / "spend.log")
    try:
        spend_workers = workers(server)
        assert len(spend_workers) == 2
        # /readyz answers once one worker is; the other may still be starting. No request that
        # needs them is sent, so what a worker has mapped it loaded at its start.
        deadline = time.monotonic() + 60
        for worker in spend_workers:
            # the compiled parts of pandas and LightGBM are mapped into a worker once it has imported
            # them; scikit-learn's never are (LightGBM would import it, the image has none)
            while not {"pandas/_libs", "lib_lightgbm"} <= mapped(worker) and time.monotonic() < deadline:
                time.sleep(0.2)
            assert {"pandas/_libs", "lib_lightgbm"} <= mapped(worker) and "sklearn" not in open(f"/proc/{worker.pid}/maps").read()
    finally:
        stop_server(server.process)


def mapped(worker) -> set[str]:
    """Which of pandas' and LightGBM's compiled parts the worker has mapped."""
    maps = open(f"/proc/{worker.pid}/maps").read()
    return {part for part in ("pandas/_libs", "lib_lightgbm") if part in maps}

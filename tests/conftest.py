"""Shared fixtures. The model store is a fresh temporary BENTOML_HOME for the whole run:
set before anything imports bentoml, which reads it once."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

os.environ["BENTOML_HOME"] = tempfile.mkdtemp(prefix="playserve-test-store-")
os.environ.setdefault("BENTOML_DO_NOT_TRACK", "true")

REPO = Path(__file__).resolve().parents[1]
PLAYSERVE = str(Path(sys.executable).with_name("playserve"))


def run_cli(*args: str, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run([PLAYSERVE, *args], capture_output=True, text=True, cwd=kwargs.pop("cwd", REPO), **kwargs)
    if check and result.returncode != 0:
        raise AssertionError(f"playserve {' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
    return result


@pytest.fixture(scope="session")
def population():
    from training.spend.data import DEFAULT_USERS, generate

    return generate(DEFAULT_USERS, seed=0)


@pytest.fixture(scope="session")
def trained(population, tmp_path_factory):
    """The spend model trained on the synthetic default and registered in the test store."""
    from training.common.store import data_hash
    from training.spend import pipeline
    from training.spend.train import TrainConfig

    ref = pipeline.DataRef(source=f"tests: generate({len(population.frame)}, seed=0)", synthetic=True, hash=data_hash(population.frame))
    outcome = pipeline.run(population.frame, ref, TrainConfig(), tmp_path_factory.mktemp("runs"), lambda _: None)
    assert outcome.model is not None, outcome.result.gate_failures
    return outcome


class Server:
    def __init__(self, process: subprocess.Popen, url: str, log: Path):
        self.process, self.url, self.log = process, url, log


def start_server(model: str, tag: str, log: Path, timeout: float = 90.0) -> Server:
    from playserve.services import free_port, wait_until_ok

    port = free_port()
    process = subprocess.Popen([PLAYSERVE, "serve", model, "--port", str(port), "--model", tag],
                               stdout=log.open("w"), stderr=subprocess.STDOUT, cwd=REPO)
    url = f"http://127.0.0.1:{port}"
    if wait_until_ok(f"{url}/readyz", timeout, alive=lambda: process.poll() is None):
        return Server(process, url, log)
    stop_server(process)
    raise RuntimeError(f"server not ready in {timeout}s (exit code {process.returncode}):\n{log.read_text()}")


def stop_server(process: subprocess.Popen) -> None:
    from playserve.services import stop

    stop(process)


@pytest.fixture(scope="session")
def spend_server(trained, tmp_path_factory):
    server = start_server("spend", trained.model.tag, tmp_path_factory.mktemp("server") / "spend.log")
    yield server
    stop_server(server.process)

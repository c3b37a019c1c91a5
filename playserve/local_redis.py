"""A real Redis on 127.0.0.1 (Debian's redis-server), in memory only: the abuse scorer's online
feature store for the run command's embedded default and the tests."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import redis

from playserve.services import stop

ENV = "PLAYSERVE_REDIS_URL"  # where the abuse service finds its store


def command(directory: Path, port: int) -> list[str]:
    binary = shutil.which("redis-server")
    if binary is None:
        raise FileNotFoundError("redis-server not found: ci/setup.sh installs Debian's redis-server package")
    # no persistence: the windows are rebuilt from the event stream; a restart starts them afresh
    return [binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no",
            "--dir", str(directory), "--protected-mode", "yes"]


def wait_for(url: str, seconds: float, alive) -> bool:
    client = redis.Redis.from_url(url, socket_timeout=1)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and alive():
        try:
            return bool(client.ping())
        except redis.ConnectionError:
            time.sleep(0.1)
    return False


@contextmanager
def running(directory: Path, port: int) -> Iterator[str]:
    """Redis for as long as the block runs; yields its URL, stops it by PID afterwards."""
    directory.mkdir(parents=True, exist_ok=True)
    log = directory / "redis.log"
    with log.open("w") as output:
        process = subprocess.Popen(command(directory, port), stdout=output, stderr=subprocess.STDOUT)
    url = f"redis://127.0.0.1:{port}/0"
    try:
        if not wait_for(url, 30, alive=lambda: process.poll() is None):
            raise RuntimeError(f"redis-server did not start on {url} (is the port free?):\n{log.read_text()[-2000:]}")
        yield url
    finally:
        stop(process)

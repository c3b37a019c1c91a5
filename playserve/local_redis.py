"""A real Redis on 127.0.0.1 (Debian's redis-server) with a password made for the run: the abuse
scorer's online feature store for the run command's embedded default and the tests.

Accepted events are kept: an append-only file in the run's folder, synced every second, survives a
restart. The store is bounded (MAXMEMORY) and never evicts: when full it refuses writes, which the
service answers 503 with nothing written and counts for the FeatureStoreFull alert, instead of
silently dropping a live user's windows."""

from __future__ import annotations

import re
import secrets
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import redis

from playserve.api_keys import write_private
from playserve.services import stop

ENV = "PLAYSERVE_REDIS_URL"  # where the abuse service finds its store (a password in it, or in PASSWORD_FILE_ENV's file)
PASSWORD_FILE_ENV = "PLAYSERVE_REDIS_PASSWORD_FILE"
MAXMEMORY = "256mb"  # ~150,000 users' windows on one machine


def command(directory: Path, port: int, password: str) -> list[str]:
    binary = shutil.which("redis-server")
    if binary is None:
        raise FileNotFoundError("redis-server not found: ci/setup.sh installs Debian's redis-server package")
    config = directory / "redis.conf"  # the password in a private file, not on the command line
    write_private(config, f"requirepass {password}\n")
    return [binary, str(config), "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "yes",
            "--appendfsync", "everysec", "--maxmemory", MAXMEMORY, "--maxmemory-policy", "noeviction",
            "--dir", str(directory), "--protected-mode", "yes"]


def masked(url: str) -> str:
    """A Redis URL fit to print: without its password."""
    return re.sub(r"//:[^@]*@", "//:***@", url)


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
    """Redis for as long as the block runs; yields its URL (with the password), stops it by PID afterwards."""
    directory.mkdir(parents=True, exist_ok=True)
    password = secrets.token_urlsafe(24)
    log = directory / "redis.log"
    with log.open("w") as output:
        process = subprocess.Popen(command(directory, port, password), stdout=output, stderr=subprocess.STDOUT)
    url = f"redis://:{password}@127.0.0.1:{port}/0"
    try:
        if not wait_for(url, 30, alive=lambda: process.poll() is None):
            raise RuntimeError(f"redis-server did not start on {masked(url)} (is the port free?):\n{log.read_text()[-2000:]}")
        yield url
    finally:
        stop(process)

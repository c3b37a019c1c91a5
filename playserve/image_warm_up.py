"""Run inside an image build (`playserve build`): start the image's server once, with bytecode
writing on, until /readyz answers, then stop it.

The image's root is read-only when it runs, so Python could never cache bytecode there: every start
would compile every module the supervisor and its workers import (spend: ready in ~6.5 s instead of
~3). Compiling the whole environment instead would add ~60 MB; this writes bytecode for exactly the
modules a start imports. Standard library only: it runs in the image's Python before anything else.

    python image_warm_up.py SERVICE
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

READY_TIMEOUT_S = 300  # without bytecode a start is slow, and the build machine may be busy
KEYS_ENV = "PLAYSERVE_API_KEYS_FILE"
# a client whose key no one has (no SHA-256 input is known for this digest): services never start without keys
NOBODY = "build-warm-up sha256:" + "0" * 64 + " *\n"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as answer:
            return answer.status == 200
    except OSError:
        return False


def seconds_to_ready(url: str, started: float, alive, timeout: float) -> float | None:
    """Seconds since `started` (time.monotonic) to the first 200 from `url`, polled every 50 ms;
    None once `alive()` is False or `timeout` has passed. `alive` is asked at most once a second
    (asking podman costs a process)."""
    checked = started
    while time.monotonic() - started <= timeout:
        if ready(url):
            return time.monotonic() - started
        if time.monotonic() - checked >= 1:
            if not alive():
                return None
            checked = time.monotonic()
        time.sleep(0.05)
    return None


def scratch_home(home: Path, scratch: Path) -> Path:
    """A BentoML home that shares the image's models: what the server writes (its Prometheus
    files) stays out of the image."""
    scratch.mkdir()
    (scratch / "models").symlink_to(home / "models")
    return scratch


def warm_up(service: str) -> float:
    with tempfile.TemporaryDirectory() as scratch:
        keys = Path(scratch) / "keys"
        keys.write_text(NOBODY)
        env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
        env[KEYS_ENV] = str(keys)
        env["BENTOML_HOME"] = str(scratch_home(Path(os.environ["BENTOML_HOME"]), Path(scratch) / "home"))
        port = free_port()
        started = time.monotonic()
        server = subprocess.Popen([sys.executable, "-m", "bentoml", "serve", service, "--host", "127.0.0.1", "--port", str(port)], env=env)
        try:
            seconds = seconds_to_ready(f"http://127.0.0.1:{port}/readyz", started, lambda: server.poll() is None, READY_TIMEOUT_S)
            if seconds is None:
                raise SystemExit(f"warm-up: {service} was not ready (exit code {server.poll()})")
            return seconds
        finally:
            server.terminate()
            server.wait(timeout=60)


if __name__ == "__main__":
    print(f"warm-up: {sys.argv[1]} ready in {warm_up(sys.argv[1]):.1f} s; its modules' bytecode is written")

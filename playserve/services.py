"""Where each model's BentoML service lives and how to start it on 127.0.0.1."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
SERVICES = {"spend": "bentos.spend.service:Spend"}
MODEL_ENV = {"spend": "PLAYSERVE_SPEND_MODEL"}  # which model version a service loads
HOME = Path(os.environ.get("PLAYSERVE_HOME", Path.home() / ".playserve"))  # local state: registry, Prometheus, caches


def wait_until_ok(url: str, timeout: float, alive: Callable[[], bool] = lambda: True) -> bool:
    """Poll GET ``url`` until it answers 200; False on timeout or once ``alive()`` is False."""
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and alive():
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve_command(model: str, port: int) -> list[str]:
    if model not in SERVICES:
        raise ValueError(f"model: unknown model {model!r}; known: {', '.join(SERVICES)}")
    return [sys.executable, "-m", "bentoml", "serve", SERVICES[model], "--working-dir", str(REPO_ROOT),
            "--host", "127.0.0.1", "--port", str(port)]


def serve_env(model: str, tag: str, batching: bool = True) -> dict[str, str]:
    from bentos.common import batching as adaptive

    return {**os.environ, MODEL_ENV[model]: tag, adaptive.ENV: "1" if batching else "0"}


def exec_serve(model: str, port: int, tag: str) -> None:
    """Replace this process with the BentoML server, so Ctrl-C and signals reach it directly.

    Checks the tag first: a missing model is a clear error here, not a server crash at start."""
    from training.common.store import get

    command = serve_command(model, port)
    get(tag)
    os.execve(command[0], command, serve_env(model, tag))


def stop(process: subprocess.Popen, timeout: float = 20) -> None:
    """Stop a child by PID: SIGTERM (servers finish in-flight requests), then SIGKILL if it lingers."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def serve_until_stopped(model: str, port: int, tag: str) -> int:
    """Run the BentoML server as a child until it exits or this process is told to stop (Ctrl-C,
    SIGTERM); then stop the child by PID so it finishes in-flight requests. Returns its exit code."""
    from training.common.store import get

    get(tag)  # a missing model is a clear error here, not a server crash at start
    process = subprocess.Popen(serve_command(model, port), env=serve_env(model, tag))
    signal.signal(signal.SIGTERM, lambda *_: process.terminate())
    try:
        return process.wait()
    except KeyboardInterrupt:  # the terminal sent SIGINT to the child as well
        stop(process, timeout=60)
        return process.returncode


def how_to_call(model: str, port: int) -> str:
    url = f"http://127.0.0.1:{port}"
    return f"""serving {model} on {url}  (OpenAPI docs: {url}/docs, metrics: {url}/metrics)
call it:
  curl -s {url}/predict -H 'content-type: application/json' -d @bentos/spend/example_request.json
  python -c "import httpx, json; print(httpx.post('{url}/predict', json=json.load(open('bentos/spend/example_request.json'))).json())"
bulk: curl -s {url}/predict_table -F table=@users.parquet   (make one: playserve data spend --out users.parquet)
"""

"""Where each model's BentoML service lives and how to start it on 127.0.0.1."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from playserve import catalog
from playserve.paths import REPO_ROOT



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
    return [sys.executable, "-m", "bentoml", "serve", catalog.spec(model).service, "--working-dir", str(REPO_ROOT),
            "--host", "127.0.0.1", "--port", str(port)]


def serve_env(model: str, tag: str, batching: bool = True, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The server's environment: this one's, the model version, the batching switch, its own BentoML
    home, the API keys file, and `extra` (the abuse scorer's PLAYSERVE_REDIS_URL)."""
    from bentos.common import auth
    from bentos.common import batching as adaptive
    from playserve.api_keys import serving_keys

    return {**os.environ, catalog.spec(model).version_env: tag, adaptive.ENV: "1" if batching else "0", "BENTOML_HOME": str(server_home()),
            auth.ENV: str(serving_keys()[0]), **(extra or {})}


def server_home() -> Path:
    """A BENTOML_HOME of this server's own that shares the model store. BentoML empties
    $BENTOML_HOME/prometheus_multiproc_dir when a server starts, so two local servers on one home
    would wipe each other's metrics; in the cluster each pod has its own anyway."""
    from bentoml._internal.configuration.containers import BentoMLContainer

    store_home = Path(BentoMLContainer.bentoml_home.get())
    home = Path(tempfile.mkdtemp(prefix="playserve-server-"))
    for shared in ("models", "bentos"):
        (store_home / shared).mkdir(parents=True, exist_ok=True)
        (home / shared).symlink_to(store_home / shared)
    return home


def exec_serve(model: str, port: int, tag: str, extra: dict[str, str] | None = None) -> None:
    """Replace this process with the BentoML server, so Ctrl-C and signals reach it directly.

    Checks the tag first: a missing model is a clear error here, not a server crash at start."""
    from training.common.store import get

    command = serve_command(model, port)
    get(tag)
    print(how_to_authenticate(), file=sys.stderr, flush=True)
    os.execve(command[0], command, serve_env(model, tag, extra=extra))


def stop(process: subprocess.Popen, timeout: float = 20) -> None:
    """Stop a child by PID: SIGTERM (servers finish in-flight requests), then SIGKILL if it lingers."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class Stopped(Exception):
    """SIGTERM reached `up`: whatever it was doing (training, waiting) ends, and its servers stop."""


class Fleet:
    """Local BentoML servers as children of this process, started one at a time (`up` starts each
    model as soon as it has a version) and stopped together by PID, so they finish in-flight
    requests. `extra` is more environment for some models only (the Redis URL, with its password,
    goes to the models that use it)."""

    def __init__(self, extra: dict[str, dict[str, str]] | None = None):
        self.extra = extra or {}
        self.processes: dict[str, subprocess.Popen] = {}

    def __enter__(self) -> Fleet:
        signal.signal(signal.SIGTERM, self._stop_requested)
        return self

    def __exit__(self, *_) -> None:
        for stop_signal in (signal.SIGTERM, signal.SIGINT):  # a second one must not cut the stopping short
            signal.signal(stop_signal, signal.SIG_IGN)
        for process in self.processes.values():
            stop(process, timeout=60)

    @staticmethod
    def _stop_requested(*_) -> None:
        raise Stopped

    def start(self, model: str, port: int, tag: str) -> None:
        from training.common.store import get

        get(tag)  # a missing model is a clear error here, not a server crash at start
        self.processes[model] = subprocess.Popen(serve_command(model, port), env=serve_env(model, tag, extra=self.extra.get(model)))

    def ended(self) -> int | None:
        """The exit code of a server that has ended, else None."""
        return next((p.returncode for p in self.processes.values() if p.poll() is not None), None)

    def wait(self) -> int:
        """Until a server ends (its exit code) or this process is told to stop (Ctrl-C, SIGTERM: 0)."""
        try:
            while (code := self.ended()) is None:
                time.sleep(0.5)
        except (KeyboardInterrupt, Stopped):  # the terminal sent SIGINT to the children as well
            return 0
        return code


def how_to_call(model: str, port: int) -> str:
    """Where it serves and the spec's example calls ($KEY: the caller's API key; how_to_authenticate says where the local one is)."""
    url = f"http://127.0.0.1:{port}"
    examples = "\n".join("  " + example.replace("{url}", url) for example in catalog.spec(model).examples)
    return f"""serving {model} on {url}  (OpenAPI page: {url}/, document: {url}/docs.json, metrics: {url}/metrics)
{examples}
"""


def how_to_authenticate() -> str:
    from playserve.api_keys import serving_keys

    keys_file, key_file = serving_keys()
    if key_file is None:
        return f"API keys: the clients in {keys_file}; send yours as 'Authorization: Bearer <key>' or 'X-API-Key: <key>'"
    return f"API key of the local client: {key_file}  (export KEY=$(cat {key_file}); health and metrics need none)"

"""The embedded OCI registry (Debian's docker-registry on 127.0.0.1) and tag look-ups in any registry."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from playserve.services import wait_until_ok

DEFAULT_REGISTRY = "127.0.0.1:5000"
REGISTRY_ENV = "PLAYSERVE_REGISTRY"
IMAGE_PREFIX = "playserve"  # images are <registry>/playserve/<model>:<tag>


class RegistryError(RuntimeError):
    pass


def registry_address(flag: str | None = None) -> str:
    """The flag, else $PLAYSERVE_REGISTRY, else the embedded registry."""
    return flag or os.environ.get(REGISTRY_ENV) or DEFAULT_REGISTRY


def is_local(registry: str) -> bool:
    """A registry on this machine, spoken to over plain HTTP (no TLS)."""
    return registry.split(":")[0] in ("127.0.0.1", "localhost")


def _base_url(registry: str) -> str:
    return f"{'http' if is_local(registry) else 'https'}://{registry}"


def tags(registry: str, model: str) -> list[str]:
    """Tags of <registry>/playserve/<model>; [] when the repository has none."""
    url = f"{_base_url(registry)}/v2/{IMAGE_PREFIX}/{model}/tags/list"
    try:
        response = httpx.get(url, timeout=10)
    except httpx.HTTPError as error:
        raise RegistryError(f"registry {registry} unreachable ({error.__class__.__name__}); start it with `playserve registry up`") from error
    if response.status_code == 404:
        return []
    if response.status_code != 200:
        raise RegistryError(f"registry {registry} answered {response.status_code} for {url}")
    return response.json().get("tags") or []


MANIFEST_TYPES = ", ".join(("application/vnd.oci.image.manifest.v1+json", "application/vnd.oci.image.index.v1+json",
                            "application/vnd.docker.distribution.manifest.v2+json",
                            "application/vnd.docker.distribution.manifest.list.v2+json"))


def digest(registry: str, model: str, tag: str) -> str:
    """The digest (sha256:...) the registry serves for <registry>/playserve/<model>:<tag>."""
    url = f"{_base_url(registry)}/v2/{IMAGE_PREFIX}/{model}/manifests/{tag}"
    try:
        response = httpx.head(url, headers={"Accept": MANIFEST_TYPES}, timeout=10)
    except httpx.HTTPError as error:
        raise RegistryError(f"registry {registry} unreachable ({error.__class__.__name__}); start it with `playserve registry up`") from error
    found = response.headers.get("docker-content-digest", "")
    if response.status_code != 200 or not found.startswith("sha256:"):
        raise RegistryError(f"registry {registry} gave no digest for {IMAGE_PREFIX}/{model}:{tag} ({response.status_code})")
    return found


@dataclass(frozen=True)
class LocalRegistry:
    """A docker-registry process started by `playserve registry up`, tracked by PID file."""

    home: Path  # storage, config, PID file and log live here
    port: int = 5000

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def pid_file(self) -> Path:
        return self.home / "registry.pid"

    def pid(self) -> int | None:
        try:
            pid = int(self.pid_file.read_text())
            os.kill(pid, 0)
            return pid
        except (FileNotFoundError, ValueError, ProcessLookupError):
            return None

    def up(self, timeout: float = 15.0) -> int:
        if pid := self.pid():
            return pid
        self.home.mkdir(parents=True, exist_ok=True)
        config = self.home / "config.yml"
        config.write_text(
            "version: 0.1\n"
            f"storage:\n  filesystem:\n    rootdirectory: {self.home / 'data'}\n  delete:\n    enabled: true\n"
            f"http:\n  addr: {self.address}\n"
        )
        log = (self.home / "registry.log").open("a")
        process = subprocess.Popen(["docker-registry", "serve", str(config)], stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.pid_file.write_text(str(process.pid))
        if wait_until_ok(f"http://{self.address}/v2/", timeout, alive=lambda: process.poll() is None):
            return process.pid
        if process.poll() is not None:
            raise RegistryError(f"docker-registry exited {process.returncode}; see {self.home / 'registry.log'}")
        self.down()
        raise RegistryError(f"registry on {self.address} not answering after {timeout}s")

    def down(self) -> bool:
        """Stop by PID; False when it was not running."""
        pid = self.pid()
        self.pid_file.unlink(missing_ok=True)
        if pid is None:
            return False
        os.kill(pid, signal.SIGTERM)
        for _ in range(50):
            try:
                if os.waitpid(pid, os.WNOHANG)[0] == pid:  # our own child: reap it
                    return True
            except ChildProcessError:  # started by an earlier command: poll it
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    return True
            time.sleep(0.1)
        os.kill(pid, signal.SIGKILL)
        return True

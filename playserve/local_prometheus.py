"""A real Prometheus on 127.0.0.1 (Debian's package) scraping local services with the alert
rules of monitoring/rules loaded: the run command's embedded default and the live check's."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import yaml

from playserve.monitoring import write_rule_files
from playserve.services import stop, wait_until_ok

LOCAL_NAMESPACE = "playserve-local"  # the environment label dashboards select on, as in the cluster


def config(services: dict[str, int], rules_dir: Path, interval: str) -> dict:
    """Scrape each service's /metrics (model -> port) with the labels a ServiceMonitor would add."""
    return {
        "global": {"scrape_interval": interval, "evaluation_interval": interval},
        "rule_files": [str(rules_dir / "*.yaml")],
        "scrape_configs": [{
            "job_name": "playserve",
            "static_configs": [{"targets": [f"127.0.0.1:{port}"], "labels": {"namespace": LOCAL_NAMESPACE, "pod": f"{model}-local"}}
                               for model, port in services.items()],
        }],
    }


def command(directory: Path, port: int) -> list[str]:
    binary = shutil.which("prometheus")
    if binary is None:
        raise FileNotFoundError("prometheus not found: ci/setup.sh installs Debian's prometheus package")
    return [binary, f"--config.file={directory / 'prometheus.yml'}", f"--storage.tsdb.path={directory / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}", "--storage.tsdb.retention.time=7d", "--web.enable-lifecycle"]


@contextmanager
def running(directory: Path, port: int, services: dict[str, int], interval: str = "15s") -> Iterator[str]:
    """Prometheus for as long as the block runs; yields its URL, stops it by PID afterwards."""
    directory.mkdir(parents=True, exist_ok=True)
    rules_dir = directory / "rules"
    shutil.rmtree(rules_dir, ignore_errors=True)  # no rule file left over from an older checkout
    write_rule_files(rules_dir)
    (directory / "prometheus.yml").write_text(yaml.safe_dump(config(services, rules_dir, interval), sort_keys=False))
    log = directory / "prometheus.log"
    with log.open("w") as output:
        process = subprocess.Popen(command(directory, port), stdout=output, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        if not wait_until_ok(f"{url}/-/ready", 60, alive=lambda: process.poll() is None):
            raise RuntimeError(f"Prometheus did not start on {url} (is the port free?):\n{log.read_text()[-2000:]}")
        yield url
    finally:
        stop(process)

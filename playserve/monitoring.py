"""The alert rules in monitoring/rules/ as Prometheus sees them: each PrometheusRule's spec is a
plain rule file, which promtool checks and tests and the local Prometheus loads."""

from __future__ import annotations

from pathlib import Path

import yaml

from playserve.paths import REPO_ROOT

RULES_DIR = REPO_ROOT / "monitoring" / "rules"
RUNBOOKS_URL = "https://github.com/playserve/playserve/blob/main/monitoring/runbooks/"


def prometheus_rules() -> dict[str, dict]:
    """File name -> PrometheusRule object, for every file in monitoring/rules/."""
    return {path.name: yaml.safe_load(path.read_text()) for path in sorted(RULES_DIR.glob("*-prometheusrule.yaml"))}


def write_rule_files(directory: Path) -> list[Path]:
    """Each PrometheusRule's spec as a plain rule file of the same name in `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, rule in prometheus_rules().items():
        (directory / name).write_text(yaml.safe_dump(rule["spec"], sort_keys=False))
        paths.append(directory / name)
    return paths


def alerts() -> list[dict]:
    return [rule for obj in prometheus_rules().values() for group in obj["spec"]["groups"]
            for rule in group["rules"] if "alert" in rule]

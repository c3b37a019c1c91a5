"""The CI workflow lints clean and wires each event to the scripts a person can run too."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from playserve import catalog
from tests.conftest import REPO

WORKFLOW = REPO / ".github" / "workflows" / "delivery.yml"
ACTIONLINT = str(Path(sys.executable).with_name("actionlint"))


def actionlint(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([ACTIONLINT, "-no-color", str(path)], cwd=REPO, capture_output=True, text=True)


def test_workflow_lints_clean():
    result = actionlint(WORKFLOW)
    assert result.returncode == 0, result.stdout


def test_actionlint_catches_script_injection(tmp_path):
    broken = WORKFLOW.read_text().replace('run: ci/release.sh "$MODEL"', 'run: ci/release.sh "${{ github.event.head_commit.message }}"')
    path = REPO / ".github" / "workflows" / f"broken-{os.getpid()}.yml"
    path.write_text(broken)
    try:
        result = actionlint(path)
    finally:
        path.unlink()
    assert result.returncode == 1 and "untrusted" in result.stdout


def test_events_run_the_scripts():
    workflow = yaml.safe_load(WORKFLOW.read_text())
    triggers = workflow[True]  # PyYAML reads the key `on` as True
    assert set(triggers) == {"pull_request", "push", "workflow_dispatch"} and triggers["push"]["branches"] == ["main"]
    jobs = workflow["jobs"]
    steps = {name: " ".join(step.get("run", "") for step in job["steps"]) for name, job in jobs.items()}
    assert "pull_request" in jobs["test"]["if"] and "./test.sh" in steps["test"] and "playserve validate" in steps["test"]
    assert "playserve scan" in steps["test"]
    assert "push" in jobs["release"]["if"] and "ci/release.sh" in steps["release"]
    assert "workflow_dispatch" in jobs["promote"]["if"] and "ci/open-bump.sh" in steps["promote"] and "prod" in steps["promote"]
    assert all(job.get("timeout-minutes") for job in jobs.values())
    # every served model is released and can be promoted
    assert jobs["release"]["strategy"]["matrix"]["model"] == catalog.names()
    assert triggers["workflow_dispatch"]["inputs"]["model"]["options"] == catalog.names()


@pytest.mark.parametrize("script", ["ci/setup.sh", "ci/release.sh", "ci/open-bump.sh", ".ci/run", "run.sh", "test.sh"])
def test_scripts_are_executable_and_parse(script):
    path = REPO / script
    assert os.access(path, os.X_OK)
    assert subprocess.run(["bash", "-n", str(path)]).returncode == 0


def test_ci_runs_exactly_the_readme_test_command():
    readme = (REPO / "README.md").read_text()
    assert "./test.sh    #" in readme.split("```")[1]
    assert (REPO / ".ci" / "run").read_text().strip().splitlines()[-1] == "./test.sh"

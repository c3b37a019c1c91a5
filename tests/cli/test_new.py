"""`playserve new` in a throwaway copy of this checkout: the scaffold trains, serves, builds and
validates, the tests parametrised over the catalog take it in, and the only existing files it
changed are generated ones."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path
from xml.etree import ElementTree

import httpx
import pytest

from playserve.services import free_port, stop, wait_until_ok
from tests.conftest import AUTH, REPO

NAME = "churn"
PYTHON = sys.executable


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True).stdout


@pytest.fixture(scope="module")
def clone(tmp_path_factory) -> tuple[Path, dict]:
    """This checkout's files (committed or not, as a clean clone of them would have) in a fresh
    repository with ../shared beside it, and the environment its commands run in: its own code
    first on the path, its own model store and local state."""
    top = tmp_path_factory.mktemp("scaffold")
    repo = top / "repo"
    repo.mkdir()
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    archive = top / "files.tar"
    with tarfile.open(archive, "w") as tar:
        for name in filter(None, files.decode().split("\0")):
            if (REPO / name).is_file():
                tar.add(REPO / name, arcname=name)
    with tarfile.open(archive) as tar:
        tar.extractall(repo, filter="tar")
    (top / "shared").symlink_to(REPO.parent / "shared")
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=tests", "-c", "user.email=tests@playserve.invalid", "commit", "-qm", "before playserve new")
    env = {**os.environ, "PYTHONPATH": str(repo), "BENTOML_HOME": str(top / "store"), "PLAYSERVE_HOME": str(top / "home")}
    return repo, env


def cli(clone: tuple[Path, dict], *args: str) -> subprocess.CompletedProcess:
    repo, env = clone
    result = subprocess.run([PYTHON, "-m", "playserve.cli", *args], cwd=repo, env=env, capture_output=True, text=True)
    assert result.returncode == 0, f"playserve {' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def scaffolded(clone) -> dict:
    return json.loads(cli(clone, "new", NAME).stdout)


@pytest.fixture(scope="module")
def trained(clone, scaffolded) -> dict:
    return json.loads(cli(clone, "train", NAME, "--json", "--runs-dir", str(clone[0].parent / "runs")).stdout)


def test_the_scaffold_changes_only_generated_files_beside_its_own_two_folders(clone, scaffolded):
    repo, env = clone
    changed = [line[3:] for line in git(repo, "status", "--porcelain", "--untracked-files=no").splitlines()]
    generated = json.loads(subprocess.run([PYTHON, "-c", "import json; from playserve import generate; "
                                                    "print(json.dumps([str(p) for p in generate.derived()]))"],
                                          cwd=repo, env=env, capture_output=True, text=True, check=True).stdout)
    assert changed and set(changed) <= set(generated), sorted(set(changed) - set(generated))
    new_files = [line[3:] for line in git(repo, "status", "--porcelain", "--untracked-files=all").splitlines() if line.startswith("??")]
    own = [f for f in new_files if f.startswith((f"training/{NAME}/", f"bentos/{NAME}/", f"load/locust/{NAME}.py", f"load/workloads/{NAME}.py"))]
    assert f"bentos/{NAME}/example_request.json" in own and f"training/{NAME}/spec.py" in own
    assert set(new_files) - set(own) <= set(generated)  # its manifests, pipelines and dashboard: generated too
    assert json.loads(cli(clone, "generate", "--check").stdout)["stale"] == []


def test_the_new_model_trains_through_the_gate_and_lists_its_own_metrics(clone, trained):
    assert trained["passed_gate"] and trained["tag"].startswith(f"{NAME}:")
    assert trained["test"]["model"]["roc_auc"] > trained["test"]["majority"]["roc_auc"] + 0.3  # held-out rows of a real table
    listed = [json.loads(line) for line in cli(clone, "models", "--json").stdout.splitlines()]
    assert [m["metrics"] for m in listed if m["tag"] == trained["tag"]] == [{"ROC-AUC": trained["test"]["model"]["roc_auc"],
                                                                             "accuracy": trained["test"]["model"]["accuracy"]}]


def test_the_new_model_serves_its_example_request(clone, trained):
    repo, env = clone
    port = free_port()
    log = repo.parent / "serve.log"
    process = subprocess.Popen([PYTHON, "-m", "playserve.cli", "serve", NAME, "--port", str(port), "--model", trained["tag"]],
                               cwd=repo, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)
    try:
        assert wait_until_ok(f"http://127.0.0.1:{port}/readyz", 120, alive=lambda: process.poll() is None), log.read_text()
        example = (repo / "bentos" / NAME / "example_request.json").read_bytes()
        response = httpx.post(f"http://127.0.0.1:{port}/predict", content=example, timeout=30,
                              headers={**AUTH, "content-type": "application/json"})
        assert response.status_code == 200, response.text
        assert response.json()["model_version"] == trained["tag"] and len(response.json()["predictions"]) == 2
        refused = httpx.post(f"http://127.0.0.1:{port}/predict", json={"rows": [{"mean radius": "big"}]}, headers=AUTH, timeout=30)
        assert refused.status_code == 400 and "mean radius" in refused.text
        stats = repo.parent / "locust"
        load = subprocess.run([str(Path(PYTHON).with_name("locust")), "-f", f"load/locust/{NAME}.py", "--headless", "-u", "4", "-r", "4",
                               "-t", "20s", "--host", f"http://127.0.0.1:{port}", "--csv", str(stats), "--only-summary"],
                              cwd=repo, env=env, capture_output=True, text=True, timeout=120)
        assert load.returncode == 0, load.stderr[-3000:]  # its own load file: every task answered as expected
        aggregated = [row for row in (repo.parent / "locust_stats.csv").read_text().splitlines() if row.split(",")[1] == "Aggregated"]
        # requests, failures (20 s: beside the suite's other servers a 5 s run once sent nothing)
        assert int(aggregated[0].split(",")[2]) > 10 and aggregated[0].split(",")[3] == "0", aggregated
    finally:
        stop(process)


def test_the_new_model_is_benchmarked_by_its_own_workload(clone, trained):
    results = clone[0].parent / "bench"
    cli_result = subprocess.run([PYTHON, "-m", "load.bench", NAME, "--model-tag", trained["tag"], "--requests", "32", "--results", str(results)],
                                cwd=clone[0], env=clone[1], capture_output=True, text=True, timeout=600)
    assert cli_result.returncode == 0, cli_result.stderr[-3000:]
    report = json.loads((results / f"bench-{NAME}.json").read_text())
    assert set(report["modes"]) == {"bare", "batching"} and all(r["errors"] == 0 for rows in report["modes"].values() for r in rows)


def test_the_new_model_builds_an_image_and_its_manifests_validate(clone, trained):
    built = json.loads(cli(clone, "build", NAME).stdout)
    try:
        assert built["model_tag"] == trained["tag"] and built["name"].startswith(f"localhost/playserve/{NAME}:")
    finally:
        subprocess.run(["podman", "rmi", "-f", built["name"]], capture_output=True)
    report = json.loads(cli(clone, "validate").stdout)
    assert report["errors"] == 0 and report["objects_validated"] == report["objects_rendered"]


def test_the_tests_parametrised_over_the_catalog_take_the_new_model_in(clone, scaffolded):
    repo, env = clone
    suites = ["tests/unit/test_catalog.py", "tests/unit/test_generate.py", "tests/manifests/test_manifests.py",
              "tests/service/test_bad_input.py", "tests/service/test_guard_http.py", "tests/monitoring/test_live_prometheus.py"]
    # the model's cases, these three files whole, and the live check's file test (its load runs need every model served)
    chosen = f"{NAME} and not test_live_prometheus or test_catalog or test_generate or test_manifests or locust_file"
    report = repo.parent / "parametrised.xml"
    result = subprocess.run([PYTHON, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-k", chosen, f"--junitxml={report}", *suites],
                            cwd=repo, env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    cases = ElementTree.parse(report).getroot().iter("testcase")
    ran = {(case.get("classname").rsplit(".", 1)[-1], case.get("name")) for case in cases if not list(case)}  # passed: no child element
    for suite in suites:
        module = Path(suite).stem
        if module in ("test_generate", "test_live_prometheus"):  # their tests cover every model of the catalog at once
            assert any(m == module for m, _ in ran), f"{suite} ran nothing"
        else:
            assert any(m == module and f"[{NAME}" in name for m, name in ran), f"{suite} ran no case for {NAME}"

"""The GitOps drill in a temporary clone, against a real local registry: deploy A, deploy B,
roll back; promote; and every refusal leaves the repository as it was."""

import json
import os
import subprocess

import pytest

from playserve.services import free_port
from tests.conftest import PLAYSERVE, REPO, run_cli

TAG_A, TAG_B, TAG_C = "v1aaaaaaaaaaaaaa-1111111", "v2bbbbbbbbbbbbbb-2222222", "v3cccccccccccccc-3333333"
TAG_C_MOVED = "v4dddddddddddddd-4444444"  # pushed again under the same tag by one test


def push_image(registry: str, model: str, tag: str, label: str = "") -> None:
    """A real (empty) OCI image pushed with buildah and skopeo, standing in for a built service."""
    local = f"localhost/playserve-drill/{model}:{tag}"
    container = subprocess.run(["buildah", "from", "scratch"], capture_output=True, text=True, check=True).stdout.strip()
    try:
        subprocess.run(["buildah", "config", "--label", f"org.opencontainers.image.version={tag}{label}", container], check=True)
        subprocess.run(["buildah", "commit", "-q", container, local], check=True, capture_output=True)
    finally:
        subprocess.run(["buildah", "rm", container], capture_output=True)
    subprocess.run(["skopeo", "copy", "-q", "--dest-tls-verify=false", f"containers-storage:{local}",
                    f"docker://{registry}/playserve/{model}:{tag}"], check=True)
    subprocess.run(["buildah", "rmi", local], capture_output=True)


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    home = tmp_path_factory.mktemp("playserve-home")
    env = {**os.environ, "PLAYSERVE_HOME": str(home)}
    port = free_port()
    started = json.loads(run_cli("registry", "up", "--port", str(port), env=env).stdout)
    for tag in (TAG_A, TAG_B, TAG_C_MOVED):
        push_image(started["registry"], "spend", tag)
    yield started["registry"]
    run_cli("registry", "down", env=env)


@pytest.fixture
def clone(tmp_path):
    path = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(REPO), str(path)], check=True)
    for key, value in (("user.email", "drill@playserve.test"), ("user.name", "Drill")):
        subprocess.run(["git", "config", key, value], cwd=path, check=True)
    return path


def served_digest(registry: str, tag: str) -> str:
    from playserve.registry import digest

    return digest(registry, "spend", tag)


def head(repo):
    return subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, check=True).stdout.strip()


def rendered_image(repo, env):
    out = subprocess.run(["kubectl", "kustomize", f"manifests/overlays/{env}/spend"], cwd=repo, capture_output=True, text=True, check=True).stdout
    return next(line.split("image:")[1].strip() for line in out.splitlines() if "image:" in line)


def cli(repo, registry, *args, check=True):
    return run_cli(*args, "--registry", registry, cwd=repo, check=check) if args[0] != "history" else run_cli(*args, cwd=repo, check=check)


def test_deploy_deploy_rollback(clone, registry):
    start = head(clone)
    cli(clone, registry, "deploy", "spend", "--env", "staging", "--image", TAG_A)
    cli(clone, registry, "deploy", "spend", "--env", "staging", "--image", TAG_B)
    assert rendered_image(clone, "staging").endswith(f"/playserve/spend:{TAG_B}@{served_digest(registry, TAG_B)}")
    cli(clone, registry, "rollback", "spend", "--env", "staging")
    assert rendered_image(clone, "staging").endswith(f"/playserve/spend:{TAG_A}@{served_digest(registry, TAG_A)}")

    history = [json.loads(line) for line in cli(clone, registry, "history", "spend", "--env", "staging", "--json").stdout.splitlines()]
    assert [h["tag"] for h in history[:3]] == [TAG_A, TAG_B, TAG_A]
    assert history[0]["subject"].startswith("rollback(spend): staging") and history[2]["subject"].startswith("deploy(spend)")
    log = subprocess.run(["git", "log", f"{start}..HEAD", "--format=%B%x00"], cwd=clone, capture_output=True, text=True).stdout
    commits = [c for c in log.split("\x00") if c.strip()]
    assert len(commits) == 3
    assert all("Playserve-Model: spend" in c and "Playserve-Env: staging" in c and "Model: spend:" in c for c in commits)
    assert "This reverts commit" in commits[0]


def test_promote_copies_the_exact_tag_and_digest(clone, registry):
    cli(clone, registry, "deploy", "spend", "--env", "staging", "--image", TAG_B)
    cli(clone, registry, "promote", "spend", "--from", "staging", "--to", "prod")
    assert rendered_image(clone, "prod") == rendered_image(clone, "staging")
    cli(clone, registry, "deploy", "spend", "--env", "prod", "--image", TAG_A)
    cli(clone, registry, "rollback", "spend", "--env", "prod", "--to", TAG_B)
    assert rendered_image(clone, "prod") == rendered_image(clone, "staging")  # back to the very image


def test_a_tag_pushed_again_is_not_promoted_as_if_it_were_what_staging_ran(clone, registry):
    cli(clone, registry, "deploy", "spend", "--env", "staging", "--image", TAG_C_MOVED)
    push_image(registry, "spend", TAG_C_MOVED, label="rebuilt")  # same tag, another image
    before = head(clone)
    result = cli(clone, registry, "promote", "spend", "--from", "staging", "--to", "prod", check=False)
    assert result.returncode == 2 and "was pushed again" in result.stderr and head(clone) == before


@pytest.mark.parametrize(
    "args, message",
    [
        (["deploy", "spend", "--env", "staging", "--image", TAG_C], "not in the registry"),
        (["deploy", "nosuch", "--env", "staging", "--image", TAG_A], "unknown model"),
        (["deploy", "spend", "--env", "qa", "--image", TAG_A], "unknown environment"),
        (["rollback", "spend", "--env", "prod"], "nothing to roll back"),
        (["rollback", "spend", "--env", "prod", "--to", TAG_B], "never ran"),
    ],
)
def test_refusals_change_nothing(clone, registry, args, message):
    before = head(clone)
    result = cli(clone, registry, *args, check=False)
    assert result.returncode == 2 and message in result.stderr
    assert head(clone) == before
    assert subprocess.run(["git", "status", "--porcelain"], cwd=clone, capture_output=True, text=True).stdout == ""


def test_dirty_tree_and_no_op_are_refused(clone, registry):
    cli(clone, registry, "deploy", "spend", "--env", "staging", "--image", TAG_A)
    again = cli(clone, registry, "deploy", "spend", "--env", "staging", "--image", TAG_A, check=False)
    assert again.returncode == 2 and "already runs" in again.stderr
    (clone / "README.md").write_text("edited\n")
    before = head(clone)
    dirty = cli(clone, registry, "deploy", "spend", "--env", "staging", "--image", TAG_B, check=False)
    assert dirty.returncode == 2 and "uncommitted changes" in dirty.stderr and head(clone) == before


def test_unreachable_registry_is_a_clear_error_and_changes_nothing(clone):
    before = head(clone)
    result = run_cli("deploy", "spend", "--env", "staging", "--image", TAG_A, "--registry", f"127.0.0.1:{free_port()}", cwd=clone, check=False)
    assert result.returncode == 2 and "unreachable" in result.stderr
    assert head(clone) == before and subprocess.run(["git", "status", "--porcelain"], cwd=clone, capture_output=True, text=True).stdout == ""


def test_open_bump_script_pushes_a_branch_with_one_bump_commit(tmp_path, registry):
    """ci/open-bump.sh as CI runs it, against a bare repository standing in for the git host."""
    origin = tmp_path / "origin.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(REPO), str(origin)], check=True)
    work = tmp_path / "work"
    subprocess.run(["git", "clone", "-q", str(origin), str(work)], check=True)
    identity = {"GIT_AUTHOR_NAME": "CI", "GIT_AUTHOR_EMAIL": "ci@playserve.test", "GIT_COMMITTER_NAME": "CI", "GIT_COMMITTER_EMAIL": "ci@playserve.test"}
    env = {**os.environ, **identity, "PLAYSERVE": PLAYSERVE, "PLAYSERVE_REGISTRY": registry, "PATH": "/usr/bin:/bin"}
    result = subprocess.run(["ci/open-bump.sh", "spend", "staging", TAG_A], cwd=work, capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr
    branch = f"deploy/spend-staging-{TAG_A}"
    assert f"open a pull request from {branch}" in result.stdout  # gh is not installed here
    subjects = subprocess.run(["git", "log", "--format=%s", f"main..{branch}"], cwd=origin, capture_output=True, text=True, check=True).stdout
    assert subjects.splitlines() == [f"deploy(spend): staging unreleased -> {TAG_A}"]


def test_open_bump_against_a_conflicting_branch_pushes_nothing_and_restores_the_checkout(tmp_path, registry):
    """Someone else already pushed this bump's branch with another commit (a concurrent deploy):
    the push is rejected, origin keeps their commit, and this checkout is back on main as it was."""
    origin = tmp_path / "origin.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(REPO), str(origin)], check=True)
    identity = {"GIT_AUTHOR_NAME": "CI", "GIT_AUTHOR_EMAIL": "ci@playserve.test", "GIT_COMMITTER_NAME": "CI", "GIT_COMMITTER_EMAIL": "ci@playserve.test"}
    env = {**os.environ, **identity, "PLAYSERVE": PLAYSERVE, "PLAYSERVE_REGISTRY": registry, "PATH": "/usr/bin:/bin"}
    branch = f"deploy/spend-staging-{TAG_A}"
    other = tmp_path / "other"
    subprocess.run(["git", "clone", "-q", str(origin), str(other)], check=True)
    subprocess.run(["git", "switch", "-q", "-c", branch], cwd=other, check=True)
    subprocess.run(["git", "commit", "-q", "--allow-empty", "-m", "someone else's bump"], cwd=other, check=True, env=env)
    subprocess.run(["git", "push", "-q", "origin", branch], cwd=other, check=True)
    theirs = head(other)
    work = tmp_path / "work"
    subprocess.run(["git", "clone", "-q", str(origin), str(work)], check=True)
    before = subprocess.run(["git", "rev-parse", "main"], cwd=work, capture_output=True, text=True, check=True).stdout.strip()
    result = subprocess.run(["ci/open-bump.sh", "spend", "staging", TAG_A], cwd=work, capture_output=True, text=True, env=env)
    assert result.returncode != 0 and "nothing was pushed" in result.stderr and "rejected" in result.stderr
    git = lambda *args: subprocess.run(["git", *args], cwd=work, capture_output=True, text=True, check=True).stdout.strip()  # noqa: E731
    assert git("branch", "--show-current") == "main" and head(work) == before and git("status", "--porcelain") == ""
    assert git("branch", "--list", branch) == ""
    assert subprocess.run(["git", "rev-parse", branch], cwd=origin, capture_output=True, text=True).stdout.strip() == theirs


def test_a_deploy_that_collides_with_another_git_operation_leaves_the_overlay_as_it_was(clone, registry):
    """Another git process holds the index (a concurrent commit): the bump fails with git's reason
    and the overlay, HEAD and the index are as before."""
    overlay = clone / "manifests/overlays/staging/spend/kustomization.yaml"
    before, text = head(clone), overlay.read_text()
    (clone / ".git/index.lock").write_text("")
    result = cli(clone, registry, "deploy", "spend", "--env", "staging", "--image", TAG_A, check=False)
    assert result.returncode == 2 and "index.lock" in result.stderr
    (clone / ".git/index.lock").unlink()
    assert head(clone) == before and overlay.read_text() == text
    assert subprocess.run(["git", "status", "--porcelain"], cwd=clone, capture_output=True, text=True).stdout == ""

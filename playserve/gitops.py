"""Deploy, promote, roll back: each is exactly one git commit that changes an image in an
overlay: its tag, and the digest it had in the registry, so the cluster runs exactly that image
(`name:tag@sha256:...`) even if the tag is pushed again. Nothing here talks to a cluster; Argo CD
syncs whatever main says.

Every bump commit carries trailers (Playserve-Model, Playserve-Env, Playserve-Image), so that
`git log --grep` finds deploys across models; history and rollback follow the overlay's own path.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from playserve import catalog
from training.common.contract import ENVIRONMENTS
TAG_LINE = re.compile(r"^(?P<indent>\s+newTag:\s*)(?P<tag>[^\s#]+)(?P<rest>.*)$", re.MULTILINE)
DIGEST_LINE = re.compile(r"^\s+digest:\s*(?P<digest>sha256:[0-9a-f]{64})\s*\n", re.MULTILINE)


class GitOpsError(RuntimeError):
    """A refused or failed GitOps step; the repository is left as it was."""


def git(repo: Path, *args: str, check: bool = True) -> str:
    result = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True)
    if check and result.returncode != 0:
        raise GitOpsError(f"git {' '.join(args)} failed: {result.stderr.strip() or result.stdout.strip()}")
    return result.stdout


def repo_root(start: Path) -> Path:
    try:
        return Path(git(start, "rev-parse", "--show-toplevel").strip())
    except GitOpsError:
        raise GitOpsError(f"{start} is not inside a git repository") from None


def overlay(repo: Path, model: str, env: str) -> Path:
    """The overlay kustomization of a model in an environment, or a clear refusal."""
    if env not in ENVIRONMENTS:
        raise GitOpsError(f"env: unknown environment {env!r}; known: {', '.join(ENVIRONMENTS)}")
    known = catalog.discover(repo)  # the models of the repository being changed, which may be a clone
    if model not in known:
        raise GitOpsError(f"model: unknown model {model!r}; known: {', '.join(known)}")
    path = repo / "manifests" / "overlays" / env / model / "kustomization.yaml"
    if not path.is_file():
        raise GitOpsError(f"{path.relative_to(repo)}: missing; add the overlay folder for {model} in {env}")
    return path


def read_tag(text: str) -> str:
    found = TAG_LINE.findall(text)
    if len(found) != 1:
        raise GitOpsError(f"expected exactly one images: newTag line, found {len(found)}")
    return found[0][1]


def read_digest(text: str) -> str | None:
    found = DIGEST_LINE.search(text)
    return found["digest"] if found else None


def with_image(text: str, tag: str, digest: str) -> str:
    """The kustomization with its one image at `tag` and `digest` (the digest line right below the tag's)."""
    read_tag(text)  # exactly one
    text = DIGEST_LINE.sub("", text)
    return TAG_LINE.sub(lambda m: f"{m['indent']}{tag}{m['rest']}\n{' ' * (len(m['indent']) - len(m['indent'].lstrip()))}digest: {digest}", text)


def require_clean(repo: Path) -> None:
    if git(repo, "status", "--porcelain", "--untracked-files=no").strip():
        raise GitOpsError("the work tree has uncommitted changes; commit or stash them first")


@dataclass(frozen=True)
class Bump:
    sha: str
    date: str
    author: str
    subject: str
    tag: str


def message(subject: str, body: str, model: str, env: str, image: str) -> str:
    return f"{subject}\n\n{body}\n\nPlayserve-Model: {model}\nPlayserve-Env: {env}\nPlayserve-Image: {image}\n"


def _commit(repo: Path, path: Path, tag: str, digest: str, text: str) -> str:
    original = path.read_text()
    path.write_text(with_image(original, tag, digest))
    try:
        git(repo, "add", str(path))
        git(repo, "commit", "-q", "-m", text)
    except GitOpsError:
        path.write_text(original)
        git(repo, "reset", "-q", "--", str(path), check=False)
        raise
    return git(repo, "rev-parse", "HEAD").strip()


def set_tag(repo: Path, model: str, env: str, tag: str, digest: str, image: str, verb: str, details: str) -> str:
    """One commit moving ``model`` in ``env`` to ``tag`` at ``digest``; refuses a dirty tree or a no-op."""
    require_clean(repo)
    path = overlay(repo, model, env)
    text = path.read_text()
    current = read_tag(text)
    if (current, read_digest(text)) == (tag, digest):
        raise GitOpsError(f"{model} in {env} already runs {tag}; nothing to commit")
    subject = f"{verb}({model}): {env} {current} -> {tag}"
    return _commit(repo, path, tag, digest, message(subject, details, model, env, f"{image}@{digest}"))


def current_image(repo: Path, model: str, env: str) -> tuple[str, str | None]:
    """The tag and digest an environment runs (no digest before the first deploy)."""
    text = overlay(repo, model, env).read_text()
    return read_tag(text), read_digest(text)


def history(repo: Path, model: str, env: str) -> list[Bump]:
    """Every commit that changed the overlay, newest first, with the tag it left behind."""
    path = overlay(repo, model, env).relative_to(repo)
    log = git(repo, "log", "--format=%H%x1f%cI%x1f%an%x1f%s", "--", str(path))
    bumps = []
    for line in log.splitlines():
        sha, date, author, subject = line.split("\x1f")
        bumps.append(Bump(sha, date, author, subject, read_tag(git(repo, "show", f"{sha}:{path}"))))
    return bumps


def rollback(repo: Path, model: str, env: str, image_of, details_of, to: str | None = None) -> str:
    """Without ``to``: `git revert` of the newest commit that changed this overlay's tag.
    With ``to``: a new commit back to that tag at the digest it ran with, which must have run in
    this environment before. ``image_of(tag)`` and ``details_of(tag)`` describe a tag for the
    commit message."""
    require_clean(repo)
    bumps = history(repo, model, env)
    if to is not None:
        ran = [b for b in bumps[1:] if b.tag == to]
        if not ran:
            raise GitOpsError(f"{to} never ran in {env}; see `playserve history {model} --env {env}`")
        path = overlay(repo, model, env).relative_to(repo)
        digest = read_digest(git(repo, "show", f"{ran[0].sha}:{path}"))
        if digest is None:
            raise GitOpsError(f"{to} ran in {env} before digests were recorded; deploy it again with `playserve deploy`")
        return set_tag(repo, model, env, to, digest, image_of(to), "rollback", details_of(to))
    if len(bumps) < 2 or bumps[0].tag == bumps[1].tag:
        raise GitOpsError(f"the newest change to {model} in {env} is not a tag bump; nothing to roll back")
    newest, previous = bumps[0], bumps[1]
    result = subprocess.run(["git", "revert", "--no-commit", newest.sha], cwd=repo, capture_output=True, text=True)
    if result.returncode != 0:
        git(repo, "revert", "--abort", check=False)
        raise GitOpsError(f"git revert {newest.sha[:8]} failed and was aborted: {result.stderr.strip() or result.stdout.strip()}")
    subject = f"rollback({model}): {env} {newest.tag} -> {previous.tag}"
    body = f"This reverts commit {newest.sha}.\n\n{details_of(previous.tag)}"
    try:
        git(repo, "commit", "-q", "-m", message(subject, body, model, env, image_of(previous.tag)))
    except GitOpsError:
        git(repo, "revert", "--abort", check=False)
        raise
    return git(repo, "rev-parse", "HEAD").strip()

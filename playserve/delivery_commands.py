"""Delivery verbs, each one git commit or one image: `playserve build`, `push`, `deploy`, `promote`,
`rollback`, `history`."""

from __future__ import annotations

import json
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from playserve import catalog
from playserve.console import err, fail, progress_display, user_errors

app = typer.Typer()
RegistryOpt = Annotated[Optional[str], typer.Option("--registry", help="host:port; default $PLAYSERVE_REGISTRY or 127.0.0.1:5000.")]
EnvOpt = Annotated[str, typer.Option("--env", help="staging or prod.")]


@contextmanager
def gitops_errors():
    from playserve.gitops import GitOpsError
    from playserve.registry import RegistryError

    try:
        yield
    except (GitOpsError, RegistryError) as error:
        raise fail(str(error)) from None


def _repo() -> Path:
    from playserve.gitops import repo_root

    return repo_root(Path.cwd())


def _image(model: str, tag: str, registry: str) -> str:
    from playserve.registry import IMAGE_PREFIX

    return f"{registry}/{IMAGE_PREFIX}/{model}:{tag}"


def _details(model: str, tag: str, registry: str) -> str:
    """Model version, image and key metrics for a commit message; the tag is <version>-<git sha>."""
    from bentoml.exceptions import NotFound

    from training.common.store import get

    version = tag.rsplit("-", 1)[0]
    lines = [f"Model: {model}:{version}", f"Image: {_image(model, tag, registry)}"]
    try:
        lines.append("Metrics: " + (catalog.spec(model).headline_text(get(f"{model}:{version}").metadata) or "none recorded"))
    except (NotFound, ValueError):
        lines.append(f"Metrics: {model}:{version} is not in this machine's model store")
    return "\n".join(lines)


def _move_tag(model: str, env: str, tag: str, registry: str, verb: str, note: str = "", expected_digest: str | None = None) -> str:
    """The one commit behind deploy and promote, after checking the image is in the registry; the
    overlay gets the digest the registry serves for the tag (promote: the one the source runs,
    which the registry must still serve)."""
    from playserve import gitops
    from playserve.registry import digest, tags

    if tag not in tags(registry, model):
        raise gitops.GitOpsError(f"image: {_image(model, tag, registry)} is not in the registry; build and push it first")
    served = digest(registry, model, tag)
    if expected_digest and served != expected_digest:
        raise gitops.GitOpsError(f"image: {_image(model, tag, registry)} now points to {served}, not the {expected_digest} "
                                 "the source environment runs (the tag was pushed again); deploy a new build instead")
    return gitops.set_tag(_repo(), model, env, tag, served, _image(model, tag, registry), verb, note + _details(model, tag, registry))


@app.command("build")
def build(
    model: Annotated[str, typer.Argument(help="Model name, e.g. spend.")],
    model_tag: Annotated[str, typer.Option("--model", help="Model version to pin; default the newest.")] = "",
):
    """bentoml build pinned to one model version, then an OCI image (offline; tag <version>-<git sha>).
    `playserve build toolbox` builds the Argo pipeline steps' image instead."""
    from playserve import images

    if model not in (*catalog.models(), "toolbox"):
        raise fail(f"model: unknown model {model!r}; known: {', '.join(catalog.names())} (or toolbox)")
    with user_errors(), progress_display(f"building {model}") as report:
        try:
            if model == "toolbox":
                built = {"name": images.build_toolbox(report), "tag": images.TOOLBOX_TAG}
            else:
                built = images.build(model, model_tag or f"{model}:latest", catalog.spec(model).version_env, catalog.spec(model).service, report).__dict__
        except images.BuildError as error:
            raise fail(str(error)) from None
    print(json.dumps(built))


@app.command("push")
def push(
    model: Annotated[str, typer.Argument(help="Model name.")],
    tag: Annotated[str, typer.Option("--image", help="Image tag to push (see `playserve build`).")],
    registry: RegistryOpt = None,
):
    """Copy a locally built image to the registry with skopeo."""
    from playserve import images
    from playserve.registry import is_local, registry_address

    address = registry_address(registry)
    source = f"{images.LOCAL_PREFIX}/{model}:{tag}"
    if not images.image_exists(source):
        raise fail(f"image: {source} is not built here; run `playserve build {model}` first")
    try:
        images.run("skopeo", "copy", "-q", *(["--dest-tls-verify=false"] if is_local(address) else []),
                   f"containers-storage:{source}", f"docker://{_image(model, tag, address)}")
    except images.BuildError as error:
        raise fail(f"push to {address} failed, nothing changed: {error}") from None
    print(json.dumps({"pushed": _image(model, tag, address)}))


@app.command("deploy")
def deploy(
    model: Annotated[str, typer.Argument(help="Model name, e.g. spend.")],
    env: EnvOpt = "staging",
    image: Annotated[Optional[str], typer.Option("--image", help="Image tag <model version>-<git sha>; default: the registry's tag for the newest model in the store.")] = None,
    registry: RegistryOpt = None,
):
    """Commit the image tag into manifests/overlays/<env>/<model> (one commit; never touches a cluster)."""
    from playserve import gitops
    from playserve.registry import registry_address, tags

    address = registry_address(registry)
    with gitops_errors():
        gitops.overlay(_repo(), model, env)  # refuse an unknown model or env before asking the registry
        tag = image or _newest_tag(model, tags(address, model))
        sha = _move_tag(model, env, tag, address, "deploy")
    err.print(f"[green]committed[/] {sha[:8]}: {model} in {env} -> {tag}; Argo CD syncs it once main has it")


def _newest_tag(model: str, available: list[str]) -> str:
    from playserve.gitops import GitOpsError
    from training.common.store import list_models

    stored = list_models(model)
    matching = [t for t in available if stored and t.startswith(stored[0].version + "-")]
    if len(matching) != 1:
        raise GitOpsError(f"image: pass --image; {len(matching)} registry tags match the newest {model} model in the store")
    return matching[0]


@app.command("promote")
def promote(
    model: Annotated[str, typer.Argument(help="Model name.")],
    source: Annotated[str, typer.Option("--from", help="Environment to copy the tag from.")] = "staging",
    target: Annotated[str, typer.Option("--to", help="Environment to promote to.")] = "prod",
    registry: RegistryOpt = None,
):
    """Copy the exact image tag from one environment's overlay to another's (one commit)."""
    from playserve import gitops
    from playserve.registry import registry_address

    address = registry_address(registry)
    with gitops_errors():
        tag, running = gitops.current_image(_repo(), model, source)
        sha = _move_tag(model, target, tag, address, "promote", f"From: {source}\n", expected_digest=running)
    err.print(f"[green]committed[/] {sha[:8]}: {model} {source} -> {target} at {tag}")


@app.command("rollback")
def rollback(
    model: Annotated[str, typer.Argument(help="Model name.")],
    env: EnvOpt = "prod",
    to: Annotated[Optional[str], typer.Option("--to", help="A tag that ran in this environment before; default: the previous one (git revert).")] = None,
    registry: RegistryOpt = None,
):
    """Roll back by commit: `git revert` of the newest bump (Argo CD auto-sync stays on)."""
    from playserve import gitops
    from playserve.registry import registry_address

    address = registry_address(registry)
    with gitops_errors():
        sha = gitops.rollback(_repo(), model, env, lambda t: _image(model, t, address), lambda t: _details(model, t, address), to)
    err.print(f"[green]committed[/] {sha[:8]}: {model} in {env} rolled back")


@app.command("history")
def history(
    model: Annotated[str, typer.Argument(help="Model name.")],
    env: EnvOpt = "prod",
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines.")] = False,
):
    """Deployed versions of a model in an environment, newest first, from git history."""
    from playserve import gitops

    with gitops_errors():
        bumps = gitops.history(_repo(), model, env)
    if as_json:
        for b in bumps:
            print(json.dumps(b.__dict__))
        return
    table = Table(title=f"{model} in {env}")
    for column in ("commit", "date", "author", "tag", "change"):
        table.add_column(column)
    for b in bumps:
        table.add_row(b.sha[:8], b.date, b.author, b.tag, b.subject)
    Console(width=None if sys.stdout.isatty() else 200).print(table)

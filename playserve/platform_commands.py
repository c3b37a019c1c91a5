"""Platform verbs: `playserve models`, `generate`, `new`, `up`, `validate`, `scan`, `keys`, `registry`."""

from __future__ import annotations

import json
import os
import sys
from contextlib import nullcontext
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from playserve import catalog, services
from playserve.console import err, fail, user_errors
from playserve.paths import HOME

app = typer.Typer()
keys_app = typer.Typer(help="API keys of the clients that call the services.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
registry_app = typer.Typer(help="The embedded OCI registry on 127.0.0.1 (Debian's docker-registry).", no_args_is_help=True)
app.add_typer(registry_app, name="registry")
REGISTRY_HOME = HOME / "registry"


@app.command("models")
def models(
    name: Annotated[Optional[str], typer.Argument(help="Only this model.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines instead of a table.")] = False,
):
    """Registered models: version, creation time, git sha, stage and each model's own headline metrics."""
    from training.common.store import list_models

    with user_errors():
        spec = name and catalog.spec(name)  # an unknown name is an error, not an empty table
    stored = [m for m in list_models(name) if m.name in catalog.models()]  # not another project's models in a shared store
    if as_json:
        for m in stored:
            print(json.dumps({"tag": m.tag, "created": m.created, "labels": m.labels, "metrics": catalog.spec(m.name).headline(m.metadata)}))
        return
    table = Table(title=f"models in {os.environ.get('BENTOML_HOME', '~/bentoml')}")
    for column in ("tag", "created", "git sha", "stage", "headline metrics (held out)"):
        table.add_column(column)
    for m in stored:
        table.add_row(m.tag, m.created, m.labels.get("git_sha", "")[:12], m.labels.get("stage", ""), catalog.spec(m.name).headline_text(m.metadata))
    Console(width=None if sys.stdout.isatty() else 200).print(table)  # piped output keeps whole tags
    if not stored:
        err.print(f"no models yet: run `playserve train {spec.name if spec else catalog.names()[0]}`")


@app.command("validate")
def validate():
    """Render every overlay and argocd/ with kubectl kustomize and validate every object offline."""
    from playserve.manifests import KUBERNETES_VERSION
    from playserve.manifests import validate as validate_manifests

    try:
        report = validate_manifests()
    except FileNotFoundError as error:
        raise fail(str(error)) from None
    for target, count in report.rendered.items():
        err.print(f"rendered {target}: {count} objects")
    for problem in report.errors:
        err.print(f"[red]invalid[/] {problem}")
    print(json.dumps({"targets": len(report.rendered), "objects_rendered": report.objects,
                      "objects_validated": report.validated, "errors": len(report.errors),
                      "kubernetes_version": KUBERNETES_VERSION}))
    if report.errors:
        raise typer.Exit(1)


@app.command("scan")
def scan():
    """Scan every rendered overlay and the namespaces with checkov: exit 1 on any failed check;
    each skipped one is listed with the reason written beside it in the manifest."""
    from playserve.manifests import security_scan

    try:
        report = security_scan()
    except (RuntimeError, ValueError) as error:
        raise fail(str(error)) from None
    for check in report.failed:
        err.print(f"[red]failed[/] {check}")
    for check, reason in report.skipped.items():
        err.print(f"skipped {check}: {reason or '[red]no reason given[/]'}")
    print(json.dumps({"resources": report.resources, "passed": report.passed, "failed": len(report.failed),
                      "skipped": len(report.skipped), "skipped_without_reason": sum(not r for r in report.skipped.values()),
                      "skipped_checks": sorted({check.split()[0] for check in report.skipped})}))
    if report.failed or not all(report.skipped.values()):
        raise typer.Exit(1)


@keys_app.command("new")
def keys_new(client: Annotated[str, typer.Argument(help="Name of the calling client (letters, digits, '.', '_', '-').")],
             keys_file: Annotated[Path, typer.Option("--file", help="The keys file to add it to (made if missing).")] = Path("api-keys"),
             allow: Annotated[str, typer.Option("--allow", help="What it may call: '*', models or model/endpoint, comma-separated.")] = "*"):
    """Add a client with a new random key: the file keeps only the key's SHA-256; the key itself is
    printed once, on stdout. Then put the file in the cluster's Secret (the command is printed)."""
    from playserve.api_keys import SECRET, SECRET_KEY, add_client

    with user_errors():
        key = add_client(keys_file, client, allow)
    print(key)
    err.print(f"added {client} (may call {allow}) to {keys_file}. In the cluster, for each namespace:\n"
              f"  kubectl -n playserve-staging create secret generic {SECRET} --from-file={SECRET_KEY}={keys_file} "
              "--dry-run=client -o yaml | kubectl apply -f -")


@registry_app.command("up")
def registry_up(port: Annotated[int, typer.Option("--port", help="Port on 127.0.0.1.")] = 5000):
    """Start the local registry (idempotent); storage in ~/.playserve/registry or $PLAYSERVE_HOME."""
    from playserve.registry import LocalRegistry, RegistryError

    local = LocalRegistry(REGISTRY_HOME, port)
    try:
        pid = local.up()
    except (RegistryError, OSError) as error:
        raise fail(str(error)) from None
    print(json.dumps({"registry": local.address, "pid": pid, "storage": str(local.home / "data")}))


@registry_app.command("down")
def registry_down():
    """Stop the local registry started by `registry up` (by PID)."""
    from playserve.registry import LocalRegistry

    err.print("stopped" if LocalRegistry(REGISTRY_HOME).down() else "not running")


@app.command("generate")
def generate(check: Annotated[bool, typer.Option("--check", help="Change nothing; exit 1 if a generated file is stale.")] = False):
    """Write every file derived from the model specs: dashboards, the latency alert, Argo pipelines,
    the kustomizations that list them and the CI delivery matrix."""
    from playserve import generate as generated

    files = generated.derived()  # rendered once: the check, the writes and the count use it
    changed = generated.stale(files=files) if check else generated.write(files=files)
    for path in changed:
        err.print(f"{'stale' if check else 'wrote'} {path}")
    print(json.dumps({"generated": len(files), "stale" if check else "written": [str(p) for p in changed]}))
    if check and changed:
        raise fail("generated files are stale: run `playserve generate`", code=1)


@app.command("new")
def new(name: Annotated[str, typer.Argument(help="The model's name: lowercase letters and digits.")]):
    """Scaffold a working model (a tabular classifier on a data set scikit-learn ships) in
    training/NAME/ and bentos/NAME/, then write every derived file (`playserve generate`)."""
    from playserve import scaffold

    with user_errors():
        written = scaffold.new(name)
    for path in written:
        err.print(f"wrote {path}")
    err.print(f"next: playserve train {name} && playserve serve {name}")
    print(json.dumps({"model": name, "written": [str(p) for p in written]}))


@app.command("up")
def up(port: Annotated[int, typer.Option("--port", help="Port of the first model on 127.0.0.1; the next models take the ports after it.")] = 3000,
       prometheus_port: Annotated[int, typer.Option("--prometheus-port", help="Port of the local Prometheus on 127.0.0.1.")] = 9090,
       redis_port: Annotated[int, typer.Option("--redis-port", help="Port of the local Redis (for the models whose spec needs one) on 127.0.0.1.")] = 6379,
       models: Annotated[str, typer.Option("--models", help="Comma-separated models to serve.")] = ",".join(catalog.names())):
    """The embedded default: serve each model the store has a version of at once, then train the
    others one by one (wallhack: ~20 min on 2 cores, once), serving each as soon as it is registered;
    with a local Prometheus scraping them with the alert rules loaded, and a Redis if a model's spec
    needs one (the abuse scorer's online features; Ctrl-C stops everything)."""
    from playserve import local_prometheus, local_redis
    from training.common.store import list_models

    chosen = [m.strip() for m in models.split(",") if m.strip()]
    unknown = [m for m in chosen if m not in catalog.models()]
    if unknown or not chosen:
        raise fail(f"models: unknown model(s) {', '.join(unknown) or '(none given)'}; known: {', '.join(catalog.names())}")
    ports = {model: port + i for i, model in enumerate(chosen)}
    untrained = [model for model in chosen if not list_models(model)]
    needs_redis = [model for model in ports if "redis" in catalog.spec(model).components]
    try:
        with local_prometheus.running(HOME / "prometheus", prometheus_port, ports) as prometheus, \
                (local_redis.running(HOME / "redis", redis_port) if needs_redis else nullcontext()) as redis_url, \
                services.Fleet({model: {local_redis.ENV: redis_url} for model in needs_redis}) as fleet:
            print(services.how_to_authenticate(), flush=True)
            print(f"Prometheus: {prometheus}  (alert rules: {prometheus}/alerts, targets: {prometheus}/targets)", flush=True)
            if redis_url:
                print(f"Redis (online features of {', '.join(needs_redis)}): {local_redis.masked(redis_url)}", flush=True)
            for model in chosen:
                if model not in untrained:
                    start_serving(fleet, model, ports[model])
            for model in untrained:
                if fleet.ended() is None and trained_by_default(model):
                    start_serving(fleet, model, ports[model])
            if not fleet.processes:
                raise RuntimeError("no model to serve: every training failed")
            code = fleet.wait()
    except (KeyboardInterrupt, services.Stopped):
        code = 0
    except (RuntimeError, FileNotFoundError) as error:
        raise fail(str(error)) from None
    raise typer.Exit(code)


def start_serving(fleet: services.Fleet, model: str, port: int) -> None:
    fleet.start(model, port, f"{model}:latest")
    print(services.how_to_call(model, port), flush=True)  # plain print: rich would wrap the commands


def trained_by_default(model: str) -> bool:
    """`playserve train MODEL` with its defaults; False (said why) when its gate refused the model."""
    err.print(f"no {model} model in the store: making one with `playserve train {model}`'s defaults")
    try:
        catalog.commands(model)["train"]()
    except typer.Exit as refused:
        if refused.exit_code:
            err.print(f"{model}: training ended with exit code {refused.exit_code}; not serving it")
            return False
    return True

"""Image benchmark: the spend serving image against a naive build of the same service that
installs the whole project (training stack, test and CI tools), built and started side by side.

    .venv/bin/python -m load.bench_images [--model spend:latest] [--runs 3]

Both images come from the same base, bento and model, so the difference is only what they
install. Measures size, build time with warm caches (base image and wheelhouse already there;
the one-off costs are printed separately) and cold start to a ready /readyz under podman,
alternating the two images on every run. Writes load/results/images.md and images.json.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from load.results_file import run_facts, write
from bentos.common import auth
from playserve import catalog, images, services
from playserve.api_keys import serving_keys
from playserve.image_warm_up import seconds_to_ready

MODEL = "spend"


def requirements(naive: bool) -> list[str]:
    return images.project_requirements() if naive else images.serving_requirements(images.REPO_ROOT / "bentos" / MODEL / "bentofile.yaml")


def timed_build(model_tag: str, naive: bool) -> tuple[images.BuiltImage, float]:
    start = time.perf_counter()
    built = images.build(MODEL, model_tag, catalog.spec(MODEL).version_env, catalog.spec(MODEL).service,
                         requirements=requirements(naive), repository=f"{MODEL}-naive" if naive else MODEL)
    return built, time.perf_counter() - start


def keys_for_the_container(directory: Path) -> Path:
    """The local API keys, readable by the image's user only (services never start without keys)."""
    copy = directory / "keys.json"
    shutil.copyfile(serving_keys()[0], copy)
    os.chown(copy, images.UID, images.UID)
    copy.chmod(0o600)
    return copy


def cold_start(image: str, keys: Path) -> float:
    """Seconds from `podman run` to the first 200 from /readyz, run as the manifests run it."""
    port = services.free_port()
    start = time.monotonic()
    container = images.run("podman", "run", "-d", "--pull=never", "--read-only", "--tmpfs", "/tmp",
                           "-v", f"{keys}:/etc/playserve/keys.json:ro", "-e", f"{auth.ENV}=/etc/playserve/keys.json",
                           "-p", f"127.0.0.1:{port}:3000", image).strip()
    try:
        seconds = seconds_to_ready(f"http://127.0.0.1:{port}/readyz", start, lambda: container_running(container), 60)
        if seconds is None:
            raise SystemExit(f"{image} did not become ready:\n{images.run('podman', 'logs', container)[-3000:]}")
        return seconds
    finally:
        images.run("podman", "rm", "-f", "-t", "0", container)


def container_running(container: str) -> bool:
    return images.run("podman", "inspect", "-f", "{{.State.Running}}", container).strip() == "true"


def installed_distributions(image: str) -> int:
    listing = images.run("podman", "run", "--rm", "--pull=never", image, "python3", "-c",
                         "import importlib.metadata as m; print(len(list(m.distributions())))")
    return int(listing.strip())


def summary(builds: list[float], starts: list[float], built: images.BuiltImage) -> dict:
    return {
        "image": built.name, "size_mb": built.size_mb, "packages": installed_distributions(built.name),
        "build_s": statistics.median(builds), "build_runs_s": builds,
        "cold_start_s": statistics.median(starts), "cold_start_runs_s": starts,
    }


def render(report: dict) -> str:
    serving, naive = report["serving"], report["naive"]
    rows = [(f"serving (`playserve build {MODEL}`)", serving), ("naive (whole project installed)", naive)]
    return "\n".join([
        "# Image benchmark",
        "",
        f"Measured {report['when']} on {report['machine']} with `{report['command']}`; model `{report['model']}`.",
        "Both images: the same debootstrap base, bento and model; only the installed Python packages differ.",
        f"Build times are medians of {report['runs']} runs with warm caches; cold start is `podman run` "
        "to the first 200 from `/readyz`, read-only root as in the manifests, the two images alternating.",
        "",
        "| image | size MB | Python distributions | build s (warm) | cold start to ready s |",
        "|---|---|---|---|---|",
        *(f"| {name} | {r['size_mb']:.0f} | {r['packages']} | {r['build_s']:.1f} | {r['cold_start_s']:.1f} |" for name, r in rows),
        "",
        f"Naive / serving: size **{naive['size_mb'] / serving['size_mb']:.2f}x**, "
        f"build time **{naive['build_s'] / serving['build_s']:.2f}x**, "
        f"cold start **{naive['cold_start_s'] / serving['cold_start_s']:.2f}x**. "
        f"Spend image target under 400 MB: **{'met' if serving['size_mb'] < 400 else 'NOT met'}**.",
        "",
        "One-off costs not in the build times: the base image (debootstrap; "
        + (f"{report['base_s']:.0f} s in this run" if report["base_s"] > 5 else "already built before this run")
        + ") and each wheelhouse download (cached by dependency set under ~/.playserve).",
        "",
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=f"{MODEL}:latest")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    start = time.perf_counter()
    images.ensure_base_image()
    base_s = time.perf_counter() - start
    for naive in (False, True):  # fill the wheelhouses so the timed builds compare like with like
        images.wheelhouse(requirements(naive))
    times = {False: ([], []), True: ([], [])}
    built = {}
    with tempfile.TemporaryDirectory(prefix="playserve-bench-keys-") as scratch:
        keys = keys_for_the_container(Path(scratch))
        for _ in range(args.runs):
            for naive in (False, True):
                built[naive], seconds = timed_build(args.model, naive)
                times[naive][0].append(seconds)
                times[naive][1].append(cold_start(built[naive].name, keys))
                print(f"{'naive' if naive else 'serving'}: {built[naive].size_mb:.0f} MB, build {seconds:.1f} s, "
                      f"cold start {times[naive][1][-1]:.1f} s", flush=True)
    report = {
        "model": built[False].model_tag, "runs": args.runs, "base_s": base_s,
        "serving": summary(*times[False], built[False]),
        "naive": summary(*times[True], built[True]),
        **run_facts("python -m load.bench_images" + (f" --runs {args.runs}" if args.runs != 3 else "")),
    }
    write("images", report, render)


if __name__ == "__main__":
    main()

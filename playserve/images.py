"""Service images built offline: a Debian base made once with debootstrap, the serving wheels
downloaded on the host into a wheelhouse, and the built bento plus its exact model version.
No registry pull, no network inside the build (see ../shared/docs/CONTAINERS.md)."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import yaml

from playserve.paths import HOME, REPO_ROOT

CONTAINERS_CONF = REPO_ROOT / "ci" / "containers" / "containers.conf"
BASE_PACKAGES = "python3,python3-venv,ca-certificates,libgomp1"  # libgomp1: LightGBM's OpenMP
# The Argo pipeline steps' image: what ci/setup.sh, `playserve build` / `push` and ci/open-bump.sh
# call (the Python environment itself is made in the pipeline's workspace by ci/setup.sh).
TOOLBOX_PACKAGES = ("python3,python3-venv,python3-pip,ca-certificates,libgomp1,git,buildah,podman,skopeo,runc,debootstrap,"
                    "netavark")  # netavark: debootstrap does not resolve podman's virtual container-network-stack
# Removed from the base as Debian's slim images do: nothing at run time reads them (~50 MB).
# Licences stay (usr/share/doc/*/copyright).
BASE_TRIM = ("usr/share/man", "usr/share/info", "usr/share/locale", "var/cache/apt/archives", "var/lib/apt/lists")
LOCAL_PREFIX = "localhost/playserve"  # built images: localhost/playserve/<model>:<tag>


def recipe_tag(packages: str) -> str:
    """bookworm-<hash of the recipe>: changing it builds a new image instead of reusing a stale one."""
    return f"bookworm-{hashlib.sha256(repr((packages, BASE_TRIM)).encode()).hexdigest()[:8]}"


BASE_IMAGE = f"localhost/playserve-base:{recipe_tag(BASE_PACKAGES)}"
TOOLBOX_TAG = recipe_tag(TOOLBOX_PACKAGES)
TOOLBOX_IMAGE = f"{LOCAL_PREFIX}/toolbox:{TOOLBOX_TAG}"
SOURCE_URL = "https://github.com/playserve/playserve"
UID = 10001  # the manifests' runAsUser
CACHE = HOME  # base images and wheelhouse live beside the registry and Prometheus state


class BuildError(RuntimeError):
    pass


def run(*command: str, **kwargs) -> str:
    env = {**os.environ, "CONTAINERS_CONF": str(CONTAINERS_CONF), **kwargs.pop("env", {})}
    result = subprocess.run(command, capture_output=True, text=True, env=env, **kwargs)
    if result.returncode != 0:
        raise BuildError(f"{' '.join(command[:3])} ... failed ({result.returncode}): {(result.stderr or result.stdout).strip()[-2000:]}")
    return result.stdout


def image_exists(name: str) -> bool:
    try:
        run("podman", "image", "exists", name)
    except BuildError:
        return False
    return True


def debian_mirror() -> str:
    """The Debian mirror apt already uses here."""
    for path in [Path("/etc/apt/sources.list"), *Path("/etc/apt/sources.list.d").glob("*")]:
        if path.is_file():
            match = re.search(r"(?m)^(?:URIs:|deb)\s+(\S*debian)\s*$", path.read_text())
            if match:
                return match.group(1)
    return "http://deb.debian.org/debian"


def debootstrap_image(name: str, packages: str, progress=lambda _: None, extra_files: dict[str, Path] | None = None) -> str:
    """Debian bookworm minbase with `packages`, imported into podman once and reused."""
    if image_exists(name):
        return name
    with tempfile.TemporaryDirectory(prefix="playserve-rootfs-") as tmp:
        rootfs = Path(tmp) / "rootfs"
        progress(f"debootstrap of Debian bookworm for {name} (once, ~1 min)")
        run("debootstrap", "--variant=minbase", f"--include={packages}", "bookworm", str(rootfs), debian_mirror())
        for junk in BASE_TRIM:
            shutil.rmtree(rootfs / junk, ignore_errors=True)
        for doc in (rootfs / "usr/share/doc").rglob("*"):
            if doc.is_file() and doc.name != "copyright":
                doc.unlink()
        for target, source in (extra_files or {}).items():
            shutil.copy2(source, rootfs / target)
        progress(f"importing {name}")
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
        run("podman", "import", "--change", 'CMD ["/usr/bin/python3"]', "-", name, stdin=tar.stdout)
        tar.wait()
    return name


def ensure_base_image(progress=lambda _: None) -> str:
    """The serving images' base: Python 3.11 and LightGBM's runtime, nothing else."""
    return debootstrap_image(BASE_IMAGE, BASE_PACKAGES, progress)


def build_toolbox(progress=lambda _: None) -> str:
    """The pipeline steps' image, with the pinned uv that ci/setup.sh installed here copied in
    (the build has no network, and bookworm has no uv package)."""
    uv = run("python3", "-c", "import uv; print(uv.find_uv_bin())").strip()
    return debootstrap_image(TOOLBOX_IMAGE, TOOLBOX_PACKAGES, progress, {"usr/local/bin/uv": Path(uv)})


def serving_requirements(bentofile: Path) -> list[str]:
    return list(yaml.safe_load(bentofile.read_text())["python"]["packages"])


def project_requirements() -> list[str]:
    """Everything the project installs (training stack, tests, CLI): what a naive image would hold."""
    import tomllib

    return tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["dependencies"]


def wheelhouse(requirements: list[str], progress=lambda _: None) -> Path:
    """Serving wheels for CPython 3.11 on Linux, at the versions uv.lock pins; cached by content."""
    constraints = run("uv", "export", "--frozen", "--no-hashes", "--no-emit-project", "-q", cwd=REPO_ROOT)
    key = hashlib.sha256(("\n".join(requirements) + constraints).encode()).hexdigest()[:16]
    target = CACHE / "wheelhouse" / key
    if (target / "requirements.txt").is_file():
        return target
    progress("downloading serving wheels (once per dependency set)")
    partial = target.with_suffix(".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    (partial / "constraints.txt").write_text(constraints)
    (partial / "requirements.txt").write_text("\n".join(requirements) + "\n")
    # the system Python's pip (ci/setup.sh installs uv with it): uv's venv has no pip, and uv cannot download
    run("python3", "-m", "pip", "download", "-q", "-d", str(partial),
        "-r", str(partial / "requirements.txt"), "-c", str(partial / "constraints.txt"),
        "--only-binary=:all:", "--python-version", "3.11", "--implementation", "cp",
        *[arg for p in ("manylinux2014_x86_64", "manylinux_2_17_x86_64", "manylinux_2_28_x86_64", "linux_x86_64") for arg in ("--platform", p)])
    partial.rename(target)
    return target


# The Python environment is one cached layer keyed by the wheelhouse (its label): later builds with
# the same serving requirements reuse it, here and on a CI runner that keeps its image store. The
# wheels are bind-mounted, never copied, so they add nothing to the image.
CONTAINERFILE = """\
FROM {base}
LABEL ai.playserve.wheelhouse={wheelhouse}
RUN --mount=type=bind,source=wheels,target=/wheels python3 -m venv /opt/venv \\
 && /opt/venv/bin/pip install --no-cache-dir --no-index --find-links /wheels -r /wheels/requirements.txt \\
 && /opt/venv/bin/pip uninstall -q -y pip setuptools \\
 && find /opt/venv \\( -name '__pycache__' -o -name tests \\) -type d -prune -exec rm -rf {{}} + \\
 && useradd --uid {uid} --home-dir /home/bentoml --create-home bentoml \\
 && mkdir -p /home/bentoml/bentoml/bentos /home/bentoml/bentoml/envs /home/bentoml/bentoml/tmp
COPY --chown={uid}:{uid} models /home/bentoml/bentoml/models
COPY bento /home/bentoml/bento
ENV PATH=/opt/venv/bin:$PATH BENTOML_HOME=/home/bentoml/bentoml {model_env}={model_tag} \\
    BENTOML_DO_NOT_TRACK=true PYTHONDONTWRITEBYTECODE=1
WORKDIR /home/bentoml/bento/src
# the warm-up's server binds localhost, which a build without network does not resolve: its own hosts file
RUN --mount=type=bind,source=image_warm_up.py,target=/image_warm_up.py --mount=type=tmpfs,target=/tmp \\
    --mount=type=bind,source=hosts,target=/etc/hosts python3 /image_warm_up.py {service}
USER {uid}
EXPOSE 3000
CMD ["bentoml", "serve", "{service}", "--host", "0.0.0.0", "--port", "3000"]
"""


@dataclass(frozen=True)
class BuiltImage:
    name: str  # localhost/playserve/<model>:<tag>
    tag: str
    model_tag: str
    bento_tag: str
    size_mb: float


def image_tag(model_version: str, git_short_sha: str) -> str:
    return f"{model_version}-{git_short_sha}"


def bento_build(bentofile: Path, model_env: str, model_tag: str) -> tuple[str, Path]:
    """`bentoml build` with the service pinned to one exact model version; the bento's tag and path."""
    out = run(sys.executable, "-m", "bentoml", "build", "-f", str(bentofile), str(REPO_ROOT), "--output", "tag",
              env={model_env: model_tag}, cwd=REPO_ROOT)
    bento_tag = out.strip().splitlines()[-1].removeprefix("__tag__:")
    import bentoml

    return bento_tag, Path(bentoml.bentos.get(bento_tag).path)


def build(model: str, model_tag: str, model_env: str, service: str, progress=lambda _: None,
          requirements: list[str] | None = None, repository: str | None = None) -> BuiltImage:
    """The service image for one exact model version, tagged <model version>-<git short sha>.
    By default it installs the bento's serving requirements into localhost/playserve/<model>;
    the image benchmark passes the whole project's requirements and another repository."""
    from training.common.store import get, git_sha

    stored = get(model_tag)
    bentofile = REPO_ROOT / "bentos" / model / "bentofile.yaml"
    base = ensure_base_image(progress)
    wheels = wheelhouse(requirements or serving_requirements(bentofile), progress)
    progress(f"bentoml build pinned to {stored.tag}")
    bento_tag, bento_path = bento_build(bentofile, model_env, stored.tag)
    revision = git_sha()  # "<sha>", or "<sha>-dirty" when built from uncommitted changes
    tag = image_tag(stored.version, revision[:7])
    name = f"{LOCAL_PREFIX}/{repository or model}:{tag}"
    with tempfile.TemporaryDirectory(prefix="playserve-image-") as tmp:
        context = Path(tmp)
        shutil.copytree(wheels, context / "wheels", copy_function=os.link)
        shutil.copytree(bento_path, context / "bento")
        shutil.copytree(stored.path, context / "models" / model / stored.version)
        (context / "models" / model / "latest").write_text(stored.version)
        shutil.copyfile(Path(__file__).with_name("image_warm_up.py"), context / "image_warm_up.py")
        (context / "hosts").write_text("127.0.0.1 localhost\n")
        (context / "Containerfile").write_text(
            CONTAINERFILE.format(base=base, wheelhouse=wheels.name, uid=UID, model_env=model_env, model_tag=stored.tag, service=service)
        )
        labels = {
            "org.opencontainers.image.source": SOURCE_URL,
            "org.opencontainers.image.revision": revision,
            "org.opencontainers.image.created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "org.opencontainers.image.title": f"playserve-{model}",
            "org.opencontainers.image.version": tag,
            "ai.playserve.model": stored.tag,
            "ai.playserve.bento": bento_tag,
            "ai.playserve.data-hash": stored.labels.get("data_hash", ""),
        }
        progress(f"building {name} (no network)")
        run("buildah", "build", "--network", "none", "--pull=never", "--layers=true", "-q",
            *[arg for k, v in labels.items() for arg in ("--label", f"{k}={v}")],
            "-t", name, "-f", str(context / "Containerfile"), str(context))
    size = int(run("podman", "image", "inspect", "--format", "{{.Size}}", name).strip())
    return BuiltImage(name=name, tag=tag, model_tag=stored.tag, bento_tag=bento_tag, size_mb=size / 1e6)
